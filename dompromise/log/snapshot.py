"""Snapshot files: the whole state at a log position, so start-up replays only the tail.

`snapshot-<position, 20 digits>.npz` in the data directory: numpy's zip of
the core's arrays plus `meta`, a JSON document (format version, position,
network fingerprint, the engine's reservation book). Zip members carry a
CRC-32 that numpy checks on load, so a damaged snapshot is detected and the
next older one is used instead. Written to a temporary name, fsynced, then
renamed: a crash never leaves a half snapshot under the real name.
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
    os.replace(temporary, path)
    fsync_directory(directory)
    for old in snapshot_paths(directory)[:-SNAPSHOTS_KEPT]:
        os.remove(old)
    return path


def snapshot_paths(directory: str) -> list[str]:
    """Snapshot files, oldest first."""
    return sorted(p for p in glob.glob(os.path.join(directory, "snapshot-*.npz")) if SNAPSHOT_PATTERN.search(p))


def load_latest(directory: str) -> tuple[dict[str, Any], dict[str, np.ndarray]] | None:
    """(meta, arrays) of the newest readable snapshot, or None if there is none."""
    for path in reversed(snapshot_paths(directory)):
        try:
            with np.load(path, allow_pickle=False) as archive:
                arrays = {name: archive[name] for name in archive.files}
            meta = json.loads(arrays.pop("meta").tobytes())
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
            log.warning("snapshot %s unreadable (%s); trying an older one", os.path.basename(path), error)
            continue
        if meta.get("format_version") != FORMAT_VERSION:
            log.warning("snapshot %s has format %s, not %s; skipped", path, meta.get("format_version"), FORMAT_VERSION)
            continue
        return meta, arrays
    return None
