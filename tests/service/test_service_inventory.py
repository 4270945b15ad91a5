"""UpdateStock over a real socket: sets, deltas, per-item outcomes, bad input."""

from __future__ import annotations

import grpc
import pytest
from test_service_availability import field_violations

from dompromise import limits
from dompromise.v1 import availability_pb2, availability_pb2_grpc, common_pb2, inventory_pb2_grpc
from dompromise.v1 import inventory_pb2 as pb

SET = pb.STOCK_UPDATE_KIND_SET_ON_HAND
ADJUST = pb.STOCK_UPDATE_KIND_ADJUST_ON_HAND


@pytest.fixture
def stub(channel):
    return inventory_pb2_grpc.InventoryServiceStub(channel)


def available(channel, sku_id, node_id):
    stub = availability_pb2_grpc.AvailabilityServiceStub(channel)
    response = stub.GetAvailability(availability_pb2.GetAvailabilityRequest(sku_ids=[sku_id], node_ids=[node_id]))
    return response.items[0].available_quantity


def update(sku_id, node_id, kind, quantity):
    return pb.StockUpdate(sku_id=sku_id, node_id=node_id, kind=kind, quantity=quantity)


def test_set_and_delta_apply_in_order_and_are_visible(stub, channel):
    response = stub.UpdateStock(
        pb.UpdateStockRequest(
            updates=[
                update("PAD-1", "DC-1", SET, 100),
                update("PAD-1", "DC-1", ADJUST, -30),
                update("OIL-1", "WH-N", ADJUST, 5),
            ]
        )
    )
    assert [r.status for r in response.results] == [common_pb2.ITEM_STATUS_OK] * 3
    assert [r.on_hand_quantity for r in response.results] == [100, 70, 36]
    assert response.applied_count == 3
    assert response.log_position == 2
    assert available(channel, "PAD-1", "DC-1") == 70
    assert available(channel, "OIL-1", "WH-N") == 36


def test_unknown_ids_and_short_deltas_are_per_item(stub, channel):
    response = stub.UpdateStock(
        pb.UpdateStockRequest(
            updates=[
                update("NOPE", "DC-1", SET, 1),
                update("PAD-1", "NOWHERE", SET, 1),
                update("PAD-1", "DC-1", ADJUST, -11),
                update("PAD-1", "WH-N", ADJUST, -1),
            ]
        )
    )
    assert [r.status for r in response.results] == [
        common_pb2.ITEM_STATUS_SKU_NOT_FOUND,
        common_pb2.ITEM_STATUS_NODE_NOT_FOUND,
        common_pb2.ITEM_STATUS_NEGATIVE_QUANTITY,
        common_pb2.ITEM_STATUS_OK,
    ]
    assert response.results[2].on_hand_quantity == 10
    assert response.applied_count == 1
    assert available(channel, "PAD-1", "DC-1") == 10
    assert available(channel, "PAD-1", "WH-N") == 10


def test_all_or_nothing_applies_nothing_when_one_fails(stub, channel):
    response = stub.UpdateStock(
        pb.UpdateStockRequest(
            all_or_nothing=True,
            updates=[
                update("PAD-1", "DC-1", SET, 500),
                update("PAD-1", "WH-N", ADJUST, -1000),
            ],
        )
    )
    assert [r.status for r in response.results] == [
        common_pb2.ITEM_STATUS_NOT_APPLIED,
        common_pb2.ITEM_STATUS_NEGATIVE_QUANTITY,
    ]
    assert response.applied_count == 0
    assert available(channel, "PAD-1", "DC-1") == 10


def test_negative_absolute_set_is_rejected_whole_and_state_unchanged(stub, channel, engine):
    before = engine.core.digest()
    with pytest.raises(grpc.RpcError) as caught:
        stub.UpdateStock(
            pb.UpdateStockRequest(
                updates=[
                    update("PAD-1", "DC-1", SET, 7),
                    update("PAD-1", "WH-N", SET, -1),
                ]
            )
        )
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "updates[1].quantity" in field_violations(caught.value)
    assert engine.core.digest() == before
    assert available(channel, "PAD-1", "DC-1") == 10


