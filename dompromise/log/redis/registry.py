"""The instance registry: which processes serve a Redis log, how far they applied it, how fresh.

    <prefix>:instances   hash: instance id -> JSON entry (fields below)

Every instance (a `serve --redis` process, or one worker of `--workers`)
writes its entry every INSTANCE_HEARTBEAT_SECONDS, once it serves. One script
call per heartbeat, so Redis does the parts that must not depend on the
instance's clock or on a second round trip:

- the heartbeat is stamped with Redis's clock (`TIME`), so ages compare
  across hosts without trusting their clocks;
- the stream head is read at that same instant, so `head_position -
  applied_position` is the instance's lag in records then (the applied
  position was read just before the call: in-flight appends count as lag);
- entries whose heartbeat is older than INSTANCE_EXPIRY_SECONDS are removed
  (a crashed instance ages out; a clean shutdown removes its own entry).

An entry: host, pid, worker (index under `--workers`, else null), address
(host:port it listens on), applied_position, log_time_ns (log clock of the
last applied record), head_position and heartbeat_ms (Redis's, at the
heartbeat), started_ms (the instance's wall clock), snapshot_position (the
Redis snapshot it last loaded, 0: none), writable, write_problem, resyncs.

`cluster_status` reads all of it for `dompromise check`; `problems` judges it; `render_status` shows it.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import logging
import os
import socket
import time
from typing import Any, Protocol

import redis
from redis.commands.core import AsyncScript

from dompromise import limits
from dompromise.log.redis.log import RedisLog, as_bytes, as_int, parse_entry, stream_id

log = logging.getLogger(__name__)

# KEYS: instances hash, head hash. ARGV: instance id, the entry's JSON without
# its opening brace, expiry in ms. Writes the entry with Redis's time and the
# head position in front, removes expired entries; returns Redis's time (ms).
HEARTBEAT_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local head = redis.call('HGET', KEYS[2], 'position') or '0'
redis.call('HSET', KEYS[1], ARGV[1],
           string.format('{"heartbeat_ms": %d, "head_position": %s, ', now, head) .. ARGV[2])
local entries = redis.call('HGETALL', KEYS[1])
local expiry = tonumber(ARGV[3])
for i = 1, #entries, 2 do
  local beat = tonumber(string.match(entries[i + 1], '"heartbeat_ms": (%d+)'))
  if beat == nil or now - beat > expiry then
    redis.call('HDEL', KEYS[1], entries[i])
  end
end
return now
"""


class RegisteredReplica(Protocol):
    """What an instance's entry reports of its replica (SharedReplica has it)."""

    @property
    def instance_id(self) -> str: ...

    @property
    def log_position(self) -> int: ...

    @property
    def log_time_ns(self) -> int: ...

    @property
    def loaded_snapshot_position(self) -> int: ...

    @property
    def writable(self) -> bool: ...

    @property
    def write_problem(self) -> str: ...

    @property
    def resync_count(self) -> int: ...


def instances_key(prefix: str) -> str:
    return f"{prefix}:instances"


class InstanceRegistry:
    """Heartbeats one replica's entry while it serves (SharedReplica runs and removes it)."""

    def __init__(
        self,
        command_log: RedisLog,
        worker: int | None = None,
        heartbeat_seconds: float = limits.INSTANCE_HEARTBEAT_SECONDS,
        expiry_seconds: float = limits.INSTANCE_EXPIRY_SECONDS,
    ):
        assert heartbeat_seconds > 0, heartbeat_seconds
        assert expiry_seconds > heartbeat_seconds, "entries would expire between heartbeats"
        self.log = command_log
        self.key = instances_key(command_log.prefix)
        self.worker = worker
        self.heartbeat_seconds = heartbeat_seconds
        self.expiry_ms = int(expiry_seconds * 1000)
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.started_ms = int(time.time() * 1000)
        self.address: str | None = None
        self._serving = asyncio.Event()
        self._script: AsyncScript | None = None
        self._failing = False

    def serving(self, address: str) -> None:
        """The instance listens on `address` now: heartbeats start (call on the event loop)."""
        self.address = address
        self._serving.set()

    def entry(self, replica: RegisteredReplica) -> dict[str, Any]:
        return {
            "host": self.host,
            "pid": self.pid,
            "worker": self.worker,
            "address": self.address,
            "applied_position": replica.log_position,
            "log_time_ns": replica.log_time_ns,
            "started_ms": self.started_ms,
            "snapshot_position": replica.loaded_snapshot_position,
            "writable": replica.writable,
            "write_problem": replica.write_problem,
            "resyncs": replica.resync_count,
        }

    async def run(self, replica: RegisteredReplica) -> None:
        """Heartbeats until cancelled; Redis errors are logged once and retried at the next beat."""
        await self._serving.wait()
        task = asyncio.current_task()
        assert task is not None, "runs as a task (SharedReplica.start)"
        # redis-py (8.1) can swallow a cancellation that arrives during a call: stop on it anyway.
        while not task.cancelling():
            try:
                await self.beat(replica)
                if self._failing:
                    log.info("instance registry heartbeats reach Redis again")
                self._failing = False
            except redis.RedisError as error:
                if not self._failing:
                    log.warning("instance registry heartbeat failed: %s", error)
                self._failing = True
            await asyncio.sleep(self.heartbeat_seconds)

    async def beat(self, replica: RegisteredReplica) -> int:
        """Writes this instance's entry now; returns Redis's time in ms."""
        if self._script is None:
            self._script = self.log.async_client().register_script(HEARTBEAT_SCRIPT)
        body = json.dumps(self.entry(replica))
        assert body.startswith("{") and len(body) > 2, body
        return as_int(
            await self._script(keys=[self.key, self.log.head_key], args=[replica.instance_id, body[1:], self.expiry_ms])
        )

    async def remove(self, instance_id: str) -> None:
        """Removes this instance's entry (clean shutdown); a failure leaves it to age out."""
        try:
            await self.log.async_client().hdel(self.key, instance_id)
        except redis.RedisError as error:
            log.warning("could not remove this instance from the registry (it ages out): %s", error)


