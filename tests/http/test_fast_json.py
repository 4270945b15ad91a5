"""The fast JSON writer (dompromise/http/fast_json.py) writes exactly what json_format writes: over real
answers of a real server (availability with phasing, promises with timestamps and doubles, nodes, SKUs,
search, reservations), byte for byte, and falls back to json_format for what it does not cover."""

from __future__ import annotations

import json

import grpc
import pytest
from google.protobuf import json_format, struct_pb2, timestamp_pb2
from processes import STOP_SECONDS_MAX, Serving

from dompromise.demo import network as demo
from dompromise.http.fast_json import response_bytes
from dompromise.v1 import (
    availability_pb2,
    availability_pb2_grpc,
    network_pb2,
    network_pb2_grpc,
    promise_pb2,
    promise_pb2_grpc,
    reservation_pb2,
    reservation_pb2_grpc,
)


def json_format_bytes(message) -> bytes:
    return json.dumps(json_format.MessageToDict(message), separators=(",", ":")).encode()


@pytest.fixture(scope="module")
def channel(tmp_path_factory):
    serving = Serving("--data-dir", str(tmp_path_factory.mktemp("data")))
    with grpc.insecure_channel(serving.target) as opened:
        yield opened
    serving.process.kill()
    serving.process.wait(STOP_SECONDS_MAX)


def answers(channel) -> list:
    skus = [sku.sku_id for sku in demo.demo_network().skus[:3]]
    availability = availability_pb2_grpc.AvailabilityServiceStub(channel)
    network = network_pb2_grpc.NetworkServiceStub(channel)
    promise = promise_pb2_grpc.PromiseServiceStub(channel)
    reservation = reservation_pb2_grpc.ReservationServiceStub(channel)
    promised = promise.PromiseDelivery(
        promise_pb2.PromiseDeliveryRequest(
            lines=[promise_pb2.OrderLine(sku_id=skus[0], quantity=2)], postal_code="69003", country_code="FR"
        )
    )
    found = [
        availability.GetAvailability(availability_pb2.GetAvailabilityRequest(sku_ids=skus[:1])),
        availability.GetAvailability(availability_pb2.GetAvailabilityRequest(sku_ids=skus + ["NO-SUCH"])),
        availability.GetAvailability(
            availability_pb2.GetAvailabilityRequest(
                sku_ids=skus,
                phasing=availability_pb2.TimePhasing(bucket_count=5),
                view=availability_pb2.AVAILABILITY_VIEW_FULL,
            )
        ),
        promised,
        promise.PromiseDelivery(
            promise_pb2.PromiseDeliveryRequest(
                lines=[promise_pb2.OrderLine(sku_id=skus[1], quantity=10**9)], postal_code="69003", country_code="FR"
            )
        ),
        network.ListNodes(network_pb2.ListNodesRequest(page_size=100)),
        network.ListSkus(network_pb2.ListSkusRequest(page_size=50)),
        network.GetSku(network_pb2.GetSkuRequest(sku_id=skus[0])),
        network.SearchSkus(network_pb2.SearchSkusRequest(query="brake")),
        reservation.ReserveInventory(
            reservation_pb2.ReserveInventoryRequest(
                request_id="fast-json-1", promise_token=promised.options[0].promise_token
            )
        ),
    ]
    return found


def test_real_answers_are_written_byte_for_byte_as_json_format_writes_them(channel):
    written = answers(channel)
    assert any(json_format_bytes(a).count(b"Time") for a in written), "timestamps among them"
    assert any(b'"fillPercent"' in json_format_bytes(a) for a in written), "doubles among them"
    for answer in written:
        assert response_bytes(answer) == json_format_bytes(answer), type(answer).__name__


def test_what_it_does_not_cover_goes_through_json_format():
    odd = [
        promise_pb2.DeliveryOption(score=float("nan"), fill_percent=float("inf")),
        struct_pb2.Struct(fields={"a": struct_pb2.Value(number_value=1.5)}),
        promise_pb2.OrderLine(sku_id="A", quantity=1, required_attributes={"colour": "red"}),
        timestamp_pb2.Timestamp(seconds=1, nanos=5),
    ]
    for message in odd:
        assert response_bytes(message) == json_format_bytes(message), type(message).__name__
