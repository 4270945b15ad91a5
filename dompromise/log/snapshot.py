"""Snapshot files: the whole state at a log position, so start-up replays only the tail.

`snapshot-<position, 20 digits>.npz` in the data directory: numpy's zip of
the core's arrays plus `meta`, a JSON document (format version, position,
network fingerprint, the engine's reservation book). Zip members carry a
CRC-32 that numpy checks on load, so a damaged snapshot is detected and the
next older one is used instead. Written to a temporary name, fsynced, read
back whole (every member's CRC), then renamed: a crash never leaves a half
snapshot under the real name, and a snapshot that does not read back is never
kept (nor are older ones pruned for it). A `.tmp` a crash left is removed at
the next start (datadir.py).

`format_version` in meta is the snapshot format (FORMAT_VERSION): an older
one is skipped (the log before it is replayed instead, if it is still there),
a newer one refuses to start (FormatTooNew): this release cannot read it.
"""

from __future__ import annotations

import glob
import json
import logging
import os
import re
import zipfile
from typing import Any

import numpy as np

from dompromise.errors import FormatTooNew
from dompromise.log.file import fsync_directory

FORMAT_VERSION = 3  # 2: the reservation book as arrays, not JSON; 3: future supply, backorders
SNAPSHOT_PATTERN = re.compile(r"snapshot-(\d{20})\.npz$")
# Snapshots kept after a new one is written (the newest, and one to fall back on).
SNAPSHOTS_KEPT = 2

log = logging.getLogger(__name__)


def snapshot_name(position: int) -> str:
    return f"snapshot-{position:020d}.npz"


def write_snapshot(directory: str, position: int, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> str:
    """Writes a snapshot durably and returns its path; older ones beyond SNAPSHOTS_KEPT are removed."""
    assert "meta" not in arrays, "'meta' is reserved"
    document = dict(meta, format_version=FORMAT_VERSION, position=position)
    path = os.path.join(directory, snapshot_name(position))
    temporary = path + ".tmp"
    # Any: numpy's stub checks a **mapping's values against savez's allow_pickle flag too.
    members: dict[str, Any] = {"meta": np.frombuffer(json.dumps(document).encode(), dtype=np.uint8), **arrays}
    with open(temporary, "wb") as target:
        np.savez(target, **members)
        target.flush()
        os.fsync(target.fileno())
    problem = check_snapshot(temporary)
    if problem:
        os.remove(temporary)
        raise OSError(f"snapshot at {position} does not read back: {problem}")
    os.replace(temporary, path)
    fsync_directory(directory)
    for old in snapshot_paths(directory)[:-SNAPSHOTS_KEPT]:
        os.remove(old)
    return path


def snapshot_paths(directory: str) -> list[str]:
    """Snapshot files, oldest first."""
    return sorted(p for p in glob.glob(os.path.join(directory, "snapshot-*.npz")) if SNAPSHOT_PATTERN.search(p))


def position_of(path: str) -> int:
    match = SNAPSHOT_PATTERN.search(path)
    assert match is not None, path  # snapshot_paths lists only names that match
    return int(match.group(1))


def check_snapshot(path: str) -> str:
    """'' if the snapshot at `path` reads back whole (every member's CRC, meta, a format this release reads);
    else what is wrong with it."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            members = {name: archive[name] for name in archive.files}
        meta = json.loads(members["meta"].tobytes())
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
        return f"unreadable: {error}"
    if not isinstance(meta, dict):
        return "meta is not a JSON object"
    if meta.get("format_version") != FORMAT_VERSION:
        return f"format {meta.get('format_version')}, this release reads {FORMAT_VERSION}"
    return ""


def load_latest(directory: str) -> tuple[dict[str, Any], dict[str, np.ndarray]] | None:
    """(meta, arrays) of the newest readable snapshot, or None if there is none."""
    for path in reversed(snapshot_paths(directory)):
        try:
            with np.load(path, allow_pickle=False) as archive:
                arrays = {name: archive[name] for name in archive.files}
            meta = json.loads(arrays.pop("meta").tobytes())
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
            log.warning("snapshot %s unreadable (%s); trying an older one", os.path.basename(path), error)
            continue
        found_version = meta.get("format_version") if isinstance(meta, dict) else None
        if isinstance(found_version, int) and found_version > FORMAT_VERSION:
            raise FormatTooNew(
                f"snapshot {os.path.basename(path)} has format version {found_version}; this release reads "
                f"{FORMAT_VERSION} and older: run the release that wrote it (or a newer one)"
            )
        if found_version != FORMAT_VERSION:
            log.warning("snapshot %s has format %s, not %s; skipped", path, meta.get("format_version"), FORMAT_VERSION)
            continue
        return meta, arrays
    return None
