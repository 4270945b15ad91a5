"""GetAvailability over a real socket."""

from __future__ import annotations

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from dompromise import limits
from dompromise.v1 import availability_pb2 as pb
from dompromise.v1 import availability_pb2_grpc, common_pb2


@pytest.fixture
def stub(channel):
    return availability_pb2_grpc.AvailabilityServiceStub(channel)


def field_violations(error: grpc.RpcError) -> dict[str, str]:
    status = rpc_status.from_call(error)
    assert status is not None, "error carries no google.rpc.Status"
    violations = {}
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad_request = error_details_pb2.BadRequest()
            detail.Unpack(bad_request)
            violations.update((v.field, v.description) for v in bad_request.field_violations)
    return violations


def test_batch_answers_in_order_with_breakdown_over_sellable_nodes(stub, engine):
    response = stub.GetAvailability(pb.GetAvailabilityRequest(sku_ids=["CABLE-1", "NOPE", "PAD-1"]))
    # ST-2 (drain) and SUP-1 (disabled) take no new demand: not columns.
    assert list(response.node_ids) == ["DC-1", "WH-N", "ST-1"]
    cable, missing, pad = response.items
    assert cable.sku_id == "CABLE-1" and cable.status == common_pb2.ITEM_STATUS_OK
    assert cable.base_unit == common_pb2.BASE_UNIT_MILLIMETRE
    assert list(cable.node_available_quantities) == [20, 21, 22]
    assert cable.available_quantity == 63
    assert missing.status == common_pb2.ITEM_STATUS_SKU_NOT_FOUND
    assert missing.available_quantity == 0 and not missing.node_available_quantities
    assert list(pad.node_available_quantities) == [10, 11, 12]
    assert response.log_position == engine.log_position == 1


def test_node_and_tag_filters_are_a_union(stub):
    response = stub.GetAvailability(
        pb.GetAvailabilityRequest(sku_ids=["PAD-1"], node_ids=["DC-1"], node_tags=["north"])
    )
    assert list(response.node_ids) == ["DC-1", "WH-N", "ST-1"]
    response = stub.GetAvailability(pb.GetAvailabilityRequest(sku_ids=["PAD-1"], node_tags=["regional"]))
    assert list(response.node_ids) == ["WH-N"]
    assert response.items[0].available_quantity == 11


def test_filter_on_a_drained_node_selects_nothing_sellable(stub):
    response = stub.GetAvailability(pb.GetAvailabilityRequest(sku_ids=["PAD-1"], node_ids=["ST-2"]))
    assert list(response.node_ids) == []
    assert response.items[0].available_quantity == 0


def test_full_view_carries_every_bucket(stub):
    response = stub.GetAvailability(
        pb.GetAvailabilityRequest(sku_ids=["OIL-1"], node_ids=["WH-N"], view=pb.AVAILABILITY_VIEW_FULL)
    )
    item = response.items[0]
    assert list(item.node_on_hand_quantities) == [31]
    assert list(item.node_available_quantities) == [31]
    assert list(item.node_held_quantities) == [0]
    assert list(item.node_safety_stock_quantities) == [0]


def test_totals_view_has_no_breakdown(stub):
    response = stub.GetAvailability(pb.GetAvailabilityRequest(sku_ids=["OIL-1"], view=pb.AVAILABILITY_VIEW_TOTALS))
    assert list(response.node_ids) == []
    assert response.items[0].available_quantity == 30 + 31 + 32
    assert not response.items[0].node_available_quantities


def test_same_sku_twice_is_answered_twice(stub):
    response = stub.GetAvailability(pb.GetAvailabilityRequest(sku_ids=["PAD-1", "PAD-1"]))
    assert [i.available_quantity for i in response.items] == [33, 33]


def test_empty_request_names_the_field(stub):
    with pytest.raises(grpc.RpcError) as caught:
        stub.GetAvailability(pb.GetAvailabilityRequest())
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "sku_ids" in field_violations(caught.value)


