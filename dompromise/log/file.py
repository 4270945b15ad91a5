"""The file log: the embedded default, no server needed.

One append-only file `commands.log` in the data directory:

    header  b"DPLOG\\x00\\x01\\n" (8 bytes: magic and format version 1)
    record  u32 little-endian payload length | u32 CRC-32 of the payload | payload

Writes go to the page cache; `sync` fdatasyncs, so a writer is answered only
once its record is on disk, and one fdatasync covers every record written
since the last (group commit). On open, records are read back until the
first incomplete or corrupt one: a torn tail from a crash mid-write. The file
is cut there (the bad bytes are kept beside it in `commands.log.corrupt-N`
for inspection) and the log says where it stopped.
"""

from __future__ import annotations

import logging
import os
import struct
import zlib
from collections.abc import Iterator, Sequence

MAGIC = b"DPLOG\x00\x01\n"
FRAME = struct.Struct("<II")
LOG_NAME = "commands.log"
# A record larger than this is corruption, not data (the service caps messages lower).
RECORD_BYTES_MAX = 64 * 1024 * 1024

log = logging.getLogger(__name__)


class LogCorruption(Exception):
    """The log file is not a dompromise log at all (bad header)."""


class FileLog:
    """An append-only, CRC-framed, fdatasync'ed command log in a directory."""

    def __init__(self, directory: str):
        os.makedirs(directory, exist_ok=True)
        self.path = os.path.join(directory, LOG_NAME)
        self.recovery_note = ""
        self.sync_count = 0  # fdatasyncs done: records / syncs is the group-commit factor
        self._offsets: list[int] = []  # byte offset of each record's frame, by position - 1
        self._end = self._open_and_recover()

    # ---- recovery ---------------------------------------------------------

    def _open_and_recover(self) -> int:
        exists = os.path.exists(self.path)
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        if not exists or os.fstat(self._fd).st_size == 0:
            os.write(self._fd, MAGIC)
            os.fsync(self._fd)
            _fsync_directory(os.path.dirname(self.path))
            return len(MAGIC)
        with open(self.path, "rb") as source:
            data = source.read()
        if not data.startswith(MAGIC):
            if len(data) < len(MAGIC) and MAGIC.startswith(data):
                # A crash while the header itself was written: nothing was ever logged.
                os.ftruncate(self._fd, 0)
                os.pwrite(self._fd, MAGIC, 0)
                os.fsync(self._fd)
                return len(MAGIC)
            raise LogCorruption(f"{self.path} is not a dompromise log (bad header)")
        offset, reason = self._scan(data)
        if offset < len(data):
            return self._cut(offset, data, reason)
        return offset

    def _scan(self, data: bytes) -> tuple[int, str]:
        """Indexes every good record; returns where the good part ends and why."""
        offset = len(MAGIC)
        while offset < len(data):
            if offset + FRAME.size > len(data):
                return offset, "incomplete frame header"
            length, crc = FRAME.unpack_from(data, offset)
            if length > RECORD_BYTES_MAX:
                return offset, f"frame length {length} over {RECORD_BYTES_MAX}"
            start = offset + FRAME.size
            if start + length > len(data):
                return offset, "incomplete record"
            if zlib.crc32(data[start:start + length]) != crc:
                return offset, "CRC mismatch"
            self._offsets.append(offset)
            offset = start + length
        return offset, ""

    def _cut(self, offset: int, data: bytes, reason: str) -> int:
        kept = 0
        while os.path.exists(f"{self.path}.corrupt-{kept}"):
            kept += 1
        with open(f"{self.path}.corrupt-{kept}", "wb") as aside:
            aside.write(data[offset:])
        os.ftruncate(self._fd, offset)
        os.fsync(self._fd)
        self.recovery_note = (
            f"recovery stopped after record {len(self._offsets)} ({reason} at byte {offset}); "
            f"{len(data) - offset} bytes cut and kept in {self.path}.corrupt-{kept}"
        )
        log.warning("%s: %s", self.path, self.recovery_note)
        return offset

    # ---- the log interface ------------------------------------------------

    @property
    def last_position(self) -> int:
        return len(self._offsets)

    def write(self, payloads: Sequence[bytes]) -> int:
        """Appends payloads (not yet durable); returns the position of the last one."""
        frames = []
        offset = self._end
        for payload in payloads:
            assert len(payload) <= RECORD_BYTES_MAX, "record over RECORD_BYTES_MAX"
            self._offsets.append(offset)
            frames.append(FRAME.pack(len(payload), zlib.crc32(payload)))
            frames.append(payload)
            offset += FRAME.size + len(payload)
        data = b"".join(frames)
        written = os.pwrite(self._fd, data, self._end)
        while written < len(data):  # short writes are legal; finish the job
            written += os.pwrite(self._fd, data[written:], self._end + written)
        self._end = offset
        return len(self._offsets)

    def sync(self) -> None:
        """Makes every record written so far durable."""
        os.fdatasync(self._fd)
        self.sync_count += 1

    def records(self, after_position: int = 0) -> Iterator[tuple[int, bytes]]:
        """(position, payload) of every record after `after_position`, in order."""
        with open(self.path, "rb") as source:
            for index in range(after_position, len(self._offsets)):
                source.seek(self._offsets[index])
                length, _ = FRAME.unpack(source.read(FRAME.size))
                yield index + 1, source.read(length)

    def close(self) -> None:
        os.close(self._fd)


def _fsync_directory(directory: str) -> None:
    """Makes a new file's directory entry durable."""
    fd = os.open(directory or ".", os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
