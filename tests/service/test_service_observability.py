"""Metrics scraped over HTTP after real calls, load shedding under a real overload, JSON logs, traces."""

from __future__ import annotations

import io
import json
import logging
import sys
import time
import urllib.request
from pathlib import Path

import grpc
import pytest
from conftest import stocked_replica
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_status import rpc_status
from production_server import ProductionServer

from dompromise.inventory.engine import Engine
from dompromise.log import MemoryLog
from dompromise.replica.local import Replica
from dompromise.service import logs
from dompromise.service.serving import ServingOptions
from dompromise.v1 import (
    availability_pb2,
    availability_pb2_grpc,
    promise_pb2,
    promise_pb2_grpc,
    reservation_pb2,
    reservation_pb2_grpc,
)

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "promise"))
from scenario_network import network, paris, stock_records  # noqa: E402

# How long a test waits for a counter of an aborted call to show, in seconds.
SCRAPE_WAIT_SECONDS_MAX = 5.0


def scrape(port: int) -> dict[str, float]:
    """The page's samples: 'name{labels}' -> value."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        assert answer.status == 200
        text = answer.read().decode()
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


def scrape_when(port: int, name: str, expected: float, **labels: str) -> dict[str, float]:
    """The page once sample `name` (with `labels`) reads `expected`, within SCRAPE_WAIT_SECONDS_MAX.

    An aborted call's status reaches the client before the server's pipeline has counted it (grpc.aio
    sends the status inside `abort`, then unwinds the handler), so a scrape right after can be a turn early."""
    deadline = time.monotonic() + SCRAPE_WAIT_SECONDS_MAX
    while True:
        samples = scrape(port)
        if sample(samples, name, **labels) == expected or time.monotonic() > deadline:
            return samples
        time.sleep(0.02)


def sample(samples: dict[str, float], name: str, **labels: str) -> float:
    """The one sample of `name` whose labels include `labels` (0 if none)."""
    found = 0.0
    for key, value in samples.items():
        if key.split("{", 1)[0] == name and all(f'{k}="{v}"' in key for k, v in labels.items()):
            found += value
    return found


@pytest.fixture
def metered():
    replica = Replica(Engine(network()), MemoryLog())
    replica.bootstrap(stock_records({("PAD", "WH"): 10, ("PAD", "DC"): 40, ("OIL", "DC"): 20}))
    server = ProductionServer(replica, ServingOptions(metrics_port=0))
    yield server
    server.stop()


def test_metrics_show_rpc_and_business_series_after_real_calls(metered):
    with grpc.insecure_channel(metered.target) as channel:
        availability = availability_pb2_grpc.AvailabilityServiceStub(channel)
        for _ in range(3):
            availability.GetAvailability(availability_pb2.GetAvailabilityRequest(sku_ids=["PAD"]))
        with pytest.raises(grpc.RpcError):
            availability.GetAvailability(availability_pb2.GetAvailabilityRequest())  # no SKUs: INVALID_ARGUMENT
        reserve = reservation_pb2_grpc.ReservationServiceStub(channel).ReserveInventory
        line = reservation_pb2.ReservationLine
        held = reserve(
            reservation_pb2.ReserveInventoryRequest(
                request_id="r1", lines=[line(sku_id="PAD", node_id="DC", quantity=2)]
            )
        )
        assert held.HasField("reservation")
        short = reserve(
            reservation_pb2.ReserveInventoryRequest(
                request_id="r2", lines=[line(sku_id="PAD", node_id="WH", quantity=999)]
            )
        )
        assert not short.HasField("reservation")
        request = promise_pb2.PromiseDeliveryRequest(
            lines=[promise_pb2.OrderLine(sku_id="PAD", quantity=2)], postal_code="59000", country_code="FR"
        )
        request.as_of_time.FromNanoseconds(paris(2026, 11, 24, 13, 46))
        promised = promise_pb2_grpc.PromiseServiceStub(channel).PromiseDelivery(request)
        assert promised.options
        watch = availability.WatchAvailability(availability_pb2.WatchAvailabilityRequest(sku_ids=["PAD"]))
        next(iter(watch))  # the first snapshot: the stream is open
        samples = scrape(metered.metrics_port)
        watch.cancel()
    method = {"grpc_service": "dompromise.v1.AvailabilityService", "grpc_method": "GetAvailability"}
    assert sample(samples, "grpc_server_started_total", grpc_type="unary", **method) == 4
    assert sample(samples, "grpc_server_handled_total", grpc_code="OK", **method) == 3
    assert sample(samples, "grpc_server_handled_total", grpc_code="INVALID_ARGUMENT", **method) == 1
    assert sample(samples, "grpc_server_handling_seconds_count", **method) == 4
    assert sample(samples, "grpc_server_handling_seconds_bucket", le="+Inf", **method) == 4
    assert sample(samples, "dompromise_reserve_lines_short_total") == 1
    assert sample(samples, "dompromise_hold_commands_total", command="reserve") == 2  # the refused one is logged too
    assert sample(samples, "dompromise_holds_placed_total") == 1
    assert sample(samples, "dompromise_promises_total") == 1
    assert sample(samples, "dompromise_promises_filled_total") == 1
    assert sample(samples, "dompromise_promises_split_total") == 0
    assert sample(samples, "dompromise_watch_subscribers") == 1
    assert sample(samples, "dompromise_log_position") == metered.replica.log_position > 0
    assert sample(samples, "dompromise_log_writable") == 1
    assert "dompromise_apply_lag_seconds" in samples
    assert "dompromise_worker_restarts_total" in samples


def test_the_metrics_page_answers_only_get_metrics(metered):
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(f"http://127.0.0.1:{metered.metrics_port}/other", timeout=5)
    assert missing.value.code == 404


def test_overload_is_refused_at_once_with_retry_info_not_left_to_time_out():
    server = ProductionServer(stocked_replica(), ServingOptions(inflight_max=4, metrics_port=0))
    far = str(server.replica.log_position + 1_000_000)  # a position never reached: each call waits 2 s
    try:
        with grpc.insecure_channel(server.target) as channel:
            get = availability_pb2_grpc.AvailabilityServiceStub(channel).GetAvailability
            request = availability_pb2.GetAvailabilityRequest(sku_ids=["PAD-1"])
            waiting = [
                get.future(request, metadata=(("x-dompromise-min-position", far),), timeout=10) for _ in range(4)
            ]
            time.sleep(0.3)  # the four are in flight
            started = time.monotonic()
            with pytest.raises(grpc.RpcError) as shed:
                get(request, timeout=10)
            assert time.monotonic() - started < 1.0  # at once, not after a queue
            assert shed.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            details = rpc_status.from_call(shed.value).details
            retry = error_details_pb2.RetryInfo()
            assert any(detail.Unpack(retry) for detail in details)
            assert retry.retry_delay.ToMilliseconds() > 0
            # Health is never shed: a busy server is alive.
            health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=2)
            assert health.status == health_pb2.HealthCheckResponse.SERVING
            for future in waiting:
                with pytest.raises(grpc.RpcError) as unreached:
                    future.result()
                assert unreached.value.code() == grpc.StatusCode.UNAVAILABLE  # POSITION_NOT_REACHED, not shed
            assert get(request, timeout=5).items[0].available_quantity > 0  # room again
        samples = scrape(server.metrics_port)
        assert sample(samples, "dompromise_rpcs_shed_total") == 1
        assert server.additions.overload.inflight == 0
    finally:
        server.stop()


def test_json_logs_carry_the_request_id_and_trace_id():
    server = ProductionServer(stocked_replica(), ServingOptions(request_ids=True))
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    errors_log = logging.getLogger("dompromise.service.errors")
    errors_log.addHandler(handler)
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    try:
        from dompromise.service import availability as availability_service

        # The method the server registers for GetAvailability (its answer goes out as bytes: pipeline.RAW_METHODS).
        real = availability_service.AvailabilityServicer.GetAvailabilityBytes

        async def failing(self, request, context):
            logging.getLogger("dompromise.service.errors").warning("looked up %d SKUs", len(request.sku_ids))
            return await real(self, request, context)

        availability_service.AvailabilityServicer.GetAvailabilityBytes = failing
        server.stop()
        server = ProductionServer(stocked_replica(), ServingOptions(request_ids=True))
        with grpc.insecure_channel(server.target) as channel:
            availability_pb2_grpc.AvailabilityServiceStub(channel).GetAvailability(
                availability_pb2.GetAvailabilityRequest(sku_ids=["PAD-1"]),
                metadata=(("x-request-id", "checkout-42"), ("traceparent", f"00-{trace_id}-00f067aa0ba902b7-01")),
            )
    finally:
        availability_service.AvailabilityServicer.GetAvailabilityBytes = real
        errors_log.removeHandler(handler)
        server.stop()
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert lines, "the handler logged nothing"
    assert lines[0]["message"] == "looked up 1 SKUs"
    assert lines[0]["request_id"] == "checkout-42"
    assert lines[0]["trace_id"] == trace_id
    assert lines[0]["level"] == "warning"


def test_traces_are_exported_in_memory():
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    server = ProductionServer(stocked_replica(), ServingOptions(tracing=True))
    try:
        with grpc.insecure_channel(server.target) as channel:
            availability_pb2_grpc.AvailabilityServiceStub(channel).GetAvailability(
                availability_pb2.GetAvailabilityRequest(sku_ids=["PAD-1"])
            )
    finally:
        server.stop()
    spans = [span for span in exporter.get_finished_spans() if "GetAvailability" in span.name]
    assert spans, [span.name for span in exporter.get_finished_spans()]
    assert spans[0].kind == trace.SpanKind.SERVER
    assert spans[0].context.trace_id != 0
