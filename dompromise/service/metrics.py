"""`serve --metrics-port P`: Prometheus text at http://HOST:P/metrics (prometheus-client).

RPC series, named as py-grpc-prometheus and go-grpc-prometheus name them
(labels grpc_type, grpc_service, grpc_method, and grpc_code on handled):

    grpc_server_started_total            RPCs started
    grpc_server_handled_total            RPCs finished, by status code
    grpc_server_handling_seconds         histogram of their duration

What operators of this service watch (dompromise_*): the log position and how
stale the replica is (apply lag), records since the last snapshot and its age,
hold commands applied (reserve, commit, release, ship, tick: from the log, so
every replica counts alike), holds placed and reservations by state (held,
committed, released, expired, shipped: read at scrape time), lines refused as short
(oversell prevented), promise fill and split rates, watch subscribers, log
writability (Redis up), worker restarts, and load shed.

The page is served on the server's own event loop (no thread): a scrape
reads the replica between two RPCs, never while one changes it. With
`--workers N`, worker I serves its metrics on P + I (each a replica with its
own series); scrape each port (docs/operations.md).
"""

from __future__ import annotations

import asyncio
import bisect
import itertools
import logging
import time
from collections.abc import Iterator, Sequence

import grpc
import grpc.aio
from google.protobuf.message import Message
from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector

from dompromise.internal.v1 import log_pb2
from dompromise.replica.protocol import Replica
from dompromise.replica.watch import WatchHub
from dompromise.service.handlers import Context, Handler
from dompromise.v1 import common_pb2, promise_pb2, reservation_pb2

log = logging.getLogger(__name__)

# Latency buckets in seconds: a counter lookup is sub-millisecond, a 5,000-line promise can take a second.
HANDLING_BUCKETS_SECONDS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# The HTTP request line and headers of a scrape, in bytes: longer is not a scraper.
REQUEST_BYTES_MAX = 8192
# A scrape connection that sends no request in this long is closed, in seconds.
SCRAPE_READ_SECONDS = 5.0

_V1 = "/dompromise.v1."
_RESERVE = _V1 + "ReservationService/ReserveInventory"
_PROMISE = _V1 + "PromiseService/PromiseDelivery"
# Reserve line outcomes that mean "not enough stock": the oversell the service prevented.
_SHORT = frozenset((common_pb2.ITEM_STATUS_INSUFFICIENT_STOCK, common_pb2.ITEM_STATUS_PARTIALLY_FILLED))
# Log commands counted as hold events: command name -> the event label.
_HOLD_COMMANDS = ("reserve", "commit", "release", "extend", "ship", "cancel_lines", "allocate_wave", "tick")


def grpc_type_of(handler: Handler) -> str:
    """The grpc_type label of a method (py-grpc-prometheus's values)."""
    if handler.unary_unary is not None:
        return "unary"
    if handler.unary_stream is not None:
        return "server_stream"
    if handler.stream_unary is not None:
        return "client_stream"
    return "bidi_stream"


class MethodStats:
    """One RPC method's counts, kept as plain numbers: a call costs a few additions, no lock (every call
    runs on the one event loop); RpcMetrics turns them into series at scrape time."""

    __slots__ = ("labels", "started", "handled", "bucket_counts", "sum_seconds")

    def __init__(self, labels: tuple[str, str, str]) -> None:
        self.labels = labels
        self.started = 0
        self.handled: dict[str, int] = {}  # grpc_code name -> count
        self.bucket_counts = [0] * (len(HANDLING_BUCKETS_SECONDS) + 1)  # the last: above every bound
        self.sum_seconds = 0.0

    def ended(self, seconds: float, error: BaseException | None, context: Context) -> None:
        """One call's end, `seconds` after it started (`error`: what it raised, None if nothing): its handling
        time and its status, in one call from the pipeline."""
        self.bucket_counts[bisect.bisect_left(HANDLING_BUCKETS_SECONDS, seconds)] += 1
        self.sum_seconds += seconds
        # Most calls end OK: no status object to name then (an enum's name costs more than the rest here).
        code = "OK" if error is None and context.code() is None else code_of(context, error).name
        handled = self.handled
        handled[code] = handled.get(code, 0) + 1


