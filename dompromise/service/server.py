"""Builds and runs the grpc.aio server: our services, health, reflection, limits."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import NamedTuple

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from dompromise import limits
from dompromise.promise.token import TokenSigner
from dompromise.replica.protocol import Replica
from dompromise.replica.watch import WatchHub
from dompromise.service import availability as availability_service
from dompromise.service import inventory as inventory_service
from dompromise.service import promise as promise_service
from dompromise.service import reservation as reservation_service
from dompromise.service.availability import AvailabilityServicer
from dompromise.service.catalog import NetworkParser
from dompromise.service.consistency import ConsistencyInterceptor
from dompromise.service.decoding import DecodeInterceptor
from dompromise.service.inventory import InventoryServicer
from dompromise.service.metrics import serve_metrics
from dompromise.service.network import NetworkServicer
from dompromise.service.promise import Promiser, PromiseServicer
from dompromise.service.reservation import ReservationServicer
from dompromise.service.search_feed import search_of
from dompromise.service.serving import Additions, ServingOptions, additions, bind
from dompromise.v1 import (
    availability_pb2,
    inventory_pb2,
    network_pb2,
    network_pb2_grpc,
    promise_pb2,
    reservation_pb2,
)

log = logging.getLogger(__name__)

SERVICE_NAMES = (
    availability_pb2.DESCRIPTOR.services_by_name["AvailabilityService"].full_name,
    inventory_pb2.DESCRIPTOR.services_by_name["InventoryService"].full_name,
    network_pb2.DESCRIPTOR.services_by_name["NetworkService"].full_name,
    promise_pb2.DESCRIPTOR.services_by_name["PromiseService"].full_name,
    reservation_pb2.DESCRIPTOR.services_by_name["ReservationService"].full_name,
)
# How long in-flight RPCs get to finish on shutdown, in seconds.
SHUTDOWN_GRACE_SECONDS = 5.0
# Keepalive (docs/operations.md): a ping every 60 s on an idle connection finds dead peers behind NATs and
# load balancers; clients may ping every 10 s at most (faster pings are answered GOAWAY too_many_pings).
KEEPALIVE_OPTIONS = [
    ("grpc.keepalive_time_ms", 60_000),
    ("grpc.keepalive_timeout_ms", 20_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
    ("grpc.http2.max_pings_without_data", 0),
]


class BuiltServer(NamedTuple):
    server: grpc.aio.Server
    port: int
    health: health.aio.HealthServicer
    # Every open WatchAvailability stream; closing it ends them (on shutdown).
    watches: WatchHub
    # The servicer objects by service full name: the HTTP/JSON routes call these same ones (dompromise/http/).
    servicers: Mapping[str, object]
    # Serves x-dompromise-min-position: the HTTP/JSON routes wait through it as the gRPC calls do.
    consistency: ConsistencyInterceptor | None = None


# Started beside the gRPC server in its event loop (the HTTP/JSON app): returns what stops it.
AlsoServe = Callable[[BuiltServer, Replica], Awaitable[Callable[[], Awaitable[None]]]]


def create_server(
    replica: Replica,
    address: str = "127.0.0.1:0",
    token_key: bytes | None = None,
    clock_kind: str = "wall",
    options: ServingOptions | None = None,
) -> tuple[grpc.aio.Server, int, health.aio.HealthServicer]:
    """A server for the replica bound to `address` (port 0 picks a free one), not started.

    Returns the server, the bound port and the health servicer, which says
    NOT_SERVING until `start_serving` flips it.
    """
    built = build_server(replica, address, token_key, clock_kind=clock_kind, options=options)
    return built.server, built.port, built.health


def build_server(
    replica: Replica,
    address: str = "127.0.0.1:0",
    token_key: bytes | None = None,
    reuse_port: bool = False,
    clock_kind: str = "wall",
    parse_network: NetworkParser | None = None,
    options: ServingOptions | None = None,
) -> BuiltServer:
    """build_server_with_additions's server, without what the serving options added."""
    return build_server_with_additions(replica, address, token_key, reuse_port, clock_kind, parse_network, options)[0]


