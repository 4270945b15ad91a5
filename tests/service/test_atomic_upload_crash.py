"""An all-or-nothing UploadStock killed (SIGKILL) while it is written: after a restart, all of it or none.

A real `dompromise serve` over its file log; the upload sets every position of the demo network's first
SKUs to one new quantity, in chunks; the process is killed at several moments after the last chunk is sent
(while the server checks, logs and applies). Before the upload was one record, recovery could apply a prefix.
"""

from __future__ import annotations

import threading
import time

import grpc
import pytest
from processes import Serving

from dompromise import limits
from dompromise.demo import network as demo
from dompromise.v1 import availability_pb2, availability_pb2_grpc, inventory_pb2

QUANTITY = 4_321
CHUNK_ROWS = 10_000
# Moments after the last chunk is sent, in seconds; None: after the answer (acknowledged: all must be there).
KILL_DELAYS_SECONDS = (0.0, 0.3, None)


def positions(rows_max: int) -> list[tuple[str, str]]:
    network = demo.demo_network()
    nodes = [node.node_id for node in network.nodes]
    found = [(sku.sku_id, node) for sku in network.skus for node in nodes]
    return found[:rows_max]


def chunks(rows: list[tuple[str, str]]):
    for begin in range(0, len(rows), CHUNK_ROWS):
        part = rows[begin : begin + CHUNK_ROWS]
        yield inventory_pb2.UploadStockRequest(
            all_or_nothing=True,
            columns=inventory_pb2.StockColumns(
                sku_ids=[sku for sku, _ in part], node_ids=[node for _, node in part], quantities=[QUANTITY] * len(part)
            ),
        )


def applied_count(target: str, rows: list[tuple[str, str]]) -> int:
    """Rows whose position now has exactly QUANTITY on hand."""
    skus = sorted({sku for sku, _ in rows})
    with grpc.insecure_channel(target) as channel:
        stub = availability_pb2_grpc.AvailabilityServiceStub(channel)
        response = stub.GetAvailability(
            availability_pb2.GetAvailabilityRequest(sku_ids=skus, view=availability_pb2.AVAILABILITY_VIEW_FULL),
            timeout=30,
        )
    on_hand = {
        (item.sku_id, node): quantity
        for item in response.items
        for node, quantity in zip(response.node_ids, item.node_on_hand_quantities)
    }
    return sum(on_hand.get(row) == QUANTITY for row in rows)


@pytest.mark.parametrize("delay_seconds", KILL_DELAYS_SECONDS)
def test_a_killed_all_or_nothing_upload_is_applied_whole_or_not_at_all(tmp_path, delay_seconds):
    rows = positions(limits.UPLOAD_ATOMIC_ROWS_MAX // 2)
    assert len(rows) > 2 * CHUNK_ROWS, "the demo network is too small for several chunks"
    data = str(tmp_path / "data")
    first = Serving("--data-dir", data)
    sent, answered = threading.Event(), threading.Event()

    def upload() -> None:
        def stream():
            yield from chunks(rows)
            sent.set()

        with grpc.insecure_channel(first.target) as channel:
            try:
                channel.stream_unary(
                    "/dompromise.v1.InventoryService/UploadStock",
                    request_serializer=inventory_pb2.UploadStockRequest.SerializeToString,
                )(stream(), timeout=60)
                answered.set()
            except grpc.RpcError:
                pass  # the server died under it

    thread = threading.Thread(target=upload)
    thread.start()
    assert sent.wait(60), "the upload was not sent"
    if delay_seconds is None:
        assert answered.wait(60), "the upload was not answered"
    else:
        time.sleep(delay_seconds)
    first.kill()
    thread.join(60)

    second = Serving("--data-dir", data)
    try:
        applied = applied_count(second.target, rows)
        print(f"killed {delay_seconds}s after sending: {applied} of {len(rows)} rows applied")
        assert applied in (0, len(rows))
        if answered.is_set():
            assert applied == len(rows)
    finally:
        second.stop()
