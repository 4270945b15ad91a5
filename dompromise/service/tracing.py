"""OpenTelemetry traces (`pip install dompromise[otel]`, `serve --otel`): a server span per RPC.

opentelemetry-instrumentation-grpc's aio server interceptor makes the spans
(continuing a caller's W3C `traceparent`); the tracer provider is the one
the process has. `configure_exporter` sets one up exporting OTLP over gRPC
when OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is
set, the exporter's own environment variables deciding the rest; without
it spans are made but go nowhere (a test installs an in-memory exporter).
"""

from __future__ import annotations

import os

import grpc.aio

from dompromise.service import logs


class TracingUnavailable(RuntimeError):
    """The otel extra is not installed."""


def _trace_id() -> str:
    from opentelemetry import trace

    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else ""


def server_interceptor() -> grpc.aio.ServerInterceptor:
    """The instrumentation's aio server interceptor; log lines get the span's trace id."""
    try:
        from opentelemetry.instrumentation.grpc import aio_server_interceptor
    except ImportError as error:
        raise TracingUnavailable(f"tracing needs the otel extra (pip install 'dompromise[otel]'): {error}") from None
    logs.current_trace_id = _trace_id
    # The instrumentation is untyped; its aio_server_interceptor returns a grpc.aio.ServerInterceptor.
    interceptor: grpc.aio.ServerInterceptor = aio_server_interceptor()  # type: ignore[no-untyped-call]
    return interceptor


def configure_exporter(service_name: str = "dompromise") -> bool:
    """A tracer provider exporting OTLP when an endpoint is configured; True if one was set up."""
    if not (os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")):
        return False
    try:
        from opentelemetry import trace
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError as error:
        raise TracingUnavailable(f"OTLP export needs the otel extra ('dompromise[otel]'): {error}") from None
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    return True
