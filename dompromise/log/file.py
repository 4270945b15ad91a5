"""The file log: the embedded default, no server needed.

Segments `commands-<first position, 20 digits>.log` in the data directory,
each an append-only file:

    header  b"DPLOG\\x00\\x01\\n" (8 bytes: magic and format version 1)
    record  u32 little-endian payload length | u32 CRC-32 of length and payload | payload

A record is never empty, and its CRC covers its length: the zeros a crash can
leave at the end of a file are not read as records.

Positions run on across segments. Writes go to the page cache; `sync`
fdatasyncs, so a writer is answered only once its record is on disk, and one
fdatasync covers every record written since the last (group commit).

On open, the last segment is read back until the first incomplete or corrupt
record: a torn tail from a crash mid-write. It is cut there (the bad bytes
are kept beside it as `<segment>.corrupt-N` for inspection) and
`recovery_note` says where it stopped. A bad record in an earlier segment,
or a gap between segments, is not a torn tail: the log refuses to open.

`rotate` starts a new segment; `drop_through(p)` deletes whole segments at or
below position p once a snapshot covers them (compaction).

`log-id` in the directory holds the log's identity (`log_id`), random, written
when the directory first gets a log and kept for its life: positions from a
log that was wiped and started again are told apart from this one's.
"""

from __future__ import annotations

import glob
import logging
import os
import re
import secrets
import struct
import zlib
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from dompromise.errors import LogCorruption

MAGIC = b"DPLOG\x00\x01\n"
FRAME = struct.Struct("<II")
SEGMENT_PATTERN = re.compile(r"commands-(\d{20})\.log$")
# A record larger than this is corruption, not data (the service caps messages lower).
RECORD_BYTES_MAX = 64 * 1024 * 1024
# A segment this large is closed and a new one started, so replay and
# compaction work on bounded files even when snapshots are rare.
SEGMENT_BYTES_MAX = 256 * 1024 * 1024
LOG_ID_FILE = "log-id"
LOG_ID_PATTERN = re.compile(r"[0-9a-f]{16}")

log = logging.getLogger(__name__)


@dataclass
class _Segment:
    path: str
    first_position: int
    offsets: array[int] = field(default_factory=lambda: array("q"))  # frame offset of each record

    @property
    def last_position(self) -> int:
        return self.first_position + len(self.offsets) - 1


def segment_name(first_position: int) -> str:
    return f"commands-{first_position:020d}.log"