class RpcMetrics(Collector):
    """The grpc_server_* series (py-grpc-prometheus's names and labels), collected from MethodStats."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._methods: dict[str, MethodStats] = {}
        registry.register(self)

    def method(self, method: str, labels: tuple[str, str, str]) -> MethodStats:
        stats = self._methods.get(method)
        if stats is None:
            stats = self._methods[method] = MethodStats(labels)
        return stats

    def collect(self) -> Iterator[Metric]:
        names = ["grpc_type", "grpc_service", "grpc_method"]
        started = CounterMetricFamily("grpc_server_started", "RPCs started on the server.", labels=names)
        handled = CounterMetricFamily(
            "grpc_server_handled", "RPCs completed on the server, whatever their status.", labels=names + ["grpc_code"]
        )
        handling = HistogramMetricFamily(
            "grpc_server_handling_seconds", "Time from an RPC's start to its answer, in seconds.", labels=names
        )
        bounds = [repr(bound) for bound in HANDLING_BUCKETS_SECONDS] + ["+Inf"]
        for stats in list(self._methods.values()):
            labels = list(stats.labels)
            started.add_metric(labels, stats.started)
            for code, count in stats.handled.items():
                handled.add_metric(labels + [code], count)
            cumulative = list(itertools.accumulate(stats.bucket_counts))
            handling.add_metric(labels, list(zip(bounds, cumulative)), stats.sum_seconds)
        yield started
        yield handled
        yield handling


class BusinessCounters:
    """What answers and the applied log say about the business, in `registry`."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.hold_commands = Counter(
            "dompromise_hold_commands",
            "Hold commands applied from the log (every replica counts alike), refused ones included; "
            "tick advances the clock that expires holds.",
            ("command",),
            registry=registry,
        )
        self.holds_placed = Counter(
            "dompromise_holds_placed", "ReserveInventory answers that placed a hold.", registry=registry
        )
        self.lines_short = Counter(
            "dompromise_reserve_lines_short",
            "Reserve lines refused (or cut) for lack of stock: oversell prevented.",
            registry=registry,
        )
        self.reserve_lines = Counter("dompromise_reserve_lines", "Reserve lines answered.", registry=registry)
        self.promises = Counter("dompromise_promises", "PromiseDelivery answers.", registry=registry)
        self.promises_filled = Counter(
            "dompromise_promises_filled", "PromiseDelivery answers whose best option fills 100%.", registry=registry
        )
        self.promises_split = Counter(
            "dompromise_promises_split",
            "PromiseDelivery answers whose best option ships in 2+ parts.",
            registry=registry,
        )
        self.shed = Counter(
            "dompromise_rpcs_shed",
            "RPCs refused at once (RESOURCE_EXHAUSTED) under overload.",
            ("grpc_method",),
            registry=registry,
        )
        self._hold_children = {name: self.hold_commands.labels(name) for name in _HOLD_COMMANDS}

    def on_applied(self, log_position: int, records: Sequence[log_pb2.LogRecord]) -> None:
        """The replica's apply listener: counts hold commands."""
        children = self._hold_children
        for record in records:
            child = children.get(record.WhichOneof("command") or "")
            if child is not None:
                child.inc()

    @staticmethod
    def observes(method: str) -> bool:
        """Whether on_answer counts something of `method`'s answers."""
        return method in (_RESERVE, _PROMISE)

    def on_answer(self, method: str, response: Message) -> None:
        if method == _RESERVE and isinstance(response, reservation_pb2.ReserveInventoryResponse):
            self._reserved(response)
        elif method == _PROMISE and isinstance(response, promise_pb2.PromiseDeliveryResponse):
            self._promised(response)
        elif method == _PROMISE and isinstance(response, bytes):  # written as wire bytes (PromiseDeliveryBytes)
            self._promised(promise_pb2.PromiseDeliveryResponse.FromString(response))

    def _reserved(self, response: reservation_pb2.ReserveInventoryResponse) -> None:
        short = sum(1 for line in response.line_results if line.status in _SHORT)
        self.reserve_lines.inc(len(response.line_results))
        if response.HasField("reservation"):
            self.holds_placed.inc()
        if short:
            self.lines_short.inc(short)

    def _promised(self, response: promise_pb2.PromiseDeliveryResponse) -> None:
        self.promises.inc()
        if not response.options:
            return
        best = response.options[0]
        if best.fill_percent >= 100.0:
            self.promises_filled.inc()
        if len(best.shipments) > 1:
            self.promises_split.inc()


