"""Health, reflection, and the RPCs that are honestly not there yet."""

from __future__ import annotations

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from dompromise.v1 import (
    availability_pb2,
    availability_pb2_grpc,
    inventory_pb2,
    inventory_pb2_grpc,
    promise_pb2,
    promise_pb2_grpc,
    reservation_pb2,
    reservation_pb2_grpc,
)


def test_health_is_serving(channel):
    stub = health_pb2_grpc.HealthStub(channel)
    for service in ("", "dompromise.v1.AvailabilityService"):
        response = stub.Check(health_pb2.HealthCheckRequest(service=service))
        assert response.status == health_pb2.HealthCheckResponse.SERVING


def test_reflection_lists_every_service(channel):
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    responses = stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
    names = {s.name for r in responses for s in r.list_services_response.service}
    assert {
        "dompromise.v1.AvailabilityService", "dompromise.v1.InventoryService", "dompromise.v1.NetworkService",
        "dompromise.v1.PromiseService", "dompromise.v1.ReservationService", "grpc.health.v1.Health",
    } <= names


UNIMPLEMENTED_CALLS = [
    ("promise", lambda ch: promise_pb2_grpc.PromiseServiceStub(ch).PromiseDelivery(
        promise_pb2.PromiseDeliveryRequest())),
    ("reserve-token", lambda ch: reservation_pb2_grpc.ReservationServiceStub(ch).ReserveInventory(
        reservation_pb2.ReserveInventoryRequest(request_id="r1", promise_token="t"))),
    ("watch", lambda ch: list(availability_pb2_grpc.AvailabilityServiceStub(ch).WatchAvailability(
        availability_pb2.WatchAvailabilityRequest(sku_ids=["PAD-1"])))),
    ("upload", lambda ch: inventory_pb2_grpc.InventoryServiceStub(ch).UploadStock(
        iter([inventory_pb2.UploadStockRequest()]))),
]


@pytest.mark.parametrize("name,call", UNIMPLEMENTED_CALLS, ids=[c[0] for c in UNIMPLEMENTED_CALLS])
def test_open_issues_answer_unimplemented(channel, name, call):
    with pytest.raises(grpc.RpcError) as caught:
        call(channel)
    assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert "not implemented yet" in caught.value.details()

