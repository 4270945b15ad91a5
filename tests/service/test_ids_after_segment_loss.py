"""A lost newest file-log segment never makes an acknowledged id name another order (issue 15).

Real `dompromise serve --data-dir` processes: reservations, a clean stop (a snapshot, a new segment), more
reservations into the newest segment, SIGKILL, the segment deleted. However the data dir is brought back
(today the server starts on the shorter log; a server that refuses it is repaired with `dompromise log repair
--accept-loss`), ids issued afterwards never equal the lost ones, and every id acknowledged before answers its
own order or NOT_FOUND LOG_CHANGED.
"""

from __future__ import annotations

import glob
import os

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from processes import Serving, dompromise

from dompromise.v1 import inventory_pb2, inventory_pb2_grpc, reservation_pb2, reservation_pb2_grpc

SKU, NODE = "BAT-STR-10948", "DC-NAT"  # the demo network's first SKU, its national DC


def reserve(target: str, request_id: str) -> tuple[str, str]:
    order_id = f"order-{request_id}"
    with grpc.insecure_channel(target) as channel:
        held = reservation_pb2_grpc.ReservationServiceStub(channel).ReserveInventory(
            reservation_pb2.ReserveInventoryRequest(
                request_id=request_id,
                order_id=order_id,
                lines=[reservation_pb2.ReservationLine(sku_id=SKU, node_id=NODE, quantity=1)],
            ),
            timeout=10,
        )
    return held.reservation.reservation_id, order_id


def lookup(target: str, reservation_id: str) -> str:
    """The order the id names, or the NOT_FOUND reason."""
    with grpc.insecure_channel(target) as channel:
        try:
            got = reservation_pb2_grpc.ReservationServiceStub(channel).GetReservation(
                reservation_pb2.GetReservationRequest(reservation_id=reservation_id), timeout=10
            )
        except grpc.RpcError as error:
            assert error.code() == grpc.StatusCode.NOT_FOUND, error
            details = rpc_status.from_call(error).details
            info = next(
                error_details_pb2.ErrorInfo.FromString(d.value)
                for d in details
                if d.Is(error_details_pb2.ErrorInfo.DESCRIPTOR)
            )
            return info.reason
    return got.reservation.order_id


def stock(target: str) -> None:
    with grpc.insecure_channel(target) as channel:
        inventory_pb2_grpc.InventoryServiceStub(channel).UpdateStock(
            inventory_pb2.UpdateStockRequest(
                updates=[inventory_pb2.StockUpdate(sku_id=SKU, node_id=NODE, kind=1, quantity=1_000)]
            ),
            timeout=10,
        )


def start_after_loss(data_dir: str) -> Serving:
    """The server on the damaged dir; if it refuses, through `log repair --accept-loss` (the repair path)."""
    try:
        return Serving("--data-dir", data_dir)
    except AssertionError as refused:
        repaired = dompromise("log", "repair", "--accept-loss", "--data-dir", data_dir)
        assert repaired.returncode == 0, f"refused ({refused}) and not repaired: {repaired.stderr}"
        return Serving("--data-dir", data_dir)


def test_ids_issued_after_a_lost_segment_never_equal_the_lost_ones(tmp_path, instances):
    data_dir = str(tmp_path / "data")
    serving = Serving("--data-dir", data_dir)
    instances.append(serving)
    stock(serving.target)
    kept = dict(reserve(serving.target, f"kept-{n}") for n in range(5))
    assert serving.stop() == 0  # a snapshot, and the next records go to a new segment
    serving = Serving("--data-dir", data_dir)
    instances.append(serving)
    lost = dict(reserve(serving.target, f"lost-{n}") for n in range(10))
    serving.kill()
    newest = sorted(glob.glob(os.path.join(data_dir, "commands-*.log")))[-1]
    os.remove(newest)

    serving = start_after_loss(data_dir)
    instances.append(serving)
    after = dict(reserve(serving.target, f"after-{n}") for n in range(15))
    before = {**kept, **lost}
    assert not set(after) & set(before), "an id acknowledged before the loss was issued again"
    for reservation_id, order_id in before.items():
        assert lookup(serving.target, reservation_id) in (order_id, "LOG_CHANGED"), reservation_id
    for reservation_id in lost:
        assert lookup(serving.target, reservation_id) == "LOG_CHANGED", reservation_id
    for reservation_id, order_id in after.items():
        assert lookup(serving.target, reservation_id) == order_id
    serving.stop()
