"""`dompromise backup --data-dir D OUT`: a consistent copy of a data directory, taken while it is served.

Segments are append-only and a snapshot file never changes once renamed into place, so a copy needs no pause:

1. the synced mark is read first: everything it names is durable, so the copy (taken after) holds at least
   that much, and the copy's own mark (the same one) never claims more than the copy has;
2. the newest snapshot that reads back whole is copied, then checked again as copied;
3. every segment from the one holding the position after the snapshot is copied up to its length now. The
   newest may end in a half-written frame: that is a torn tail past the mark, cut when the copy is opened.

The server keeps the segments after its older kept snapshot, so those the copy needs stay while it runs; if
one is compacted away meanwhile all the same (two snapshots during one backup), the copy starts again.
Restoring is stopping the server and starting it on the copy (docs/operations.md).
"""

from __future__ import annotations

import os
import shutil

import dompromise.log.datadir as datadir
import dompromise.log.snapshot as snapshot
from dompromise.errors import LogCorruption
from dompromise.log.examine import first_position_of, segment_paths
from dompromise.log.file import LOG_ID_FILE, fsync_directory

# Copies started again when the server compacted away a file the copy needed, before giving up.
BACKUP_ATTEMPTS_MAX = 5
COPY_CHUNK_BYTES = 1 << 20


def backup(source: str, output: str) -> str:
    """Copies the data directory `source` into `output` (new or empty); returns a one-line summary."""
    if not os.path.isdir(source):
        raise LogCorruption(f"{source} is not a data directory")
    if os.path.exists(output) and os.listdir(output):
        raise OSError(f"{output} is not empty: a backup goes into a new directory")
    for _ in range(BACKUP_ATTEMPTS_MAX):
        os.makedirs(output, exist_ok=True)
        try:
            return _copy(source, output)
        except FileNotFoundError:
            shutil.rmtree(output)  # compacted away under us: start again
    raise OSError(f"{source} changed under {BACKUP_ATTEMPTS_MAX} copies in a row (snapshots too frequent?)")


def _copy(source: str, output: str) -> str:
    synced = datadir.read_synced(source)
    position = _copy_snapshot(source, output)
    paths = segment_paths(source)
    start = max((i for i, p in enumerate(paths) if first_position_of(p) <= position + 1), default=0)
    if paths and first_position_of(paths[start]) > position + 1:
        raise LogCorruption(
            f"{source}: the log starts at {first_position_of(paths[start])} but no usable snapshot covers the "
            "positions before it; run `dompromise log verify` on it"
        )
    copied = 0
    for path in paths[start:]:
        copied += _copy_file(path, os.path.join(output, os.path.basename(path)))
    if os.path.exists(os.path.join(source, LOG_ID_FILE)):
        _copy_file(os.path.join(source, LOG_ID_FILE), os.path.join(output, LOG_ID_FILE))
    if synced is not None:
        datadir.write_synced(output, synced)
    fsync_directory(output)
    return (
        f"backup of {source} in {output}: snapshot at {position or 'none'}, {len(paths) - start} segment(s), "
        f"{copied:,} log bytes; verify it with `dompromise log verify {output}`"
    )


def _copy_snapshot(source: str, output: str) -> int:
    """Copies the newest snapshot that reads back whole (as copied); returns its position (0: none)."""
    for path in reversed(snapshot.snapshot_paths(source)):
        if snapshot.check_snapshot(path):
            continue
        target = os.path.join(output, os.path.basename(path))
        try:
            _copy_file(path, target + ".tmp")
        except FileNotFoundError:
            continue  # pruned meanwhile: an older one, or a newer one next time
        if snapshot.check_snapshot(target + ".tmp"):
            os.remove(target + ".tmp")
            continue
        os.replace(target + ".tmp", target)
        return snapshot.position_of(path)
    return 0


def _copy_file(path: str, target: str) -> int:
    """Copies what `path` holds now, durably; returns the bytes copied."""
    copied = 0
    with open(path, "rb") as reader, open(target, "wb") as writer:
        while chunk := reader.read(COPY_CHUNK_BYTES):
            writer.write(chunk)
            copied += len(chunk)
        writer.flush()
        os.fsync(writer.fileno())
    return copied
