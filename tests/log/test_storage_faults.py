"""Storage faults over real processes and files: a damaged data directory either refuses to start with the
clear message, or starts with every acknowledged reservation; `log repair --accept-loss` then salvages all
but the damaged records.

One data directory is built once (a real server, N acknowledged reservations, snapshots every 100 records,
SIGKILL), then each test damages its own copy the way a disk, a careless operator or a bad restore would.
"""

from __future__ import annotations

import glob
import os
import re
import shutil

import grpc
import pytest
from google.protobuf import duration_pb2
from processes import Serving, dompromise, until

from dompromise.log.examine import segment_paths
from dompromise.log.snapshot import snapshot_paths
from dompromise.v1 import inventory_pb2, inventory_pb2_grpc, reservation_pb2, reservation_pb2_grpc

NODE = "DC-NAT"
CUSTOMER = "fault-test"
RESERVATIONS = 350
SNAPSHOT_EVERY = "100"
HOUR = duration_pb2.Duration(seconds=3600)


def demo_sku() -> str:
    from dompromise.demo import network as demo

    return demo.demo_network().skus[0].sku_id


def reserve_all(target: str, count: int) -> set[str]:
    sku = demo_sku()
    acknowledged = set()
    with grpc.insecure_channel(target) as channel:
        inventory_pb2_grpc.InventoryServiceStub(channel).UpdateStock(
            inventory_pb2.UpdateStockRequest(
                updates=[inventory_pb2.StockUpdate(sku_id=sku, node_id=NODE, kind=1, quantity=10**9)]
            )
        )
        stub = reservation_pb2_grpc.ReservationServiceStub(channel)
        for number in range(count):
            response = stub.ReserveInventory(
                reservation_pb2.ReserveInventoryRequest(
                    request_id=f"fault-{number}",
                    customer_id=CUSTOMER,
                    ttl=HOUR,
                    lines=[reservation_pb2.ReservationLine(sku_id=sku, node_id=NODE, quantity=1)],
                ),
                timeout=10,
            )
            acknowledged.add(response.reservation.reservation_id)
    return acknowledged