def build_server_with_additions(
    replica: Replica,
    address: str = "127.0.0.1:0",
    token_key: bytes | None = None,
    reuse_port: bool = False,
    clock_kind: str = "wall",
    parse_network: NetworkParser | None = None,
    options: ServingOptions | None = None,
) -> tuple[BuiltServer, Additions]:
    """create_server's server, port and health servicer, and the watch hub `serve` closes on shutdown.

    `token_key` signs promise tokens (None: a random key, valid in this process only).
    `reuse_port` shares the port with other processes (SO_REUSEPORT: `serve
    --workers`); off, a port in use is refused (gRPC core would share it by default).
    `clock_kind` "simulated" (the replica follows a SimulatedClock, replica/clock.py) puts
    `x-dompromise-clock: simulated` in every answer's metadata and every health check's.
    `parse_network` reads ApplyNetworkConfig's text (cli.py passes the config parser: service may not import it).
    `options`: TLS, keys, metrics, load shedding (service/serving.py; default: plain and open).
    """
    options = options or ServingOptions()
    channel_options = [
        ("grpc.max_receive_message_length", limits.MESSAGE_BYTES_MAX),
        ("grpc.max_send_message_length", limits.MESSAGE_BYTES_MAX),
        ("grpc.so_reuseport", 1 if reuse_port else 0),
    ]
    watches = WatchHub(replica)
    added = additions(options, replica, watches)
    # Decoding first, so it wraps every handler the others return: undecodable requests answer INVALID_ARGUMENT.
    # Then keys, metrics and shedding (service/serving.py); then positions in every answer's metadata and
    # x-dompromise-min-position (service/consistency.py, shared with the HTTP routes).
    consistency = ConsistencyInterceptor(replica, clock_kind=clock_kind, worker=options.worker_index)
    interceptors: list[grpc.aio.ServerInterceptor] = [DecodeInterceptor(), *added.interceptors, consistency]
    server = grpc.aio.server(
        options=channel_options + KEEPALIVE_OPTIONS,
        maximum_concurrent_rpcs=limits.CONCURRENT_RPCS_MAX,
        interceptors=interceptors,
    )
    engine = replica.engine
    promiser = Promiser(engine, TokenSigner(token_key), replica.now_ns)
    availability = AvailabilityServicer(engine, watches)
    inventory = InventoryServicer(replica)
    # The catalog search follows the log's catalog changes on this replica (service/search_feed.py).
    network = NetworkServicer(engine, replica, parse_network, search_of(replica))
    promise = PromiseServicer(promiser)
    reservation = ReservationServicer(replica, promiser)
    availability_service.add_to_server(availability, server)  # Watch: pre-encoded
    inventory_service.add_to_server(inventory, server)  # UpdateStock: bytes written by wire/outcomes.pyx
    network_pb2_grpc.add_NetworkServiceServicer_to_server(network, server)
    promise_service.add_to_server(promise, server)  # PromiseDelivery: written as wire bytes
    reservation_service.add_to_server(reservation, server)  # ReserveInventory: bytes written by wire/outcomes.pyx
    servicers = dict(zip(SERVICE_NAMES, (availability, inventory, network, promise, reservation)))
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    if options.reflection:
        reflection.enable_server_reflection(SERVICE_NAMES + (health.SERVICE_NAME, reflection.SERVICE_NAME), server)
    try:
        port = bind(server, address, options.tls)
    except RuntimeError as error:  # grpc raises RuntimeError when the bind fails
        raise OSError(f"could not bind {address}: {error}") from None
    if port == 0:
        raise OSError(f"could not bind {address}")
    return BuiltServer(server, port, health_servicer, watches, servicers, consistency), added


async def set_serving(health_servicer: health.aio.HealthServicer, serving: bool) -> None:
    status = health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
    for name in ("",) + SERVICE_NAMES:
        await health_servicer.set(name, status)


# The services whose RPCs write: NOT_SERVING while the shared log refuses writes (reads go on).
WRITE_SERVICE_NAMES = (
    inventory_pb2.DESCRIPTOR.services_by_name["InventoryService"].full_name,
    reservation_pb2.DESCRIPTOR.services_by_name["ReservationService"].full_name,
)


