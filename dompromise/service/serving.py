"""What a production server adds around the services: TLS, keys, metrics, load shedding, logs, traces.

`ServingOptions` is what `serve` was asked for; `Additions` is what
build_server puts in place for it: the interceptors, in order (outermost
first: tracing, request ids for logs), the checks each call's pipeline runs
(keys, metrics, load shedding: service/pipeline.py), and the metrics
registry `serve` exposes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import grpc
import grpc.aio
from prometheus_client import CollectorRegistry

from dompromise import limits
from dompromise.replica.protocol import Replica
from dompromise.replica.watch import WatchHub
from dompromise.service.auth import KeyCheck, KeyRing
from dompromise.service.logs import RequestIdInterceptor
from dompromise.service.metrics import BusinessCounters, ReplicaCollector, RpcMetrics
from dompromise.service.overload import Overload
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


@dataclass
class Additions:
    """What build_server puts in place for the options: interceptors (request ids, traces), and the checks
    every call's pipeline runs (service/pipeline.py)."""

    interceptors: list[grpc.aio.ServerInterceptor]
    registry: CollectorRegistry | None
    overload: Overload
    business: BusinessCounters | None = None
    keys: KeyCheck | None = None
    rpcs: RpcMetrics | None = None
    extra: dict[str, object] = field(default_factory=dict)


def additions(options: ServingOptions, replica: Replica, watches: WatchHub) -> Additions:
    """The interceptors (outermost first), the pipeline's checks and the metrics registry for `options`."""
    interceptors: list[grpc.aio.ServerInterceptor] = []
    if options.tracing:
        from dompromise.service.tracing import server_interceptor

        interceptors.append(server_interceptor())
    if options.request_ids:
        interceptors.append(RequestIdInterceptor())
    registry = business = rpcs = None
    if options.metrics_port is not None:
        registry = CollectorRegistry(auto_describe=True)
        business = BusinessCounters(registry)
        registry.register(ReplicaCollector(replica, watches, options.worker_restarts))
        replica.add_apply_listener(business.on_applied)
        rpcs = RpcMetrics(registry)
    keys = KeyCheck(options.keys) if options.keys is not None else None
    shed = business.shed if business is not None else None
    overload = Overload(
        options.inflight_max, on_shed=(lambda method: shed.labels(method).inc()) if shed is not None else None
    )
    return Additions(interceptors, registry, overload, business, keys, rpcs)


def bind(server: grpc.aio.Server, address: str, tls: TlsFiles | None) -> int:
    """Binds `address` plain or with TLS; the port (0 if the bind failed)."""
    if tls is None:
        return server.add_insecure_port(address)
    return server.add_secure_port(address, server_credentials(tls))