def held(target: str) -> set[str]:
    found, token = set(), ""
    with grpc.insecure_channel(target) as channel:
        stub = reservation_pb2_grpc.ReservationServiceStub(channel)
        while True:
            page = stub.ListReservations(
                reservation_pb2.ListReservationsRequest(customer_id=CUSTOMER, page_size=1000, page_token=token)
            )
            found |= {r.reservation_id for r in page.reservations}
            token = page.next_page_token
            if not token:
                return found


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(data directory, acknowledged reservation ids): a served, then SIGKILLed, data directory."""
    data = tmp_path_factory.mktemp("faults") / "data"
    server = Serving("--data-dir", str(data), "--snapshot-every", SNAPSHOT_EVERY)
    try:
        acknowledged = reserve_all(server.target, RESERVATIONS)
        # Snapshots are written off the writer's path: wait for two whole ones before the kill.
        until(lambda: len(snapshot_paths(str(data))) == 2 and not glob.glob(f"{data}/*.tmp"), "two snapshots")
    finally:
        server.kill()
    assert len(segment_paths(str(data))) >= 2, os.listdir(data)
    return data, acknowledged


@pytest.fixture
def damaged(built, tmp_path):
    source, acknowledged = built
    copy = tmp_path / "data"
    shutil.copytree(source, copy)
    return copy, acknowledged


def start_or_refusal(data) -> tuple[set[str] | None, str]:
    """(reservations found, '') if the server starts on `data`; (None, its message) if it refuses."""
    result = dompromise("log", "verify", "--data-dir", str(data))
    verified = result.returncode == 0
    try:
        server = Serving("--data-dir", str(data))
    except AssertionError as refused:
        assert not verified, f"verify passed a directory serve refuses:\n{result.stdout}"
        return None, str(refused)
    try:
        return held(server.target), ""
    finally:
        server.stop()


def repaired_then_served(data, acknowledged: set[str]) -> tuple[set[int], list[int]]:
    """Runs `log repair --accept-loss`; (the log positions of the acknowledged reservations lost, positions repair
    says were lost). A reservation id is `R<position>-<nonce>`: its position is where it was logged."""
    result = dompromise("log", "repair", "--accept-loss", "--data-dir", str(data))
    assert result.returncode == 0, result.stderr
    lost_positions = [int(p) for p in re.findall(r"lost position (\d+):", result.stdout)]
    assert dompromise("log", "verify", "--data-dir", str(data)).returncode == 0
    found, message = start_or_refusal(data)
    assert found is not None, message
    return {int(re.match(r"R(\d+)", lost).group(1)) for lost in acknowledged - found}, lost_positions


def assert_refused_clearly(message: str) -> None:
    assert "refusing to start" in message, message
    assert "dompromise log repair --accept-loss" in message or "no usable snapshot" in message, message


def newest_segment(data) -> str:
    return segment_paths(str(data))[-1]


def middle_offset(path: str) -> int:
    return os.path.getsize(path) // 2


def test_one_flipped_byte_mid_segment_is_refused_then_exactly_the_damaged_record_is_lost(damaged):
    data, acknowledged = damaged
    path = newest_segment(data)
    raw = bytearray(open(path, "rb").read())
    raw[middle_offset(path)] ^= 0x01
    open(path, "wb").write(bytes(raw))
    found, message = start_or_refusal(data)
    assert found is None, "one flipped byte mid-log must not start silently"
    assert_refused_clearly(message)
    assert re.search(r"byte \d+: CRC mismatch; position \d+ affected", message), message
    lost, positions = repaired_then_served(data, acknowledged)
    assert len(positions) == 1
    assert lost <= {positions[0]}, lost  # the damaged record's reservation at most
    print(f"\nflipped byte: {len(acknowledged)} acknowledged, refused, repaired: {len(lost)} lost")


def test_a_truncated_newest_segment_is_refused_then_only_the_cut_records_are_lost(damaged):
    data, acknowledged = damaged
    path = newest_segment(data)
    os.truncate(path, middle_offset(path))
    found, message = start_or_refusal(data)
    assert found is None
    assert_refused_clearly(message)
    lost, positions = repaired_then_served(data, acknowledged)
    assert positions and len(lost) <= len(positions)
    assert lost <= set(positions)


def test_a_zeroed_range_is_refused_then_only_the_zeroed_records_are_lost(damaged):
    data, acknowledged = damaged
    path = newest_segment(data)
    middle = middle_offset(path)
    with open(path, "r+b") as target:
        target.seek(middle)
        target.write(bytes(300))
    found, message = start_or_refusal(data)
    assert found is None
    assert_refused_clearly(message)
    lost, positions = repaired_then_served(data, acknowledged)
    assert 1 <= len(positions) <= 10
    assert lost <= set(positions)


def test_a_deleted_newest_segment_is_refused(damaged):
    data, acknowledged = damaged
    os.remove(newest_segment(data))
    found, message = start_or_refusal(data)
    assert found is None
    assert_refused_clearly(message)
    lost, positions = repaired_then_served(data, acknowledged)
    assert lost <= set(positions)


def test_a_deleted_older_segment_under_the_newest_snapshot_loses_nothing(damaged):
    data, acknowledged = damaged
    os.remove(segment_paths(str(data))[0])
    found, message = start_or_refusal(data)
    assert found is not None, message
    assert acknowledged <= found


def test_a_duplicated_segment_is_refused_and_set_aside_by_repair(damaged):
    data, acknowledged = damaged
    segments = segment_paths(str(data))
    following = int(re.search(r"(\d{20})", os.path.basename(segments[-1])).group(1)) + 1_000
    shutil.copy(segments[-1], os.path.join(data, f"commands-{following:020d}.log"))
    found, message = start_or_refusal(data)
    assert found is None
    assert_refused_clearly(message)
    lost, _ = repaired_then_served(data, acknowledged)
    assert lost == set()


@pytest.mark.parametrize("fault", ["flip", "truncate"])
def test_a_damaged_newest_snapshot_falls_back_and_loses_nothing(damaged, fault):
    data, acknowledged = damaged
    path = snapshot_paths(str(data))[-1]
    if fault == "truncate":
        os.truncate(path, os.path.getsize(path) // 2)
    else:
        raw = bytearray(open(path, "rb").read())
        raw[len(raw) // 3] ^= 0xFF
        open(path, "wb").write(bytes(raw))
    found, message = start_or_refusal(data)
    assert found is not None, message
    assert acknowledged <= found


def test_every_snapshot_damaged_over_a_compacted_log_is_refused(damaged):
    data, _ = damaged
    for path in snapshot_paths(str(data)):
        os.truncate(path, 100)
    found, message = start_or_refusal(data)
    assert found is None
    assert_refused_clearly(message)
