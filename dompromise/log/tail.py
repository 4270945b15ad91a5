"""Follows a file log another process writes: read-only, up to what its writer made durable.

`serve --workers N` without Redis (replica/follower.py): worker 0 owns the
data directory and appends to the log (file.py); the other workers read the
same segments through a `SegmentTail`. It never takes the directory's lock
and never writes a byte there.

- **How far.** It reads up to the synced mark (datadir.py): the writer
  rewrites it after each fdatasync, so every frame below it is whole and
  good. A frame the writer is still appending lies past the mark and is not
  looked at: a torn tail is waited for, never taken for corruption. Below
  the mark a bad frame is corruption (LogCorruption). A log with no mark
  yet (one from before the mark existed) is read as far as its frames are
  whole and good, and a bad one there is waited for.
- **Rotation.** Once the mark names a later segment, the current one is
  closed (rotate syncs it first): it is read to its end and the next one
  opened by name, `commands-<next position>.log`.
- **Compaction.** The writer deletes segments a snapshot covers. The open
  segment stays readable after its name is gone; a next segment that is
  gone raises LogGap: the reader loads a newer snapshot and starts a new
  tail after it.
- **Bounded.** `read` returns at most `records_max` records and reads
  READ_CHUNK_BYTES at a time (or one record, if larger).
"""

from __future__ import annotations

import os
import struct
import zlib

import dompromise.log.datadir as datadir
from dompromise.errors import LogCorruption, LogGap
from dompromise.log.examine import segment_name, segment_paths
from dompromise.log.frames import FRAME, MAGIC, frame_problem

# Bytes read from a segment per system call (a larger record is read whole, up to RECORD_BYTES_MAX).
READ_CHUNK_BYTES = 4 * 1024 * 1024
_MARK_BODY = struct.Struct("<qqq")


def read_mark(directory: str) -> datadir.Synced | None:
    """The synced mark, or None when there is none or it reads torn (the writer mid-rewrite: read it again
    at the next turn). Never logs: a torn read here is a race, not damage."""
    try:
        with open(os.path.join(directory, datadir.SYNCED_FILE), "rb") as source:
            data = source.read(datadir.SYNCED.size)
    except FileNotFoundError:
        return None
    if len(data) != datadir.SYNCED.size:
        return None
    first, end, last, crc = datadir.SYNCED.unpack(data)
    if zlib.crc32(data[:-4]) != crc:
        return None
    return datadir.Synced(first, end, last)


class SegmentTail:
    """The records of a directory's file log after `after_position`, as its writer makes them durable."""

    def __init__(self, directory: str, after_position: int):
        self.directory = directory
        self.position = after_position  # the last record returned (or skipped: at or before the start)
        self._fd = -1
        self._segment_first = 0  # first position of the open segment
        self._offset = 0  # where the next frame of the open segment starts
        self._next_in_segment = 0  # the position of that frame
        self._open_first_segment()

    def _open_first_segment(self) -> None:
        """Opens the segment holding position + 1 (or the one it will be appended to)."""
        paths = segment_paths(self.directory)
        if not paths:
            raise LogGap(f"{self.directory} holds no log segment")
        firsts = [_first_position(path) for path in paths]
        wanted = self.position + 1
        holding = [first for first in firsts if first <= wanted]
        if not holding:
            raise LogGap(f"the log in {self.directory} starts at {firsts[0]}, after position {wanted}")
        self._open(holding[-1])

    def _open(self, first_position: int) -> None:
        path = os.path.join(self.directory, segment_name(first_position))
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            raise LogGap(f"segment {os.path.basename(path)} is gone (compacted below a snapshot)") from None
        if self._fd >= 0:
            os.close(self._fd)
        self._fd = fd
        self._segment_first = first_position
        self._offset = len(MAGIC)
        self._next_in_segment = first_position

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def durable_position(self) -> int:
        """The last position the writer made durable, as the mark says now (or this tail's own position)."""
        mark = read_mark(self.directory)
        return self.position if mark is None else max(mark.last_position, self.position)

    def read(self, records_max: int) -> list[tuple[int, bytes]]:
        """Up to `records_max` (position, payload) after `position`, every one of them durable."""
        assert records_max >= 1, records_max
        mark = read_mark(self.directory)
        found: list[tuple[int, bytes]] = []
        try:
            self._read_into(found, records_max, mark)
        except (LogGap, LogCorruption):
            if not found:
                raise
            # What came before the problem first; the next call meets it again (nothing moved past it).
        return found

    def _read_into(self, found: list[tuple[int, bytes]], records_max: int, mark: datadir.Synced | None) -> None:
        while len(found) < records_max:
            if mark is not None and self.position >= mark.last_position:
                break
            end = os.fstat(self._fd).st_size
            if mark is not None and mark.segment_first_position == self._segment_first:
                end = min(end, mark.end_offset)
            before = len(found)
            self._read_frames(end, records_max, found, checked=mark is not None)
            if len(found) > before:
                continue
            if self._offset < end or not self._rotated(mark):
                break  # nothing more is durable yet (or, without a mark, whole)
            self._open(self._next_in_segment)

    def _rotated(self, mark: datadir.Synced | None) -> bool:
        """Whether the open segment, read to its end, is closed: the writer appends to a later one."""
        if mark is not None:
            return mark.segment_first_position > self._segment_first
        return os.path.exists(os.path.join(self.directory, segment_name(self._next_in_segment)))

    def _read_frames(self, end: int, records_max: int, found: list[tuple[int, bytes]], checked: bool) -> None:
        """Frames from the current offset up to `end`, appended to `found` (positions after `position` only).

        checked: every byte below `end` is durable, so a bad frame is corruption; unchecked (no mark), a bad
        frame may be one being written: stop before it.
        """
        while len(found) < records_max and self._offset + FRAME.size <= end:
            length, _ = FRAME.unpack(os.pread(self._fd, FRAME.size, self._offset))
            want = min(max(READ_CHUNK_BYTES, FRAME.size + length), end - self._offset)
            data = os.pread(self._fd, want, self._offset)
            used = self._parse(data, records_max, found)
            if used == 0:
                if checked:
                    problem = frame_problem(data, 0)
                    raise LogCorruption(
                        f"{segment_name(self._segment_first)} byte {self._offset}: {problem} below the synced mark"
                    )
                return  # not whole yet: the writer is appending it
            self._offset += used

    def _parse(self, data: bytes, records_max: int, found: list[tuple[int, bytes]]) -> int:
        """Appends the good frames at the start of `data` to `found`; returns the bytes they took."""
        used = 0
        while len(found) < records_max and used + FRAME.size <= len(data) and not frame_problem(data, used):
            length, _ = FRAME.unpack_from(data, used)
            begin = used + FRAME.size
            position = self._next_in_segment
            if position > self.position:
                found.append((position, data[begin : begin + length]))
                self.position = position
            self._next_in_segment += 1
            used = begin + length
        return used


def _first_position(path: str) -> int:
    name = os.path.basename(path)
    return int(name[len("commands-") : -len(".log")])
