"""`dompromise log verify` and `dompromise log repair --accept-loss`: a data directory checked and mended offline.

verify reads everything and changes nothing: segments (headers, format versions, every frame's CRC, positions
dense across segments, the synced mark), snapshots (each one load-checked: zip CRCs, meta, format version),
and whether the log still reaches back to the newest good snapshot. It takes no lock: it is safe beside a
serving process (the live tail may then show as a torn tail, which is not a failure).

repair takes the data directory's lock (so never beside a server), keeps every good record, and puts a
filler in each lost position: a Tick stamped with the time of the record before it, which changes nothing
(every record already expires what is due by its time) but keeps the positions after it where they were.
It then gives the log a new identity (`log-id`), as the Redis log does when it loses records, so positions
and ids handed out by the old history are told apart from the new one, and says what was lost: the
positions, and for each what can still be decoded of it.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import dataclass, field

from google.protobuf.message import DecodeError

import dompromise.log.datadir as datadir
import dompromise.log.snapshot as snapshot
from dompromise.errors import FormatTooNew, LogCorruption
from dompromise.internal.v1 import log_pb2
from dompromise.log.examine import Examination, Loss, Segment, examine
from dompromise.log.file import LOG_ID_FILE, LOG_ID_PATTERN, fsync_directory
from dompromise.log.frames import FRAME, MAGIC, count_frames, frame, payload_at

REPAIRS_FILE = "repairs.log"


@dataclass
class Report:
    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def render(self) -> str:
        verdict = "verified: no problem" if self.ok else f"{len(self.problems)} problem(s)"
        return "\n".join([*self.lines, *(f"PROBLEM: {p}" for p in self.problems), verdict])


def verify(directory: str) -> Report:
    """Checks the data directory at `directory` without changing it."""
    report = Report()
    if not os.path.isdir(directory):
        report.problems.append(f"{directory} is not a directory")
        return report
    good_snapshot = _verify_snapshots(directory, report)
    try:
        found = examine(directory)
    except (LogCorruption, FormatTooNew) as error:
        report.problems.append(str(error))
        return report
    except FileNotFoundError as error:  # a serving process compacted it meanwhile
        report.problems.append(f"{error.filename} went away while it was read (compacted?): run verify again")
        return report
    _verify_log(found, good_snapshot, report)
    _verify_log_id(directory, report)
    return report


def _verify_snapshots(directory: str, report: Report) -> int:
    """Load-checks every snapshot; returns the newest good one's position (0: none)."""
    newest = 0
    paths = snapshot.snapshot_paths(directory)
    for path in paths:
        problem = snapshot.check_snapshot(path)
        name = os.path.basename(path)
        if problem:
            report.lines.append(f"snapshot {name}: UNUSABLE: {problem}")
        else:
            newest = snapshot.position_of(path)
            report.lines.append(f"snapshot {name}: ok")
    if paths and not newest:
        report.problems.append("no snapshot is usable")
    return newest


def _verify_log(found: Examination, good_snapshot: int, report: Report) -> None:
    for segment in found.segments:
        records = len(segment.scan.offsets)
        report.lines.append(f"segment {segment.name}: {records} good records from position {segment.first_position}")
    for loss in found.losses:
        report.problems.append(f"{loss.describe()}{_covered(loss, good_snapshot)}")
    for extra in found.extra_segments:
        report.problems.append(f"{extra.name}: holds records after the last synced segment (a copied file?)")
    if found.torn_tail is not None:
        segment, offset, reason = found.torn_tail
        report.lines.append(
            f"torn tail in {segment.name} at byte {offset} ({reason}): never synced; cut when the log opens"
        )
    first = found.segments[0].first_position if found.segments else 1
    if first > good_snapshot + 1:
        report.problems.append(f"the log starts at {first} but no usable snapshot covers positions up to {first - 1}")
    if found.losses or found.extra_segments:
        report.lines.append(
            f"to start anyway, losing exactly the positions named: dompromise log repair --accept-loss "
            f"--data-dir {found.directory}"
        )


def _covered(loss: Loss, good_snapshot: int) -> str:
    if loss.count is not None and loss.first_position + loss.count - 1 <= good_snapshot:
        return f" (within snapshot {good_snapshot}: their effects are kept)"
    return ""


def _verify_log_id(directory: str, report: Report) -> None:
    try:
        with open(os.path.join(directory, LOG_ID_FILE)) as source:
            text = source.read().strip()
    except FileNotFoundError:
        report.lines.append("log-id: none yet (written on the next start)")
        return
    if not LOG_ID_PATTERN.fullmatch(text):
        report.problems.append(f"{LOG_ID_FILE} does not hold a log id: {text[:40]!r}")
    else:
        report.lines.append(f"log-id: {text}")


# ---- repair --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Repaired:
    log_id: str
    lost: list[str]  # one line per lost position: what it was, as far as it can be decoded
    aside: list[str]  # original files kept beside the repaired ones


def repair(directory: str) -> Repaired | None:
    """Mends the log in `directory` (see the module's doc); None if there was nothing to mend.

    Raises LogCorruption when the loss cannot be told exactly (how many positions a damaged stretch held).
    """
    lock = datadir.DataDirLock(directory)
    try:
        return _repair_locked(directory)
    finally:
        lock.release()


