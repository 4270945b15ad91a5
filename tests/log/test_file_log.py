"""The file log on real files: framing, durability across reopen, torn tails, corruption."""

from __future__ import annotations

import os

import pytest
from conftest import small_network, stock_record, stocked_replica

from dompromise.internal.v1 import log_pb2
from dompromise.inventory.engine import Engine
from dompromise.log import FileLog, LogCorruption
from dompromise.log.file import MAGIC, segment_name
from dompromise.replica.local import Replica

LOG_NAME = segment_name(1)


def payloads(count: int) -> list[bytes]:
    return [f"record-{i}".encode() * (i + 1) for i in range(count)]


def test_records_survive_reopen_in_order(tmp_path):
    log = FileLog(str(tmp_path))
    assert log.write(payloads(3)) == 3
    assert log.write(payloads(2)) == 5
    log.sync()
    log.close()
    reopened = FileLog(str(tmp_path))
    assert reopened.last_position == 5
    assert [p for _, p in reopened.records()] == payloads(3) + payloads(2)
    assert [pos for pos, _ in reopened.records(after_position=3)] == [4, 5]
    assert reopened.recovery_note == ""


@pytest.mark.parametrize("cut_bytes", [1, 5, 9, 20])
def test_torn_tail_is_cut_at_the_last_whole_record(tmp_path, cut_bytes):
    log = FileLog(str(tmp_path))
    log.write(payloads(3))
    log.sync()
    log.write(payloads(4)[3:])  # never synced: a crash may tear it
    log.close()
    path = tmp_path / LOG_NAME
    size = path.stat().st_size
    os.truncate(path, size - cut_bytes)
    reopened = FileLog(str(tmp_path))
    assert reopened.last_position == 3
    assert [p for _, p in reopened.records()] == payloads(3)
    assert "recovery stopped after record 3" in reopened.recovery_note, reopened.recovery_note
    assert (tmp_path / f"{LOG_NAME}.corrupt-0").exists()
    # Appends go on after the cut, and survive another reopen.
    reopened.write([b"after"])
    reopened.sync()
    reopened.close()
    assert [p for _, p in FileLog(str(tmp_path)).records()][-1] == b"after"


def test_flipped_byte_with_good_records_after_it_refuses_to_open(tmp_path):
    log = FileLog(str(tmp_path))
    log.write(payloads(5))
    log.sync()
    log.close()
    path = tmp_path / LOG_NAME
    data = bytearray(path.read_bytes())
    offset = len(MAGIC) + 8 + len(payloads(1)[0]) + 8 + 2  # inside record 2's payload
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(LogCorruption) as refused:
        FileLog(str(tmp_path))
    message = str(refused.value)
    assert f"{LOG_NAME} byte {len(MAGIC) + 8 + len(payloads(1)[0])}: CRC mismatch; position 2 affected" in message
    assert "dompromise log repair --accept-loss" in message
    assert path.read_bytes() == bytes(data), "a refused open changes nothing"


def test_a_bad_last_record_that_was_synced_is_not_a_torn_tail(tmp_path):
    log = FileLog(str(tmp_path))
    log.write(payloads(3))
    log.sync()
    log.close()
    path = tmp_path / LOG_NAME
    os.truncate(path, path.stat().st_size - 2)
    with pytest.raises(LogCorruption, match="position 3 affected"):
        FileLog(str(tmp_path))


def test_foreign_file_is_refused(tmp_path):
    (tmp_path / LOG_NAME).write_bytes(b"this is not a log at all")
    with pytest.raises(LogCorruption):
        FileLog(str(tmp_path))


def test_torn_header_starts_an_empty_log(tmp_path):
    (tmp_path / LOG_NAME).write_bytes(MAGIC[:3])
    log = FileLog(str(tmp_path))
    assert log.last_position == 0
    log.write([b"x"])
    log.sync()
    assert [p for _, p in FileLog(str(tmp_path)).records()] == [b"x"]


def test_replaying_the_log_gives_the_same_state(tmp_path):
    live = stocked_replica(FileLog(str(tmp_path)))
    reserve = log_pb2.LogRecord(
        request_id="a",
        reserve=log_pb2.Reserve(
            sku_ids=["PAD-1", "OIL-1"], node_ids=["DC-1", "WH-N"], quantities=[3, 4], ttl_ns=10**12, customer_id="c"
        ),
    )
    outcome = live.bootstrap([reserve])[0]
    live.bootstrap(
        [log_pb2.LogRecord(commit=log_pb2.Resolve(reservation_id=outcome.reservation.reservation_id, order_id="O1"))]
    )
    live.bootstrap([log_pb2.LogRecord(request_id="a", reserve=reserve.reserve)])  # a retry
    live.log.close()

    replayed = Replica(Engine(small_network()), FileLog(str(tmp_path)))
    assert replayed.recover() == 4
    assert replayed.engine.core.digest() == live.engine.core.digest()
    view = replayed.engine.reservation(outcome.reservation.reservation_id)
    assert view.order_id == "O1"
    assert replayed.engine.reservations_of(customer_id="c") == live.engine.reservations_of(customer_id="c")


def test_bootstrap_writes_are_durable_records(tmp_path):
    replica = Replica(Engine(small_network()), FileLog(str(tmp_path)))
    replica.bootstrap([stock_record(replica.engine)])
    replica.log.close()
    assert FileLog(str(tmp_path)).last_position == 1


def test_rotate_and_drop_compact_whole_segments(tmp_path):
    log = FileLog(str(tmp_path))
    log.write(payloads(3))
    log.rotate()
    log.write(payloads(2))
    log.rotate()
    log.write([b"last"])
    log.sync()
    assert log.segment_count() == 3
    assert log.drop_through(4) == 1  # segment 2 ends at 5: kept
    assert log.first_position == 4
    assert [pos for pos, _ in log.records(after_position=3)] == [4, 5, 6]
    with pytest.raises(LogCorruption):
        list(log.records(after_position=1))
    log.close()
    reopened = FileLog(str(tmp_path))
    assert (reopened.first_position, reopened.last_position) == (4, 6)


def test_gap_between_segments_refuses_to_open(tmp_path):
    log = FileLog(str(tmp_path))
    log.write(payloads(2))
    log.rotate()
    log.write(payloads(2))
    log.rotate()
    log.write(payloads(1))
    log.sync()
    log.close()
    os.remove(tmp_path / segment_name(3))
    with pytest.raises(LogCorruption):
        FileLog(str(tmp_path))


def test_zeros_after_the_last_record_are_a_torn_tail_not_records(tmp_path):
    log = FileLog(str(tmp_path))
    log.write(payloads(1))
    log.sync()
    log.close()
    with open(tmp_path / LOG_NAME, "ab") as target:
        target.write(bytes(64))
    reopened = FileLog(str(tmp_path))
    assert reopened.last_position == 1
    assert "empty frame" in reopened.recovery_note
