"""A data directory's log read as a whole, without changing it: what is good, what is a torn tail, what is lost.

`examine(directory)` scans every segment (frames.py) and sets what it finds against what positions must be
there: segments are dense (each starts where the one before ends) and the synced mark (datadir.py) says how
far the log was durable. The verdict:

- a torn tail: bad bytes at the end of the newest segment, after everything synced, with no good frame after
  them: a crash mid-write. Cut on open (file.py), as always.
- losses: everything else that is bad: a damaged stretch with good frames after it, one in an older segment,
  a gap, synced records missing (a truncated or deleted newest segment), a segment after the synced one that
  holds records (a copy). The log refuses to open; `dompromise log repair --accept-loss` (verify.py) keeps
  every good record and stands in for exactly the lost positions.
"""

from __future__ import annotations

import glob
import os
import re
from dataclasses import dataclass, field

import dompromise.log.datadir as datadir
from dompromise.errors import FormatTooNew, LogCorruption
from dompromise.log.frames import MAGIC, SEGMENT_FORMAT_VERSION, SegmentScan, header_version, payload_at, scan_segment

SEGMENT_PATTERN = re.compile(r"commands-(\d{20})\.log$")


def segment_name(first_position: int) -> str:
    return f"commands-{first_position:020d}.log"


def segment_paths(directory: str) -> list[str]:
    """Segment files, oldest first."""
    return sorted(p for p in glob.glob(os.path.join(directory, "commands-*.log")) if SEGMENT_PATTERN.search(p))


def first_position_of(path: str) -> int:
    match = SEGMENT_PATTERN.search(path)
    assert match is not None, path  # segment_paths lists only names that match
    return int(match.group(1))


@dataclass
class Segment:
    path: str
    first_position: int
    data: bytes  # the file's bytes, kept only when it is damaged (b"" otherwise: segments run to 256 MiB)
    scan: SegmentScan
    size: int
    last_payload: bytes  # its last good record (repair takes the log's time from it)
    torn_header: bool = False  # a crash while the header itself was written: nothing was logged here

    @property
    def name(self) -> str:
        return os.path.basename(self.path)


@dataclass(frozen=True)
class Loss:
    """Positions the log should hold and cannot give back: `count` None when it cannot be told."""

    segment: str
    offset: int
    reason: str
    first_position: int
    count: int | None

    def positions(self) -> str:
        if self.count is None:
            return f"positions from {self.first_position} (how many cannot be told)"
        if self.count == 1:
            return f"position {self.first_position}"
        return f"positions {self.first_position}-{self.first_position + self.count - 1}"

    def describe(self) -> str:
        return f"{self.segment} byte {self.offset}: {self.reason}; {self.positions()} affected"


@dataclass
class Examination:
    directory: str
    segments: list[Segment] = field(default_factory=list)
    losses: list[Loss] = field(default_factory=list)
    torn_tail: tuple[Segment, int, str] | None = None  # (segment, offset, reason): cut on open
    extra_segments: list[Segment] = field(default_factory=list)  # after the synced one, holding records
    synced: datadir.Synced | None = None

    def refusal(self) -> str:
        """The one message a refused start prints: what, where, which positions, and the way out."""
        lines = [f"the command log in {self.directory} is damaged (not a torn tail):"]
        lines += [f"  {loss.describe()}" for loss in self.losses]
        lines += [
            f"  {s.name}: holds records after the last synced segment (a copied file?)" for s in self.extra_segments
        ]
        lines.append(
            f"check it with `dompromise log verify --data-dir {self.directory}`; to start anyway, keeping every "
            f"good record and losing exactly the positions above: "
            f"`dompromise log repair --accept-loss --data-dir {self.directory}` (see docs/operations.md)"
        )
        return "\n".join(lines)


