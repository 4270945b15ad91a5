"""The frames of a log segment, read as a whole: good frames, damaged stretches, and the positions they held.

A segment is `MAGIC` then frames `u32 length | u32 CRC-32 of length and payload | payload` (file.py). A
scan indexes every good frame; where a frame is bad it looks forward for the next good one (a length and a
CRC that covers it agree: 1 chance in 2**32 of a false one per candidate). So a damaged stretch in the
middle is told apart from a torn tail (a bad last frame with nothing good after it), and the frames after
the damage are kept, not thrown away with it.

How many records a damaged stretch held is known when the damaged frames' own length fields lead exactly
to the next good frame (a flipped payload or CRC byte), or from arithmetic on positions another source
knows (the next segment's first position, the synced position: datadir.py); otherwise it is unknown.
"""

from __future__ import annotations

import struct
import zlib
from array import array
from dataclasses import dataclass, field

import numpy as np

MAGIC_PREFIX = b"DPLOG\x00"
SEGMENT_FORMAT_VERSION = 1
MAGIC = MAGIC_PREFIX + bytes([SEGMENT_FORMAT_VERSION]) + b"\n"
FRAME = struct.Struct("<II")
# A record larger than this is corruption, not data (the service caps messages lower).
RECORD_BYTES_MAX = 64 * 1024 * 1024
# Bytes examined per step of the forward search (bounds its memory: ~5 arrays of this many items).
SEARCH_CHUNK_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class Damage:
    """A stretch of bad bytes in a segment: [offset, end), `end` the next good frame (-1: none after it)."""

    offset: int
    end: int
    reason: str
    good_before: int  # good frames of the segment before it: its first record's index in the segment
    record_count: int | None  # records the stretch held, when its own frame lengths tell

    @property
    def is_tail(self) -> bool:
        return self.end < 0  # set by scan_segment: nothing good after it


@dataclass
class SegmentScan:
    offsets: array[int] = field(default_factory=lambda: array("q"))  # each good frame's offset
    damages: list[Damage] = field(default_factory=list)

    @property
    def tail(self) -> Damage | None:
        """The damage with no good frame after it (a torn tail, unless positions say otherwise)."""
        return self.damages[-1] if self.damages and self.damages[-1].is_tail else None

    @property
    def inner(self) -> list[Damage]:
        """Damages followed by good frames: never a torn tail."""
        return [d for d in self.damages if not d.is_tail]


def checksum(length: int, payload: bytes | memoryview) -> int:
    return zlib.crc32(payload, zlib.crc32(length.to_bytes(4, "little")))


def header_version(data: bytes) -> int | None:
    """The format version in a segment's header, or None if it is not a dompromise log's header."""
    if len(data) < len(MAGIC) or not data.startswith(MAGIC_PREFIX) or data[len(MAGIC) - 1 : len(MAGIC)] != b"\n":
        return None
    return data[len(MAGIC_PREFIX)]


def frame_problem(data: bytes, offset: int) -> str:
    """Why the frame at `offset` is not a good one ('' if it is)."""
    if offset + FRAME.size > len(data):
        return "incomplete frame header"
    length, crc = FRAME.unpack_from(data, offset)
    if length == 0:
        return "empty frame (zeros after a crash?)"
    if length > RECORD_BYTES_MAX:
        return f"frame length {length} over {RECORD_BYTES_MAX}"
    start = offset + FRAME.size
    if start + length > len(data):
        return "incomplete record"
    if checksum(length, memoryview(data)[start : start + length]) != crc:
        return "CRC mismatch"
    return ""


def frame_end(data: bytes, offset: int) -> int:
    length, _ = FRAME.unpack_from(data, offset)
    return offset + FRAME.size + int(length)


def scan_segment(data: bytes) -> SegmentScan:
    """Every good frame after the header, and every damaged stretch between and after them."""
    scan = SegmentScan()
    offset = len(MAGIC)
    while offset < len(data):
        problem = frame_problem(data, offset)
        if not problem:
            scan.offsets.append(offset)
            offset = frame_end(data, offset)
            continue
        found = next_good_frame(data, offset)
        count = None if found is None else count_frames(data, offset, found)
        scan.damages.append(Damage(offset, -1 if found is None else found, problem, len(scan.offsets), count))
        if found is None:
            break
        offset = found
    return scan


def next_good_frame(data: bytes, bad_offset: int) -> int | None:
    """The offset of the first good frame after the bad one at `bad_offset`, or None."""
    if bad_offset + FRAME.size <= len(data):
        # A damaged payload or CRC leaves the length right: the next frame is where it says.
        length, _ = FRAME.unpack_from(data, bad_offset)
        following = bad_offset + FRAME.size + int(length)
        if 0 < length <= RECORD_BYTES_MAX and following < len(data) and not frame_problem(data, following):
            return following
    start = bad_offset + 1
    while start + FRAME.size < len(data):
        stop = min(start + SEARCH_CHUNK_BYTES, len(data) - FRAME.size)
        for candidate in _plausible_offsets(data, start, stop):
            if not frame_problem(data, candidate):
                return candidate
        start = stop
    return None


def _plausible_offsets(data: bytes, start: int, stop: int) -> list[int]:
    """Offsets in [start, stop) whose length field is non-zero and fits in the file (vectorised)."""
    window = np.frombuffer(data, dtype=np.uint8, count=stop - start + 3, offset=start).astype(np.uint32)
    lengths = window[:-3] | (window[1:-2] << 8) | (window[2:-1] << 16) | (window[3:] << 24)
    room = len(data) - FRAME.size - np.arange(start, stop, dtype=np.int64)
    fits = (lengths > 0) & (lengths.astype(np.int64) <= np.minimum(room, RECORD_BYTES_MAX))
    return [start + int(i) for i in np.flatnonzero(fits)]


def count_frames(data: bytes, offset: int, end: int) -> int | None:
    """How many frames lie in [offset, end) by their length fields alone (CRC not checked), or None if the
    lengths do not lead exactly to `end`."""
    count = 0
    while offset < end:
        if offset + FRAME.size > end:
            return None
        length, _ = FRAME.unpack_from(data, offset)
        if length == 0 or offset + FRAME.size + length > end:
            return None
        offset += FRAME.size + int(length)
        count += 1
    return count


def payload_at(data: bytes, offset: int) -> bytes:
    length, _ = FRAME.unpack_from(data, offset)
    return data[offset + FRAME.size : offset + FRAME.size + int(length)]


def frame(payload: bytes) -> bytes:
    assert payload, "records are never empty"
    assert len(payload) <= RECORD_BYTES_MAX, "record over RECORD_BYTES_MAX"
    return FRAME.pack(len(payload), checksum(len(payload), payload)) + payload