class ReplicaCollector(Collector):
    """Gauges read from the replica at scrape time (on the event loop, between RPCs)."""

    def __init__(self, replica: Replica, watches: WatchHub, worker_restarts: int = 0) -> None:
        self._replica = replica
        self._watches = watches
        self._worker_restarts = worker_restarts
        self._snapshot_seen: tuple[int, float] = (-1, time.monotonic())  # (position, when first seen)

    def _snapshot_age_seconds(self, position: int) -> float:
        seen, since = self._snapshot_seen
        if position != seen:
            self._snapshot_seen = (position, time.monotonic())
            return 0.0
        return time.monotonic() - since

    def collect(self) -> Iterator[Metric]:
        replica = self._replica
        position = replica.log_position
        yield GaugeMetricFamily("dompromise_log_position", "Log position this replica has applied.", value=position)
        stale_ms = replica.staleness_ms()
        yield GaugeMetricFamily(
            "dompromise_apply_lag_seconds",
            "How long ago this replica last heard from its log (0: following).",
            value=(stale_ms or 0) / 1000,
        )
        snapshot = getattr(replica, "snapshot_position", None)
        if isinstance(snapshot, int):
            yield GaugeMetricFamily(
                "dompromise_snapshot_records_behind", "Log records since the last snapshot.", value=position - snapshot
            )
            yield GaugeMetricFamily(
                "dompromise_snapshot_age_seconds",
                "Seconds since this process saw the last snapshot (written, loaded or started).",
                value=self._snapshot_age_seconds(snapshot),
            )
        yield GaugeMetricFamily(
            "dompromise_log_writable", "1 while the log accepts writes (Redis up), else 0.", value=int(replica.writable)
        )
        yield GaugeMetricFamily(
            "dompromise_watch_subscribers", "Open WatchAvailability streams.", value=self._watches.watcher_count
        )
        holds = GaugeMetricFamily(
            "dompromise_holds",
            "Reservations on this replica by state (held, committed, released, expired, shipped).",
            labels=["state"],
        )
        for state, count in replica.engine.hold_counts().items():
            holds.add_metric([state], count)
        yield holds
        yield CounterMetricFamily(
            "dompromise_worker_restarts",
            "Times the supervisor restarted this worker slot (serve --workers).",
            value=self._worker_restarts,
        )


def code_of(context: Context, error: BaseException | None) -> grpc.StatusCode:
    """The status a call ended with: what grpc.aio recorded, else what `error` (None: none) means."""
    code = context.code()
    if isinstance(code, grpc.StatusCode):
        return code
    if isinstance(code, int):  # grpc.aio may hold the raw number
        for status in grpc.StatusCode:
            if status.value[0] == code:
                return status
    if error is None:
        return grpc.StatusCode.OK
    if isinstance(error, asyncio.CancelledError):
        return grpc.StatusCode.CANCELLED
    return grpc.StatusCode.UNKNOWN


async def serve_metrics(registry: CollectorRegistry, host: str, port: int) -> asyncio.Server:
    """An HTTP server on the running loop answering GET /metrics with `registry`'s text; port 0: any free."""

    async def scrape(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), SCRAPE_READ_SECONDS)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ConnectionError):
            writer.close()
            return
        request_line = head.split(b"\r\n", 1)[0].split()
        path = request_line[1].split(b"?", 1)[0] if len(request_line) >= 2 else b""
        if request_line[:1] == [b"GET"] and path in (b"/metrics", b"/"):
            body, status, kind = generate_latest(registry), b"200 OK", CONTENT_TYPE_LATEST.encode()
        else:
            body, status, kind = b"not found: GET /metrics\n", b"404 Not Found", b"text/plain"
        writer.write(
            b"HTTP/1.1 "
            + status
            + b"\r\nContent-Type: "
            + kind
            + b"\r\nContent-Length: "
            + str(len(body)).encode()
            + b"\r\nConnection: close\r\n\r\n"
            + body
        )
        try:
            await writer.drain()
        except ConnectionError:
            pass
        writer.close()

    return await asyncio.start_server(scrape, host, port, limit=REQUEST_BYTES_MAX)
