"""Torn tail against corruption on real files: what opens, what refuses, what verify says, what repair keeps."""

from __future__ import annotations

import os

import pytest

from dompromise.errors import DataDirInUse, FormatTooNew, LogCorruption
from dompromise.internal.v1 import log_pb2
from dompromise.log import FileLog
from dompromise.log.file import MAGIC, segment_name
from dompromise.log.frames import FRAME
from dompromise.log.verify import repair, verify

LOG_NAME = segment_name(1)


def record(number: int) -> bytes:
    return log_pb2.LogRecord(
        log_time_ns=1_000 + number, request_id=f"req-{number}", tick=log_pb2.Tick()
    ).SerializeToString()


def written_log(directory, count: int = 10, synced: bool = True) -> list[int]:
    """A log of `count` records; returns each record's frame offset."""
    log = FileLog(str(directory))
    offsets, offset = [], len(MAGIC)
    for number in range(1, count + 1):
        payload = record(number)
        offsets.append(offset)
        offset += FRAME.size + len(payload)
        log.write([payload])
    if synced:
        log.sync()
    log.close()
    return offsets


def flip(path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x5A
    path.write_bytes(bytes(data))


def test_a_flipped_byte_mid_log_refuses_then_repair_loses_exactly_that_record(tmp_path):
    offsets = written_log(tmp_path)
    before_id = FileLog(str(tmp_path)).log_id
    flip(tmp_path / LOG_NAME, offsets[4] + FRAME.size + 3)  # record 5's payload
    with pytest.raises(LogCorruption, match="position 5 affected"):
        FileLog(str(tmp_path))
    report = verify(str(tmp_path))
    assert not report.ok
    assert "position 5 affected" in report.render()

    repaired = repair(str(tmp_path))
    assert repaired is not None
    assert [line.split(":")[0] for line in repaired.lost] == ["position 5"]
    assert "request_id='req-5'" in repaired.lost[0] or "undecodable" in repaired.lost[0]
    assert repaired.log_id != before_id
    assert verify(str(tmp_path)).ok
    log = FileLog(str(tmp_path))
    assert log.log_id == repaired.log_id
    kept = dict(log.records())
    assert sorted(kept) == list(range(1, 11))  # dense: later records keep their positions
    assert all(kept[p] == record(p) for p in kept if p != 5)
    filler = log_pb2.LogRecord.FromString(kept[5])
    assert filler.WhichOneof("command") == "tick"
    assert filler.log_time_ns == 1_004  # the time of the record before: it changes nothing
    assert (tmp_path / f"{LOG_NAME}.damaged-0").exists()


def test_a_zeroed_range_over_several_records_is_counted_by_the_synced_mark(tmp_path):
    offsets = written_log(tmp_path, count=20)
    path = tmp_path / LOG_NAME
    data = bytearray(path.read_bytes())
    data[offsets[6] + 2 : offsets[9] + 5] = bytes(offsets[9] + 5 - offsets[6] - 2)  # records 7-10 damaged
    path.write_bytes(bytes(data))
    with pytest.raises(LogCorruption, match="positions 7-10 affected"):
        FileLog(str(tmp_path))
    repaired = repair(str(tmp_path))
    assert [line.split(":")[0] for line in repaired.lost] == [f"position {p}" for p in range(7, 11)]
    kept = dict(FileLog(str(tmp_path)).records())
    assert sorted(kept) == list(range(1, 21))
    assert all(kept[p] == record(p) for p in range(11, 21))


def test_a_truncated_synced_log_refuses_and_repair_fills_the_cut_positions(tmp_path):
    offsets = written_log(tmp_path, count=10)
    os.truncate(tmp_path / LOG_NAME, offsets[6])
    with pytest.raises(LogCorruption, match="positions 7-10 affected"):
        FileLog(str(tmp_path))
    repair(str(tmp_path))
    assert FileLog(str(tmp_path)).last_position == 10


def test_bad_bytes_past_the_synced_mark_are_a_torn_tail_even_with_good_frames_after(tmp_path):
    log = FileLog(str(tmp_path))
    log.write([record(1), record(2)])
    log.sync()
    log.write([record(3), record(4)])  # never synced: pages may reach the disk out of order
    log.close()
    flip(tmp_path / LOG_NAME, len(MAGIC) + 2 * (FRAME.size + len(record(1))) + FRAME.size + 1)
    reopened = FileLog(str(tmp_path))
    assert reopened.last_position == 2
    assert "CRC mismatch" in reopened.recovery_note


def test_a_deleted_newest_segment_refuses(tmp_path):
    log = FileLog(str(tmp_path))
    log.write([record(1), record(2)])
    log.rotate()
    log.write([record(3)])
    log.sync()
    log.close()
    os.remove(tmp_path / segment_name(3))
    with pytest.raises(LogCorruption, match="position 3 affected"):
        FileLog(str(tmp_path))


def test_a_copied_segment_after_the_synced_one_refuses(tmp_path):
    log = FileLog(str(tmp_path))
    log.write([record(1), record(2)])
    log.sync()
    log.close()
    (tmp_path / segment_name(3)).write_bytes((tmp_path / LOG_NAME).read_bytes())
    with pytest.raises(LogCorruption, match="after the last synced segment"):
        FileLog(str(tmp_path))
    repair(str(tmp_path))
    assert FileLog(str(tmp_path)).last_position == 2


def test_a_newer_segment_format_is_refused_by_name(tmp_path):
    written_log(tmp_path, count=2)
    path = tmp_path / LOG_NAME
    data = bytearray(path.read_bytes())
    data[6] = 2
    path.write_bytes(bytes(data))
    with pytest.raises(FormatTooNew, match="log format version 2"):
        FileLog(str(tmp_path))


def test_one_owner_per_directory_and_stale_temporaries_go(tmp_path):
    (tmp_path / "snapshot-00000000000000000009.npz.tmp").write_bytes(b"half")
    owner = FileLog(str(tmp_path), exclusive=True)
    assert not (tmp_path / "snapshot-00000000000000000009.npz.tmp").exists()
    with pytest.raises(DataDirInUse, match=f"data dir {tmp_path} is in use by pid {os.getpid()}"):
        FileLog(str(tmp_path), exclusive=True)
    owner.close()
    FileLog(str(tmp_path), exclusive=True).close()


def test_a_log_cut_at_a_frame_boundary_is_refused_and_repaired(tmp_path):
    offsets = written_log(tmp_path, count=6)
    os.truncate(tmp_path / LOG_NAME, offsets[4])  # whole frames: nothing looks bad, but 5-6 were synced
    with pytest.raises(LogCorruption, match="positions 5-6 affected"):
        FileLog(str(tmp_path))
    repaired = repair(str(tmp_path))
    assert [line.split(":")[0] for line in repaired.lost] == ["position 5", "position 6"]
    kept = dict(FileLog(str(tmp_path)).records())
    assert sorted(kept) == list(range(1, 7)) and all(kept[p] == record(p) for p in range(1, 5))
