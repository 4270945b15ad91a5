"""UploadStock over a real socket: chunks, per-row problems, all-or-nothing, units, feeds."""

from __future__ import annotations

import grpc
import pytest
from test_service_availability import field_violations
from test_service_inventory import available

from dompromise import limits
from dompromise.v1 import inventory_pb2 as pb
from dompromise.v1 import inventory_pb2_grpc


@pytest.fixture
def stub(channel):
    return inventory_pb2_grpc.InventoryServiceStub(channel)


def columns(rows, units=None, source_id="", sequence=0):
    sku_ids, node_ids, quantities = (list(c) for c in zip(*rows))
    chunk = pb.StockColumns(sku_ids=sku_ids, node_ids=node_ids, quantities=quantities, units=units or [])
    if source_id:
        chunk.source_id = source_id
        chunk.sequences.extend([sequence] * len(rows))
    return chunk


def test_chunks_apply_in_order_and_bad_rows_are_reported_and_skipped(stub, channel):
    response = stub.UploadStock(
        iter(
            [
                pb.UploadStockRequest(columns=columns([("PAD-1", "DC-1", 5), ("NOPE", "DC-1", 1)])),
                pb.UploadStockRequest(
                    updates=[
                        pb.StockUpdate(
                            sku_id="PAD-1", node_id="DC-1", kind=pb.STOCK_UPDATE_KIND_ADJUST_ON_HAND, quantity=2
                        )
                    ],
                    columns=columns(
                        [("OIL-1", "WH-N", 3), ("PAD-1", "NOWHERE", 1), ("CABLE-1", "DC-1", 4)],
                        units=["litre", "", "metre"],
                    ),
                ),
            ]
        )
    )
    assert (response.row_count, response.applied_count, response.rejected_count) == (6, 4, 2)
    assert [(p.row, p.field) for p in response.problems] == [(1, "sku_id"), (4, "node_id")]
    assert available(channel, "PAD-1", "DC-1") == 7  # set 5, then +2 (updates come before columns)
    assert available(channel, "OIL-1", "WH-N") == 3000  # litres in millilitres
    assert available(channel, "CABLE-1", "DC-1") == 4000


def test_all_or_nothing_applies_nothing_when_one_row_is_bad(stub, channel):
    before = available(channel, "PAD-1", "DC-1")
    with pytest.raises(grpc.RpcError) as caught:
        stub.UploadStock(
            iter(
                [
                    pb.UploadStockRequest(all_or_nothing=True, columns=columns([("PAD-1", "DC-1", 99)])),
                    pb.UploadStockRequest(columns=columns([("PAD-1", "DC-1", 1)], units=["pallet"])),
                ]
            )
        )
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(field_violations(caught.value)) == {"rows[1].unit"}
    assert available(channel, "PAD-1", "DC-1") == before


def test_a_repeated_sequenced_upload_comes_back_stale(stub, channel):
    rows = [("PAD-1", "DC-1", 40), ("OIL-1", "DC-1", 50)]
    first = stub.UploadStock(iter([pb.UploadStockRequest(columns=columns(rows, source_id="nightly", sequence=7))]))
    again = stub.UploadStock(iter([pb.UploadStockRequest(columns=columns(rows, source_id="nightly", sequence=7))]))
    assert (first.applied_count, first.stale_count) == (2, 0)
    assert (again.applied_count, again.stale_count) == (0, 2)


def test_a_chunk_over_the_limit_is_resource_exhausted(stub):
    rows = [("PAD-1", "DC-1", 1)] * (limits.STOCK_UPDATES_MAX + 1)
    with pytest.raises(grpc.RpcError) as caught:
        stub.UploadStock(iter([pb.UploadStockRequest(columns=columns(rows))]))
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_ragged_columns_are_invalid(stub):
    with pytest.raises(grpc.RpcError) as caught:
        stub.UploadStock(
            iter([pb.UploadStockRequest(columns=pb.StockColumns(sku_ids=["PAD-1"], node_ids=[], quantities=[1]))])
        )
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(field_violations(caught.value)) == {"columns"}