# ---- reading: `dompromise check` -------------------------------------------------


def cluster_status(command_log: RedisLog) -> dict[str, Any]:
    """The stream, its snapshots and the registered instances, as one JSON-ready document.

    Ages are in seconds by Redis's clock. `snapshot.age_seconds` is how long
    the oldest record the newest snapshot does not cover has waited (0 when it
    covers the head): what a new instance would replay, in time.
    """
    client = command_log.client
    seconds, micros = client.time()
    now_ms = seconds * 1000 + micros // 1000
    head = client.hgetall(command_log.head_key)
    head_position = int(head.get(b"position", 0))
    first = client.xrange(command_log.stream_key, count=1)
    first_entry: dict[str, int] | None = None
    if first:
        position, _, time_ns, _ = parse_entry(*first[0])
        first_entry = {"position": position, "log_time_ns": time_ns}
    stream: dict[str, Any] = {
        "key": command_log.stream_key,
        "exists": bool(head),
        "head_position": head_position,
        "head_log_time_ns": int(head.get(b"time_ns", 0)),
        "length": client.xlen(command_log.stream_key),
        "first_entry": first_entry,
    }
    snapshots: list[dict[str, int]] = []
    for position in command_log.snapshot_positions():
        snapshots.append({"position": position, "bytes": command_log.snapshot_size(position)})
    newest: dict[str, Any] | None = None
    if snapshots:
        newest = dict(snapshots[-1], records_behind=max(0, head_position - snapshots[-1]["position"]), age_seconds=0.0)
        if newest["records_behind"]:
            uncovered = client.xrange(command_log.stream_key, min=stream_id(newest["position"] + 1), count=1)
            if uncovered:
                newest["age_seconds"] = max(0.0, now_ms / 1000 - parse_entry(*uncovered[0])[2] / 1e9)
            else:
                newest["age_seconds"] = None  # trimmed past the newest snapshot: should not happen
    instances: list[dict[str, Any]] = []
    for instance_id, raw in sorted(client.hgetall(instances_key(command_log.prefix)).items()):
        entry: dict[str, Any]
        try:
            entry = json.loads(raw)
        except ValueError:
            entry = {"unreadable": as_bytes(raw).decode(errors="replace")}
        entry["instance_id"] = as_bytes(instance_id).decode()
        beat = entry.get("heartbeat_ms")
        entry["heartbeat_age_seconds"] = (now_ms - beat) / 1000 if isinstance(beat, int) else None
        applied, head_then = entry.get("applied_position"), entry.get("head_position")
        entry["lag_records"] = head_then - applied if isinstance(applied, int) and isinstance(head_then, int) else None
        instances.append(entry)
    return {
        "redis": command_log.url,
        "prefix": command_log.prefix,
        "time_ms": now_ms,
        "stream": stream,
        "snapshots": snapshots,
        "newest_snapshot": newest,
        "instances": instances,
    }


def problems(
    status: dict[str, Any], max_lag_records: int, max_heartbeat_age_seconds: float, max_snapshot_age_seconds: float
) -> list[str]:
    """One line per reason the cluster in `status` is not healthy ([] when it is)."""
    found = []
    superseded = _superseded(status, max_heartbeat_age_seconds)
    if not status["stream"]["exists"]:
        found.append(f"no log at {status['redis']} under prefix {status['prefix']!r} (no instance ever started)")
    if not status["instances"]:
        found.append(f"no instances registered in {status['prefix']}:instances")
    for entry in status["instances"]:
        name = (
            f"instance {entry['instance_id']} ({entry.get('host', '?')} pid {entry.get('pid', '?')}"
            f"{'' if entry.get('worker') is None else ' worker ' + str(entry['worker'])})"
        )
        age = entry["heartbeat_age_seconds"]
        if age is None:
            found.append(f"{name}: unreadable registry entry")
            continue
        if age > max_heartbeat_age_seconds and entry["instance_id"] not in superseded:
            found.append(
                f"{name}: last heartbeat {age:.1f}s ago (> {max_heartbeat_age_seconds:g}s): stopped, hung or gone"
            )
        if entry["lag_records"] is not None and entry["lag_records"] > max_lag_records:
            found.append(f"{name}: {entry['lag_records']} records behind the stream head (> {max_lag_records})")
        if not entry.get("writable", True):
            found.append(f"{name}: refuses writes: {entry.get('write_problem') or 'Redis unreachable'}")
    newest = status["newest_snapshot"]
    if newest is None:
        if status["stream"]["exists"] and _unsnapshotted_seconds(status) > max_snapshot_age_seconds:
            found.append("no snapshot in Redis: a new instance replays the whole stream (run `dompromise snapshot`)")
    elif newest["age_seconds"] is None:
        found.append(f"the stream no longer holds the record after the newest snapshot ({newest['position']})")
    elif newest["age_seconds"] > max_snapshot_age_seconds:
        found.append(
            f"newest snapshot (position {newest['position']}) is {newest['records_behind']} records "
            f"and {newest['age_seconds']:.0f}s behind the log (> {max_snapshot_age_seconds:g}s)"
        )
    return found