def test_malformed_items_are_all_named(stub):
    with pytest.raises(grpc.RpcError) as caught:
        stub.UpdateStock(
            pb.UpdateStockRequest(
                updates=[
                    update("", "DC-1", SET, 1),
                    update("PAD-1", "", SET, 1),
                    update("PAD-1", "DC-1", 0, 1),
                    update("PAD-1", "DC-1", ADJUST, limits.QUANTITY_MAX + 1),
                ]
            )
        )
    assert set(field_violations(caught.value)) == {
        "updates[0].sku_id",
        "updates[1].node_id",
        "updates[2].kind",
        "updates[3].quantity",
    }


def test_empty_and_oversized_batches(stub):
    with pytest.raises(grpc.RpcError) as caught:
        stub.UpdateStock(pb.UpdateStockRequest())
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    too_many = [update("PAD-1", "DC-1", ADJUST, 0)] * (limits.STOCK_UPDATES_MAX + 1)
    with pytest.raises(grpc.RpcError) as caught:
        stub.UpdateStock(pb.UpdateStockRequest(updates=too_many))
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_retried_delta_with_request_id_applies_once(stub, channel):
    request = pb.UpdateStockRequest(request_id="feed-42", updates=[update("PAD-1", "DC-1", ADJUST, 5)])
    first = stub.UpdateStock(request)
    again = stub.UpdateStock(request)
    assert again.log_position == first.log_position
    assert available(channel, "PAD-1", "DC-1") == 15
    with pytest.raises(grpc.RpcError) as caught:
        stub.UpdateStock(pb.UpdateStockRequest(request_id="feed-42", updates=[update("PAD-1", "DC-1", ADJUST, 6)]))
    assert caught.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert available(channel, "PAD-1", "DC-1") == 15


def sequenced(sku_id, quantity, source_id, sequence, kind=SET):
    return pb.StockUpdate(
        sku_id=sku_id, node_id="DC-1", kind=kind, quantity=quantity, source_id=source_id, sequence=sequence
    )


def test_feed_updates_are_ordered_per_source_and_position(stub, channel):
    first = stub.UpdateStock(pb.UpdateStockRequest(updates=[sequenced("PAD-1", 70, "wms-lyon", 1005)]))
    assert (first.applied_count, first.stale_count) == (1, 0)
    # A delayed older message and a redelivery arrive after it: both skipped and counted.
    late = stub.UpdateStock(
        pb.UpdateStockRequest(
            updates=[
                sequenced("PAD-1", 60, "wms-lyon", 1004),
                sequenced("PAD-1", 70, "wms-lyon", 1005),
                sequenced("PAD-1", 3, "erp", 1, kind=ADJUST),
            ]
        )
    )
    assert [r.status for r in late.results] == [common_pb2.ITEM_STATUS_STALE] * 2 + [common_pb2.ITEM_STATUS_OK]
    assert (late.applied_count, late.stale_count) == (1, 2)
    assert available(channel, "PAD-1", "DC-1") == 73


def test_feed_source_input_is_checked(stub):
    with pytest.raises(grpc.RpcError) as caught:
        stub.UpdateStock(pb.UpdateStockRequest(updates=[sequenced("PAD-1", 1, "wms lyon", -1)]))
    assert set(field_violations(caught.value)) == {"updates[0].source_id", "updates[0].sequence"}


def test_too_many_feed_sources_is_resource_exhausted(stub):
    updates = [sequenced("PAD-1", 1, f"source-{n}", 1) for n in range(limits.FEED_SOURCES_MAX + 1)]
    with pytest.raises(grpc.RpcError) as caught:
        stub.UpdateStock(pb.UpdateStockRequest(updates=updates))
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
