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

On open, every segment is read whole and judged (examine.py). A torn tail, a
crash mid-write, is bad bytes at the end of the newest segment, past the
synced mark (datadir.py) and, for a log without one, with no good frame
after them: it is cut (the bad bytes are kept beside it as
`<segment>.corrupt-N` for inspection) and `recovery_note` says where. Anything
else bad is corruption, never cut: a bad frame with good ones after it, one
in an older segment, a gap, synced records missing, a segment after the
synced one. The log refuses to open (LogCorruption) naming segment, offset,
the positions affected and the way out (`dompromise log repair --accept-loss`,
verify.py).

Opened `exclusive` (serve does), the log first takes the data directory's
lock (datadir.py: one owner, `data dir X is in use by pid N` for a second),
and removes `*.tmp` files a crash left.

`rotate` starts a new segment; `drop_through(p)` deletes whole segments at or
below position p once a snapshot covers them (compaction).

`log-id` in the directory holds the log's identity (`log_id`), random, written
when the directory first gets a log and kept for its life: positions from a
log that was wiped and started again are told apart from this one's.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import dompromise.log.datadir as datadir
from dompromise.errors import LogCorruption
from dompromise.log.examine import SEGMENT_PATTERN, examine, segment_name
from dompromise.log.frames import FRAME, MAGIC, RECORD_BYTES_MAX, frame

__all__ = ["MAGIC", "RECORD_BYTES_MAX", "SEGMENT_PATTERN", "FileLog", "LogCorruption", "segment_name"]

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


class FileLog:
    """An append-only, CRC-framed, fdatasync'ed, segmented command log in a directory."""

    def __init__(self, directory: str, exclusive: bool = False):
        os.makedirs(directory, exist_ok=True)
        self.directory = directory
        self._lock = datadir.DataDirLock(directory) if exclusive else None
        if exclusive:
            datadir.remove_stale_temporaries(directory)
        self.recovery_note = ""
        self.sync_count = 0  # fdatasyncs done: records / syncs is the group-commit factor
        self._segments = self._open_segments()
        if not self._segments:
            self._segments = [self._new_segment(1)]
        self._fd = os.open(self._segments[-1].path, os.O_RDWR)
        self._end = os.fstat(self._fd).st_size
        self._synced = datadir.SyncedMark(directory)
        self.log_id = self._read_or_create_log_id()

    # ---- recovery ---------------------------------------------------------

    def _open_segments(self) -> list[_Segment]:
        found = examine(self.directory)
        if found.losses or found.extra_segments:
            raise LogCorruption(found.refusal())
        segments = []
        for segment in found.segments:
            if segment.torn_header:
                self._rewrite_header(segment.path)
            kept = _Segment(segment.path, segment.first_position, segment.scan.offsets)
            if found.torn_tail is not None and found.torn_tail[0] is segment:
                _, offset, reason = found.torn_tail
                kept.offsets = array("q", (o for o in kept.offsets if o < offset))
                self._cut(kept, offset, segment.data, reason)
            segments.append(kept)
        return segments

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
            offsets.append(offset)
            frames.append(frame(payload))
            offset += FRAME.size + len(payload)
        data = b"".join(frames)
        written = os.pwrite(self._fd, data, self._end)
        while written < len(data):  # short writes are legal; finish the job
            written += os.pwrite(self._fd, data[written:], self._end + written)
        self._end = offset
        return self.last_position

    # A sync waits for the disk: the replica runs it off its event loop (replica/local.py).
    sync_blocks = True

    def sync(self) -> None:
        """Makes every record written so far durable, then says so in the synced mark."""
        mark = datadir.Synced(self._segments[-1].first_position, self._end, self.last_position)
        os.fdatasync(self._fd)
        self.sync_count += 1
        self._synced.write(mark)

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
        # The mark moves to the new segment before any record is in it: a segment after the marked one
        # that holds records was never written by this log (examine.py).
        self._synced.write(datadir.Synced(self._segments[-1].first_position, self._end, self.last_position))

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
        self._synced.close()
        if self._lock is not None:
            self._lock.release()


def fsync_directory(directory: str) -> None:
    """Makes new or removed directory entries durable."""
    fd = os.open(directory or ".", os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