class FileLog:
    """An append-only, CRC-framed, fdatasync'ed, segmented command log in a directory."""

    def __init__(self, directory: str):
        os.makedirs(directory, exist_ok=True)
        self.directory = directory
        self.recovery_note = ""
        self.sync_count = 0  # fdatasyncs done: records / syncs is the group-commit factor
        self._segments = self._open_segments()
        if not self._segments:
            self._segments = [self._new_segment(1)]
        self._fd = os.open(self._segments[-1].path, os.O_RDWR)
        self._end = os.fstat(self._fd).st_size
        self.log_id = self._read_or_create_log_id()

    # ---- recovery ---------------------------------------------------------

    def _open_segments(self) -> list[_Segment]:
        paths = sorted(
            p for p in glob.glob(os.path.join(self.directory, "commands-*.log")) if SEGMENT_PATTERN.search(p)
        )
        segments: list[_Segment] = []
        for index, path in enumerate(paths):
            match = SEGMENT_PATTERN.search(path)
            assert match is not None, path  # listed only if it matches
            first = int(match.group(1))
            segment = _Segment(path, first)
            if segments and first != segments[-1].last_position + 1:
                raise LogCorruption(
                    f"gap in the log: {os.path.basename(path)} starts at {first}, "
                    f"the segment before ends at {segments[-1].last_position}"
                )
            self._recover_segment(segment, is_last=index == len(paths) - 1)
            segments.append(segment)
        return segments

    def _recover_segment(self, segment: _Segment, is_last: bool) -> None:
        with open(segment.path, "rb") as source:
            data = source.read()
        if not data.startswith(MAGIC):
            if is_last and len(data) < len(MAGIC) and MAGIC.startswith(data):
                # A crash while the header itself was written: nothing was logged here.
                self._rewrite_header(segment.path)
                return
            raise LogCorruption(f"{segment.path} is not a dompromise log (bad header)")
        offset, reason = _scan(data, segment.offsets)
        if offset == len(data):
            return
        if not is_last:
            raise LogCorruption(f"{segment.path}: {reason} at byte {offset}, before the last segment")
        self._cut(segment, offset, data, reason)

    def _cut(self, segment: _Segment, offset: int, data: bytes, reason: str) -> None:
        kept = 0
        while os.path.exists(f"{segment.path}.corrupt-{kept}"):
            kept += 1
        with open(f"{segment.path}.corrupt-{kept}", "wb") as aside:
            aside.write(data[offset:])
        with open(segment.path, "r+b") as target:
            target.truncate(offset)
            os.fsync(target.fileno())
        self.recovery_note = (
            f"recovery stopped after record {segment.last_position} ({reason} at byte {offset} of "
            f"{os.path.basename(segment.path)}); {len(data) - offset} bytes cut and kept in "
            f"{os.path.basename(segment.path)}.corrupt-{kept}"
        )
        log.warning("%s", self.recovery_note)

    def _read_or_create_log_id(self) -> str:
        """The directory's log identity; a new one (durably written) if it has none yet.

        A log older than the identity file gets one on its first open after: its
        positions were never handed out with an identity, so none is contradicted.
        """
        path = os.path.join(self.directory, LOG_ID_FILE)
        try:
            with open(path) as source:
                text = source.read().strip()
        except FileNotFoundError:
            text = None
        if text is not None:
            if not LOG_ID_PATTERN.fullmatch(text):
                raise LogCorruption(f"{path} does not hold a log id: {text[:40]!r}")
            return text
        log_id = secrets.token_hex(8)
        with open(path + ".tmp", "w") as target:
            target.write(log_id + "\n")
            target.flush()
            os.fsync(target.fileno())
        os.replace(path + ".tmp", path)
        fsync_directory(self.directory)
        return log_id

    @staticmethod
    def _rewrite_header(path: str) -> None:
        with open(path, "wb") as target:
            target.write(MAGIC)
            os.fsync(target.fileno())

    def _new_segment(self, first_position: int) -> _Segment:
        path = os.path.join(self.directory, segment_name(first_position))
        self._rewrite_header(path)
        fsync_directory(self.directory)
        return _Segment(path, first_position)

    # ---- the log interface ------------------------------------------------

    @property
    def first_position(self) -> int:
        """The oldest position still in the log (1 until compaction drops a prefix)."""
        return self._segments[0].first_position

    @property
    def last_position(self) -> int:
        return self._segments[-1].last_position

    def write(self, payloads: Sequence[bytes]) -> int:
        """Appends payloads (not yet durable); returns the position of the last one."""
        if self._end >= SEGMENT_BYTES_MAX:
            self.rotate()
        offsets = self._segments[-1].offsets
        frames = []
        offset = self._end
        for payload in payloads:
            assert len(payload) <= RECORD_BYTES_MAX, "record over RECORD_BYTES_MAX"
            offsets.append(offset)
            assert payload, "records are never empty"
            frames.append(FRAME.pack(len(payload), _checksum(len(payload), payload)))
            frames.append(payload)
            offset += FRAME.size + len(payload)
        data = b"".join(frames)
        written = os.pwrite(self._fd, data, self._end)
        while written < len(data):  # short writes are legal; finish the job
            written += os.pwrite(self._fd, data[written:], self._end + written)
        self._end = offset
        return self.last_position

    def sync(self) -> None:
        """Makes every record written so far durable."""
        os.fdatasync(self._fd)
        self.sync_count += 1

    def records(self, after_position: int = 0) -> Iterator[tuple[int, bytes]]:
        """(position, payload) of every record after `after_position`, in order."""
        if after_position + 1 < self.first_position:
            raise LogCorruption(
                f"records after {after_position} were compacted away (the log starts at {self.first_position})"
            )
        for segment in self._segments:
            if segment.last_position <= after_position:
                continue
            with open(segment.path, "rb") as source:
                data = source.read()
            start = max(after_position - segment.first_position + 1, 0)
            for index in range(start, len(segment.offsets)):
                length, _ = FRAME.unpack_from(data, segment.offsets[index])
                begin = segment.offsets[index] + FRAME.size
                yield segment.first_position + index, data[begin : begin + length]

    def rotate(self) -> None:
        """Starts a new segment at the next position (so older ones can be dropped whole)."""
        if not self._segments[-1].offsets:
            return  # the active segment is empty already
        self.sync()
        os.close(self._fd)
        self._segments.append(self._new_segment(self.last_position + 1))
        self._fd = os.open(self._segments[-1].path, os.O_RDWR)
        self._end = len(MAGIC)

    def drop_through(self, position: int) -> int:
        """Deletes every closed segment whose records are all at or below `position`."""
        dropped = 0
        while len(self._segments) > 1 and self._segments[0].last_position <= position:
            os.remove(self._segments.pop(0).path)
            dropped += 1
        if dropped:
            fsync_directory(self.directory)
        return dropped

    def segment_count(self) -> int:
        return len(self._segments)

    def close(self) -> None:
        os.close(self._fd)


def _scan(data: bytes, offsets: array[int]) -> tuple[int, str]:
    """Indexes every good record of a segment; returns where the good part ends and why."""
    offset = len(MAGIC)
    while offset < len(data):
        if offset + FRAME.size > len(data):
            return offset, "incomplete frame header"
        length, crc = FRAME.unpack_from(data, offset)
        if length == 0:
            return offset, "empty frame (zeros after a crash?)"
        if length > RECORD_BYTES_MAX:
            return offset, f"frame length {length} over {RECORD_BYTES_MAX}"
        start = offset + FRAME.size
        if start + length > len(data):
            return offset, "incomplete record"
        if _checksum(length, data[start : start + length]) != crc:
            return offset, "CRC mismatch"
        offsets.append(offset)
        offset = start + length
    return offset, ""


def _checksum(length: int, payload: bytes) -> int:
    return zlib.crc32(payload, zlib.crc32(length.to_bytes(4, "little")))


def fsync_directory(directory: str) -> None:
    """Makes new or removed directory entries durable."""
    fd = os.open(directory or ".", os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
