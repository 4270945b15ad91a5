"""What a production server adds around the services: TLS, keys, metrics, load shedding, logs, traces.

`ServingOptions` is what `serve` was asked for; `Additions` is what
build_server puts in place for it: the interceptors, in order (outermost
first: tracing, request ids for logs, metrics, auth, load shedding), the
credentials to bind with, and the metrics registry `serve` exposes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import grpc
import grpc.aio
from prometheus_client import CollectorRegistry

from dompromise import limits
from dompromise.replica.protocol import Replica
from dompromise.replica.watch import WatchHub
from dompromise.service.auth import AuthInterceptor, KeyRing
from dompromise.service.handlers import Handler
from dompromise.service.logs import RequestIdInterceptor
from dompromise.service.metrics import BusinessCounters, MetricsInterceptor, ReplicaCollector, RpcMetrics
from dompromise.service.overload import OverloadInterceptor
from dompromise.service.tls import TlsFiles, server_credentials


@dataclass
class ServingOptions:
    """`serve`'s production options; the defaults are the embedded demo's (plain, open, no metrics)."""

    tls: TlsFiles | None = None
    keys: KeyRing | None = None
    # Server reflection (grpcurl, Postman): off with `serve --no-reflection`.
    reflection: bool = True
    # Prometheus /metrics on this port (0: any free one), None: no metrics page.
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"
    inflight_max: int = limits.INFLIGHT_RPCS_MAX
    # Request ids for structured logs (`--log-format json`).
    request_ids: bool = False
    # OpenTelemetry server spans (the `otel` extra; service/tracing.py configures the provider).
    tracing: bool = False
    # `serve --workers`: how often the supervisor restarted this worker's slot (a metric).
    worker_restarts: int = 0
    # `serve --workers`: this worker's index, said in every answer's metadata (x-dompromise-worker).
    worker_index: int | None = None


class Decider(Protocol):
    def decide(self, handler_call_details: grpc.HandlerCallDetails, handler: Handler) -> Handler: ...


class ChainedInterceptor(grpc.aio.ServerInterceptor):
    """Several interceptors' decisions in one interceptor: one await of the chain instead of one each
    (each costs a coroutine per call; measured in benchmarks/production_overhead.py). The first is
    outermost, as in grpc.aio's own list."""

    def __init__(self, deciders: Sequence[Decider]) -> None:
        self._inner_first = tuple(reversed(deciders))

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        for decider in self._inner_first:
            handler = decider.decide(handler_call_details, handler)
        return handler


@dataclass
class Additions:
    interceptors: list[grpc.aio.ServerInterceptor]
    registry: CollectorRegistry | None
    overload: OverloadInterceptor
    business: BusinessCounters | None = None
    extra: dict[str, object] = field(default_factory=dict)


def additions(options: ServingOptions, replica: Replica, watches: WatchHub) -> Additions:
    """The interceptors (outermost first) and metrics registry for `options`."""
    interceptors: list[grpc.aio.ServerInterceptor] = []
    if options.tracing:
        from dompromise.service.tracing import server_interceptor

        interceptors.append(server_interceptor())
    if options.request_ids:
        interceptors.append(RequestIdInterceptor())
    registry = business = None
    deciders: list[Decider] = []
    if options.metrics_port is not None:
        registry = CollectorRegistry(auto_describe=True)
        business = BusinessCounters(registry)
        registry.register(ReplicaCollector(replica, watches, options.worker_restarts))
        replica.add_apply_listener(business.on_applied)
        deciders.append(MetricsInterceptor(RpcMetrics(registry), business))
    if options.keys is not None:
        deciders.append(AuthInterceptor(options.keys))
    shed = business.shed if business is not None else None
    overload = OverloadInterceptor(
        options.inflight_max, on_shed=(lambda method: shed.labels(method).inc()) if shed is not None else None
    )
    deciders.append(overload)
    interceptors.append(ChainedInterceptor(deciders))
    return Additions(interceptors, registry, overload, business)


def bind(server: grpc.aio.Server, address: str, tls: TlsFiles | None) -> int:
    """Binds `address` plain or with TLS; the port (0 if the bind failed)."""
    if tls is None:
        return server.add_insecure_port(address)
    return server.add_secure_port(address, server_credentials(tls))
