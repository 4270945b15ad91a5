"""log/tail.py: a reader of a file log another FileLog writes, over real files (rotation, compaction, torn tails)."""

from __future__ import annotations

import os

import pytest

from dompromise.errors import LogCorruption, LogGap
from dompromise.log import datadir
from dompromise.log.file import FileLog
from dompromise.log.frames import frame
from dompromise.log.tail import SegmentTail, read_mark


def payloads(first: int, count: int) -> list[bytes]:
    return [f"record {position}".encode() for position in range(first, first + count)]


def test_reads_only_what_the_writer_synced(tmp_path):
    log = FileLog(str(tmp_path), exclusive=True)
    log.write(payloads(1, 3))
    log.sync()
    tail = SegmentTail(str(tmp_path), 0)
    assert tail.read(100) == list(enumerate(payloads(1, 3), start=1))
    log.write(payloads(4, 2))  # written, not yet durable: not read
    assert tail.read(100) == []
    log.sync()
    assert tail.read(100) == list(enumerate(payloads(4, 2), start=4))
    assert tail.position == 5 == tail.durable_position()
    tail.close()
    log.close()


def test_reads_at_most_records_max_and_starts_after_a_position(tmp_path):
    log = FileLog(str(tmp_path), exclusive=True)
    log.write(payloads(1, 10))
    log.sync()
    tail = SegmentTail(str(tmp_path), 4)  # a snapshot covered 1..4
    assert [p for p, _ in tail.read(3)] == [5, 6, 7]
    assert [p for p, _ in tail.read(100)] == [8, 9, 10]
    tail.close()
    log.close()


def test_a_torn_frame_past_the_mark_is_waited_for_not_corruption(tmp_path):
    log = FileLog(str(tmp_path), exclusive=True)
    log.write(payloads(1, 2))
    log.sync()
    segment = os.path.join(tmp_path, "commands-00000000000000000001.log")
    whole = frame(b"the next record")
    with open(segment, "ab") as target:  # the writer mid-append: half a frame past the mark
        target.write(whole[:7])
    tail = SegmentTail(str(tmp_path), 0)
    assert [p for p, _ in tail.read(100)] == [1, 2]
    assert tail.read(100) == []
    with open(segment, "ab") as target:
        target.write(whole[7:])
    end = os.path.getsize(segment)
    datadir.SyncedMark(str(tmp_path)).write(datadir.Synced(1, end, 3))  # the writer's sync
    assert tail.read(100) == [(3, b"the next record")]
    tail.close()
    log.close()


def test_a_bad_frame_below_the_mark_is_corruption(tmp_path):
    log = FileLog(str(tmp_path), exclusive=True)
    log.write(payloads(1, 3))
    log.sync()
    segment = os.path.join(tmp_path, "commands-00000000000000000001.log")
    with open(segment, "r+b") as target:
        target.seek(os.path.getsize(segment) - 2)
        target.write(b"XX")
    tail = SegmentTail(str(tmp_path), 0)
    assert [p for p, _ in tail.read(100)] == [1, 2]
    with pytest.raises(LogCorruption, match="below the synced mark"):
        tail.read(100)
    tail.close()
    log.close()


def test_follows_rotation_and_outlives_compaction_of_its_open_segment(tmp_path):
    log = FileLog(str(tmp_path), exclusive=True)
    log.write(payloads(1, 3))
    log.sync()
    tail = SegmentTail(str(tmp_path), 0)
    assert [p for p, _ in tail.read(2)] == [1, 2]
    log.rotate()
    log.write(payloads(4, 2))
    log.sync()
    log.rotate()
    log.write(payloads(6, 1))
    log.sync()
    assert log.drop_through(3) == 1  # the open segment's name is gone; its records are still read
    assert tail.read(100) == list(enumerate(payloads(3, 4), start=3))
    assert read_mark(str(tmp_path)) == datadir.Synced(6, os.path.getsize(log._segments[-1].path), 6)
    tail.close()
    log.close()


def test_a_next_segment_compacted_away_is_a_gap(tmp_path):
    log = FileLog(str(tmp_path), exclusive=True)
    log.write(payloads(1, 2))
    log.sync()
    tail = SegmentTail(str(tmp_path), 0)
    assert [p for p, _ in tail.read(1)] == [1]
    for first in (3, 5):
        log.rotate()
        log.write(payloads(first, 2))
        log.sync()
    log.drop_through(4)  # segments 1..2 and 3..4 gone; the tail still has 1..2 open
    assert [p for p, _ in tail.read(100)] == [2]
    with pytest.raises(LogGap, match="commands-00000000000000000003.log"):
        tail.read(100)
    with pytest.raises(LogGap, match="starts at 5"):
        SegmentTail(str(tmp_path), 2)
    assert [p for p, _ in SegmentTail(str(tmp_path), 4).read(100)] == [5, 6]
    tail.close()
    log.close()


def test_without_a_mark_whole_frames_are_read_and_a_torn_one_waited_for(tmp_path):
    log = FileLog(str(tmp_path), exclusive=True)
    log.write(payloads(1, 2))
    log.close()  # written, never synced: no mark (a log from before the mark had none either)
    assert read_mark(str(tmp_path)) is None
    segment = os.path.join(tmp_path, "commands-00000000000000000001.log")
    with open(segment, "ab") as target:
        target.write(frame(b"third")[:5])
    tail = SegmentTail(str(tmp_path), 0)
    assert [p for p, _ in tail.read(100)] == [1, 2]
    assert tail.read(100) == []
    tail.close()


def test_a_torn_mark_reads_as_none_without_noise(tmp_path, caplog):
    with open(os.path.join(tmp_path, datadir.SYNCED_FILE), "wb") as target:
        target.write(b"\x01" * datadir.SYNCED.size)
    assert read_mark(str(tmp_path)) is None
    assert not caplog.records