def read_segment(path: str, is_last: bool) -> Segment:
    with open(path, "rb") as source:
        data = source.read()
    first = first_position_of(path)
    version = header_version(data)
    if version is None:
        if is_last and len(data) < len(MAGIC) and MAGIC.startswith(data):
            return Segment(path, first, data, SegmentScan(), len(data), b"", torn_header=True)
        raise LogCorruption(f"{path} is not a dompromise log (bad header)")
    if version > SEGMENT_FORMAT_VERSION:
        raise FormatTooNew(
            f"{path} has log format version {version}; this release reads version {SEGMENT_FORMAT_VERSION} "
            "and older: run the release that wrote it (or a newer one)"
        )
    scan = scan_segment(data)
    last = payload_at(data, scan.offsets[-1]) if scan.offsets else b""
    return Segment(path, first, data if scan.damages else b"", scan, len(data), last)


def examine(directory: str) -> Examination:
    """Reads the log in `directory` and judges it (nothing is changed)."""
    found = Examination(directory, synced=datadir.read_synced(directory))
    paths = segment_paths(directory)
    for index, path in enumerate(paths):
        found.segments.append(read_segment(path, is_last=index == len(paths) - 1))
    synced = found.synced
    if synced is not None:
        # Segments after the synced one: an empty one is a rotation a crash interrupted; one with records was
        # never written by this log (its records would come after everything it made durable).
        while found.segments and found.segments[-1].first_position > synced.segment_first_position:
            extra = found.segments.pop()
            if extra.scan.offsets or extra.scan.damages:
                found.extra_segments.insert(0, extra)
    for index, segment in enumerate(found.segments):
        following = found.segments[index + 1].first_position if index + 1 < len(found.segments) else None
        _judge(found, segment, following)
    return found


def _judge(found: Examination, segment: Segment, following: int | None) -> None:
    """Adds `segment`'s losses (or its torn tail) to `found`; `following` is the next segment's first position."""
    damages = segment.scan.damages
    cut = _torn_from(found, segment, following)
    if cut is not None:
        found.torn_tail = (segment, damages[cut].offset, damages[cut].reason)
        damages = damages[:cut]
    good = len(segment.scan.offsets) if cut is None else segment.scan.damages[cut].good_before
    known = good + sum(d.record_count or 0 for d in damages)
    synced = found.synced
    if following is not None:
        missing = following - segment.first_position - known  # a closed segment holds exactly its positions
        if missing < 0:
            raise LogCorruption(
                f"{segment.name} holds {known} records but the next segment starts at {following}: overlapping "
                "segments (a copied file?); move the copy out of the directory"
            )
    elif synced is not None and synced.last_position >= segment.first_position:
        missing = max(synced.last_position - segment.first_position + 1 - known, 0)  # at least what was synced
    else:
        missing = 0
    unknown = [d for d in damages if d.record_count is None]
    for damage in damages:
        count = damage.record_count
        if count is None:  # one stretch of unknown size takes what is missing; several cannot be told apart
            count = missing if len(unknown) == 1 and missing > 0 else None
        found.losses.append(_loss(segment, damage.offset, damage.reason, damage.good_before, count))
    if not unknown and missing > 0:
        reason = "synced records missing (cut short or deleted)"
        found.losses.append(_loss(segment, segment.size, reason, known, missing))


def _torn_from(found: Examination, segment: Segment, following: int | None) -> int | None:
    """Index of the first damage that starts a torn tail (cut on open), or None.

    Only the newest segment has one, and only past what was synced: there, good frames after a bad one were
    never acknowledged either (pages of one unsynced write can reach the disk out of order), so the cut
    loses nothing a client was told. Without a synced mark (a log from before it), only a bad last frame
    with nothing good after it is a torn tail.
    """
    if following is not None or not segment.scan.damages:
        return None
    synced = found.synced
    if synced is None:
        return len(segment.scan.damages) - 1 if segment.scan.tail is not None else None
    if synced.segment_first_position != segment.first_position:
        return None  # the synced segment is missing: this one was closed
    for index, damage in enumerate(segment.scan.damages):
        if damage.offset >= synced.end_offset:
            return index
    return None


def _loss(segment: Segment, offset: int, reason: str, index: int, count: int | None) -> Loss:
    return Loss(segment.name, offset, reason, segment.first_position + index, count)