def warnings(status: dict[str, Any], max_heartbeat_age_seconds: float) -> list[str]:
    """What `check` says without failing: a young log with no snapshot yet (instances snapshot on their
    schedule), and entries of crashed workers the supervisor already replaced (they age out of the registry)."""
    found = []
    if status["stream"]["exists"] and status["newest_snapshot"] is None:
        found.append(
            "no snapshot in Redis yet: a new instance replays the whole stream until the first one "
            "(instances write one every --snapshot-every records; `dompromise snapshot` writes one now)"
        )
    for instance_id in sorted(_superseded(status, max_heartbeat_age_seconds)):
        found.append(f"instance {instance_id}: a worker the supervisor restarted (its slot serves again)")
    return found


def _superseded(status: dict[str, Any], max_heartbeat_age_seconds: float) -> set[str]:
    """Silent entries whose worker slot (host, supervisor pid... here: host and worker index) has a live entry."""
    live = {
        (entry.get("host"), entry.get("worker"))
        for entry in status["instances"]
        if entry.get("worker") is not None
        and entry["heartbeat_age_seconds"] is not None
        and entry["heartbeat_age_seconds"] <= max_heartbeat_age_seconds
    }
    return {
        entry["instance_id"]
        for entry in status["instances"]
        if entry.get("worker") is not None
        and entry["heartbeat_age_seconds"] is not None
        and entry["heartbeat_age_seconds"] > max_heartbeat_age_seconds
        and (entry.get("host"), entry.get("worker")) in live
    }


def _unsnapshotted_seconds(status: dict[str, Any]) -> float:
    """How long the log's first record has waited for a snapshot, by the log's clock (0 if unknown)."""
    first = status["stream"].get("first_entry")
    head_ns = status["stream"].get("head_log_time_ns") or 0
    if not first or not head_ns:
        return 0.0
    return max(0.0, (int(head_ns) - int(first["log_time_ns"])) / 1e9)


def _utc_text(time_ns: int | None) -> str:
    if not time_ns:
        return "-"
    return datetime.datetime.fromtimestamp(time_ns / 1e9, datetime.UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def render_status(status: dict[str, Any]) -> str:
    """cluster_status's document as a table for people (`dompromise check`)."""
    stream = status["stream"]
    first = stream["first_entry"]
    lines = [
        f"log       {status['redis']} prefix {status['prefix']}: head {stream['head_position']:,} "
        f"(log time {_utc_text(stream['head_log_time_ns'])}), {stream['length']:,} entries in the stream, first "
        + (f"{first['position']:,} ({_utc_text(first['log_time_ns'])})" if first else "-")
    ]
    newest = status["newest_snapshot"]
    if newest is None:
        lines.append("snapshot  none")
    else:
        age = "?" if newest["age_seconds"] is None else f"{newest['age_seconds']:.1f}s"
        lines.append(
            f"snapshot  newest at {newest['position']:,} ({newest['bytes']:,} bytes, "
            f"{newest['records_behind']:,} records behind the head, age {age}); kept: "
            + ", ".join(f"{s['position']:,}" for s in status["snapshots"])
        )
    header = ("INSTANCE", "HOST", "PID", "WORKER", "ADDRESS", "APPLIED", "LAG", "HEARTBEAT", "SNAPSHOT", "WRITES")
    rows = [header]
    for entry in status["instances"]:
        age = entry["heartbeat_age_seconds"]
        rows.append(
            (
                entry["instance_id"],
                str(entry.get("host", "?")),
                str(entry.get("pid", "?")),
                "-" if entry.get("worker") is None else str(entry["worker"]),
                str(entry.get("address", "?")),
                f"{entry.get('applied_position', 0):,}",
                "?" if entry["lag_records"] is None else f"{entry['lag_records']:,}",
                "?" if age is None else f"{age:.1f}s ago",
                f"{entry.get('snapshot_position', 0):,}",
                "ok" if entry.get("writable") else "REFUSED",
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    lines.append(f"instances {len(rows) - 1}")
    for row in rows:
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    return "\n".join(lines)