def _repair_locked(directory: str) -> Repaired | None:
    found = examine(directory)
    if not found.losses and not found.extra_segments:
        return None
    unknown = [loss for loss in found.losses if loss.count is None]
    if unknown:
        raise LogCorruption(
            "cannot repair: how many records these damaged stretches held cannot be told, so the positions "
            "after them would move: " + "; ".join(loss.describe() for loss in unknown)
        )
    lost: list[str] = []
    aside: list[str] = []
    last_time_ns = 0
    for segment in found.segments:
        losses = [loss for loss in found.losses if loss.segment == segment.name]
        if losses:
            body, last_time_ns = _mended(found, segment, losses, last_time_ns, lost)
            aside.append(_replace(segment.path, body))
        elif segment.last_payload:
            last_time_ns = _time_of(segment.last_payload, last_time_ns)
    for extra in found.extra_segments:
        aside.append(_set_aside(extra.path))
        lost.append(f"{extra.name}: set aside, its records were never synced by this log")
    newest = found.segments[-1]
    end = os.path.getsize(newest.path)
    last = newest.first_position + _records_in(newest.path) - 1
    datadir.write_synced(directory, datadir.Synced(newest.first_position, end, last))
    log_id = _new_log_id(directory)
    _record(directory, log_id, lost)
    fsync_directory(directory)
    return Repaired(log_id, lost, aside)


def _mended(
    found: Examination, segment: Segment, losses: list[Loss], last_time_ns: int, lost: list[str]
) -> tuple[bytes, int]:
    """The segment's new bytes: good frames as they were, a filler in each lost position; and the last time."""
    data = segment.data or _read(segment.path)  # kept only for damaged segments; a short one is re-read
    torn = found.torn_tail[1] if found.torn_tail is not None and found.torn_tail[0] is segment else len(data)
    damage_at = {d.offset: d for d in segment.scan.damages}
    out = [MAGIC]
    lost_at = {loss.offset: loss for loss in losses}
    for offset in sorted([*segment.scan.offsets, *lost_at]):
        if offset >= torn and offset not in lost_at:
            break
        loss = lost_at.get(offset)
        if loss is None:
            payload = payload_at(data, offset)
            last_time_ns = _time_of(payload, last_time_ns)
            out.append(frame(payload))
            continue
        damage = damage_at.get(offset)
        described = _describe_damaged(data, offset, damage.end if damage is not None else -1, loss.count or 0)
        filler = log_pb2.LogRecord(log_time_ns=last_time_ns, tick=log_pb2.Tick()).SerializeToString()
        for index in range(loss.count or 0):
            lost.append(f"position {loss.first_position + index}: {described[index]}")
            out.append(frame(filler))
    return b"".join(out), last_time_ns


def _read(path: str) -> bytes:
    with open(path, "rb") as source:
        return source.read()


def _describe_damaged(data: bytes, offset: int, end: int, count: int) -> list[str]:
    """What can be decoded of each record in a damaged stretch (its frames' lengths lead to `end`)."""
    if end < 0 or count_frames(data, offset, end) != count:
        return ["unreadable"] * count
    described = []
    while offset < end:
        payload = payload_at(data, offset)
        described.append(_describe(payload))
        offset += FRAME.size + len(payload)
    return described


def _describe(payload: bytes) -> str:
    try:
        record = log_pb2.LogRecord.FromString(payload)
    except DecodeError:
        return "damaged, undecodable"
    which = record.WhichOneof("command") or "no command"
    parts = [f"damaged, reads as {which}"]
    if record.request_id:
        parts.append(f"request_id={record.request_id!r}")
    body = getattr(record, which, None) if which != "no command" else None
    reservation_id = getattr(body, "reservation_id", "")
    if reservation_id:
        parts.append(f"reservation_id={reservation_id!r}")
    customer_id = getattr(body, "customer_id", "")
    if customer_id:
        parts.append(f"customer_id={customer_id!r}")
    return " ".join(parts)


def _time_of(payload: bytes, default_ns: int) -> int:
    try:
        return max(log_pb2.LogRecord.FromString(payload).log_time_ns, default_ns)
    except DecodeError:
        return default_ns


def _replace(path: str, body: bytes) -> str:
    """Writes `body` as `path` durably, the original kept beside it; returns where the original went."""
    with open(path + ".repair.tmp", "wb") as target:
        target.write(body)
        target.flush()
        os.fsync(target.fileno())
    kept = _set_aside(path)
    os.replace(path + ".repair.tmp", path)
    return kept


def _set_aside(path: str) -> str:
    index = 0
    while os.path.exists(f"{path}.damaged-{index}"):
        index += 1
    os.rename(path, f"{path}.damaged-{index}")
    return f"{path}.damaged-{index}"


def _records_in(path: str) -> int:
    with open(path, "rb") as source:
        data = source.read()
    offset, count = len(MAGIC), 0
    while offset + FRAME.size <= len(data):
        offset += FRAME.size + len(payload_at(data, offset))
        count += 1
    return count


def _new_log_id(directory: str) -> str:
    path = os.path.join(directory, LOG_ID_FILE)
    log_id = secrets.token_hex(8)
    with open(path + ".tmp", "w") as target:
        target.write(log_id + "\n")
        target.flush()
        os.fsync(target.fileno())
    os.replace(path + ".tmp", path)
    return log_id


def _record(directory: str, log_id: str, lost: list[str]) -> None:
    """Appends the repair to `repairs.log` in the directory: the loss stays on record with the data."""
    entry = {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "new_log_id": log_id, "lost": lost}
    with open(os.path.join(directory, REPAIRS_FILE), "a") as target:
        target.write(json.dumps(entry) + "\n")
        target.flush()
        os.fsync(target.fileno())
