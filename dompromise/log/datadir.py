"""The data directory's own files beside the segments: its owner's lock, the synced mark, stale temporaries.

- `LOCK`: one process owns a data directory (serve, log repair). It holds an exclusive `flock` on this
  file, taken before anything else in the directory is read, and writes its pid into it. The kernel drops
  the lock when the process dies, SIGKILL included; a second process is refused at once with
  `data dir X is in use by pid N`.
- `synced`: where the log was last made durable (segment, end offset, last position), rewritten after
  every fdatasync by a plain write (no fsync of its own: it is written only after the log's fdatasync
  returned, so what it says is never ahead of the disk). On open, a log that ends before it lost synced,
  acknowledged records: that is corruption, never a torn tail.
- `*.tmp`: a crash while a snapshot or the log id was written leaves one; they are removed at start.
"""

from __future__ import annotations

import fcntl
import glob
import logging
import os
import struct
import zlib
from dataclasses import dataclass

from dompromise.errors import DataDirInUse

LOCK_FILE = "LOCK"
SYNCED_FILE = "synced"
SYNCED = struct.Struct("<qqqI")  # segment first position, synced end offset, synced last position, CRC-32

log = logging.getLogger(__name__)


class DataDirLock:
    """The exclusive lock on a data directory, held until `release` or the process's end."""

    def __init__(self, directory: str):
        os.makedirs(directory, exist_ok=True)
        self.directory = directory
        self._fd = os.open(os.path.join(directory, LOCK_FILE), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.pread(self._fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(self._fd)
            raise DataDirInUse(f"data dir {directory} is in use by pid {owner}") from None
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, f"{os.getpid()}\n".encode(), 0)

    def release(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)  # closing the last descriptor drops the flock
            self._fd = -1


def remove_stale_temporaries(directory: str) -> list[str]:
    """Deletes `*.tmp` files a crash left (a half-written snapshot or log id); logs them once."""
    stale = sorted(glob.glob(os.path.join(directory, "*.tmp")))
    for path in stale:
        os.remove(path)
    if stale:
        names = ", ".join(map(os.path.basename, stale))
        log.warning("removed %d temporary file(s) a crash left: %s", len(stale), names)
    return stale


@dataclass(frozen=True)
class Synced:
    """Where the log was last made durable."""

    segment_first_position: int
    end_offset: int
    last_position: int


def read_synced(directory: str) -> Synced | None:
    """The synced mark, or None if there is none (a log from before it) or it is torn."""
    try:
        with open(os.path.join(directory, SYNCED_FILE), "rb") as source:
            data = source.read(SYNCED.size)
    except FileNotFoundError:
        return None
    if len(data) != SYNCED.size:
        return None
    first, end, last, crc = SYNCED.unpack(data)
    if zlib.crc32(data[:-4]) != crc:
        log.warning("%s is damaged; the synced position is not checked", SYNCED_FILE)
        return None
    return Synced(first, end, last)


class SyncedMark:
    """Writes the synced mark in place (one small pwrite, no fsync: see the module's doc)."""

    def __init__(self, directory: str):
        self._fd = os.open(os.path.join(directory, SYNCED_FILE), os.O_RDWR | os.O_CREAT, 0o644)

    def write(self, mark: Synced) -> None:
        body = struct.pack("<qqq", mark.segment_first_position, mark.end_offset, mark.last_position)
        os.pwrite(self._fd, body + struct.pack("<I", zlib.crc32(body)), 0)

    def close(self) -> None:
        os.close(self._fd)


def write_synced(directory: str, mark: Synced) -> None:
    """Writes the mark durably (repair and backup: the directory is not being served)."""
    writer = SyncedMark(directory)
    try:
        writer.write(mark)
        os.fsync(writer._fd)
    finally:
        writer.close()