async def set_writable(health_servicer: health.aio.HealthServicer, writable: bool) -> None:
    status = health_pb2.HealthCheckResponse.SERVING if writable else health_pb2.HealthCheckResponse.NOT_SERVING
    for name in WRITE_SERVICE_NAMES:
        await health_servicer.set(name, status)


async def serve(
    replica: Replica,
    address: str,
    ready: Callable[[int], None] | None = None,
    token_key: bytes | None = None,
    reuse_port: bool = False,
    clock_kind: str = "wall",
    also_serve: AlsoServe | None = None,
    parse_network: NetworkParser | None = None,
    reload: Callable[[], Awaitable[None]] | None = None,
    options: ServingOptions | None = None,
    reload_callbacks: Sequence[Callable[[], object]] = (),
) -> None:
    """Runs until SIGTERM or SIGINT, then drains: NOT_SERVING, grace, stop.

    `ready(port)` is called once the server listens and reports SERVING (and
    `also_serve`, the HTTP/JSON app, listens too).
    SIGHUP runs `reload` (serve --config: the network file applied again), one at a time, and every one of
    `reload_callbacks` (the keys file's reload among them).
    """
    options = options or ServingOptions()
    built, added = build_server_with_additions(
        replica, address, token_key, reuse_port, clock_kind, parse_network, options
    )
    server, port, health_servicer, watches = built.server, built.port, built.health, built.watches
    # Signals first: a supervisor may send SIGTERM the moment we say we are ready.
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    reloads = list(reload_callbacks) + ([options.keys.reload] if options.keys is not None else [])
    if reload is not None:
        reloading = asyncio.Lock()

        async def reload_once() -> None:
            async with reloading:  # two SIGHUPs in a row apply one after the other
                await reload()

        running: set[asyncio.Task[None]] = set()  # the loop keeps only weak references to tasks

        def start_reload() -> None:
            task = loop.create_task(reload_once())
            running.add(task)
            task.add_done_callback(running.discard)

        reloads.append(start_reload)
    loop.add_signal_handler(signal.SIGHUP, run_reloads, reloads)
    metrics_server = None
    if added.registry is not None and options.metrics_port is not None:
        metrics_server = await serve_metrics(added.registry, options.metrics_host, options.metrics_port)
        metrics_port = metrics_server.sockets[0].getsockname()[1]
        log.info("metrics on http://%s:%d/metrics", options.metrics_host, metrics_port)
    await replica.start()
    await server.start()
    stop_also = None if also_serve is None else await also_serve(built, replica)
    await set_serving(health_servicer, True)

    def on_writability(writable: bool) -> None:
        # A shared (Redis) log can refuse writes for a while: the write services say so meanwhile.
        loop.create_task(set_writable(health_servicer, writable))

    replica.add_writability_listener(on_writability)
    log.info("serving on port %d", port)
    if ready is not None:
        ready(port)
    await stopping.wait()
    log.info("shutting down: NOT_SERVING, draining for up to %.1fs", SHUTDOWN_GRACE_SECONDS)
    await health_servicer.enter_graceful_shutdown()
    # Watch streams never end by themselves: end them (UNAVAILABLE, resume
    # elsewhere) so the grace period drains unary RPCs, not waits for watchers.
    watches.close()
    if stop_also is not None:
        await stop_also()
    await server.stop(SHUTDOWN_GRACE_SECONDS)
    if metrics_server is not None:
        metrics_server.close()
    await replica.stop()
    if replica.snapshot_on_stop():  # a snapshot on the way out makes the next start a load, not a replay
        log.info("snapshot at log position %d written", replica.log_position)
    replica.close()
    log.info("stopped")


def run_reloads(callbacks: Sequence[Callable[[], object]]) -> None:
    """SIGHUP: every reload callback runs, one's failure does not stop the others."""
    log.info("SIGHUP: reloading (%d callbacks)", len(callbacks))
    for callback in callbacks:
        try:
            callback()
        except Exception:
            log.exception("reload callback %r failed", callback)