def test_malformed_ids_are_named_with_their_index(stub):
    with pytest.raises(grpc.RpcError) as caught:
        stub.GetAvailability(pb.GetAvailabilityRequest(sku_ids=["PAD-1", "", "X" * 129], node_tags=[""]))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(field_violations(caught.value)) == {"sku_ids[1]", "sku_ids[2]", "node_tags[0]"}


def test_unknown_view_is_invalid(stub):
    with pytest.raises(grpc.RpcError) as caught:
        stub.GetAvailability(pb.GetAvailabilityRequest(sku_ids=["PAD-1"], view=42))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "view" in field_violations(caught.value)


def test_unknown_filter_node_is_not_found(stub):
    with pytest.raises(grpc.RpcError) as caught:
        stub.GetAvailability(pb.GetAvailabilityRequest(sku_ids=["PAD-1"], node_ids=["DC-1", "NOWHERE"]))
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    status = rpc_status.from_call(caught.value)
    info = error_details_pb2.ErrorInfo()
    assert any(d.Unpack(info) for d in status.details if d.Is(error_details_pb2.ErrorInfo.DESCRIPTOR))
    assert info.reason == "NODE_NOT_FOUND"
    assert info.metadata["field"] == "node_ids[1]"


def test_too_many_skus_is_resource_exhausted(stub):
    ids = ["PAD-1"] * (limits.AVAILABILITY_SKUS_MAX + 1)
    with pytest.raises(grpc.RpcError) as caught:
        stub.GetAvailability(pb.GetAvailabilityRequest(sku_ids=ids))
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "sku_ids" in field_violations(caught.value)


def test_limit_sized_batch_is_answered(stub):
    ids = ["PAD-1", "OIL-1"] * (limits.AVAILABILITY_SKUS_MAX // 2)
    response = stub.GetAvailability(pb.GetAvailabilityRequest(sku_ids=ids))
    assert len(response.items) == limits.AVAILABILITY_SKUS_MAX
    assert response.items[-1].available_quantity == 93


def test_answers_follow_writes(stub, channel):
    from dompromise.v1 import inventory_pb2, inventory_pb2_grpc

    inventory_pb2_grpc.InventoryServiceStub(channel).UpdateStock(
        inventory_pb2.UpdateStockRequest(
            updates=[inventory_pb2.StockUpdate(sku_id="PAD-1", node_id="DC-1", kind=1, quantity=0)]
        )
    )
    response = stub.GetAvailability(pb.GetAvailabilityRequest(sku_ids=["PAD-1"], node_ids=["DC-1"]))
    assert response.items[0].available_quantity == 0
    assert response.log_position == 2


def test_breakdown_over_the_cell_limit_is_resource_exhausted_but_totals_are_fine():
    from conftest import ServerThread

    from dompromise.inventory.engine import Engine
    from dompromise.model.network import Network, Node, NodeType, Sku

    node_count = limits.AVAILABILITY_BREAKDOWN_CELLS_MAX // limits.AVAILABILITY_SKUS_MAX + 1
    network = Network(nodes=tuple(Node(f"N{i}", NodeType.STORE) for i in range(node_count)), skus=(Sku("S"),))
    running = ServerThread(Engine(network))
    try:
        with grpc.insecure_channel(running.target) as channel:
            stub = availability_pb2_grpc.AvailabilityServiceStub(channel)
            ids = ["S"] * limits.AVAILABILITY_SKUS_MAX
            with pytest.raises(grpc.RpcError) as caught:
                stub.GetAvailability(pb.GetAvailabilityRequest(sku_ids=ids))
            assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            totals = stub.GetAvailability(pb.GetAvailabilityRequest(sku_ids=ids, view=pb.AVAILABILITY_VIEW_TOTALS))
            assert len(totals.items) == limits.AVAILABILITY_SKUS_MAX
    finally:
        running.stop()
