"""`dompromise snapshot`: a snapshot of a Redis log at its head, stored with no instance running.

It replays like an instance starting (newest snapshot, then the stream, the
same SharedReplica code), then stores the state through RedisLog.write_snapshot,
the instances' own path: two kept, the stream trimmed below the older one.
It holds `<prefix>:snapshot-lock` meanwhile, so no instance writes one at the
same time, and waits up to SNAPSHOT_LOCK_WAIT_SECONDS for one that holds it.
"""

from __future__ import annotations

import logging

import redis.exceptions
import redis.lock

from dompromise.errors import RedisLogError
from dompromise.inventory.engine import Engine
from dompromise.log.redis.log import RedisLog
from dompromise.model.network import Network
from dompromise.replica.shared import SharedReplica

log = logging.getLogger(__name__)

# How long `dompromise snapshot` waits for an instance's snapshot in progress, in seconds.
SNAPSHOT_LOCK_WAIT_SECONDS = 30.0
# How often it asks for the lock meanwhile, in seconds.
SNAPSHOT_LOCK_POLL_SECONDS = 0.1


def release_snapshot_lock(lock: redis.lock.Lock) -> None:
    """Releases our lock; one that expired meanwhile (and may be another writer's now) is left alone."""
    try:
        lock.release()
    except redis.exceptions.LockNotOwnedError:
        log.warning("the snapshot lock expired before the snapshot was stored (REDIS_SNAPSHOT_LOCK_SECONDS)")


def snapshot_log(network: Network, url: str, prefix: str) -> tuple[int, int, bool]:
    """Stores a snapshot of the Redis log at its head: (position, bytes, whether it was written now).

    RedisLogError when there is no log under `prefix`, or the lock stays held.
    """
    command_log = RedisLog(url, prefix)
    try:
        if command_log.client.hget(command_log.head_key, "network") is None:
            raise RedisLogError(f"no log at {url} under prefix {prefix!r}: nothing to snapshot")
        replica = SharedReplica(Engine(network), command_log)
        replayed = replica.recover()
        log.info(
            "replayed %d records after the snapshot at %d, to position %d",
            replayed,
            replica.loaded_snapshot_position,
            replica.engine.log_position,
        )
        lock = command_log.snapshot_lock()
        lock.sleep = SNAPSHOT_LOCK_POLL_SECONDS
        if not lock.acquire(blocking=True, blocking_timeout=SNAPSHOT_LOCK_WAIT_SECONDS):
            raise RedisLogError(
                f"{prefix}:snapshot-lock held for {SNAPSHOT_LOCK_WAIT_SECONDS:g}s: an instance "
                "is writing a snapshot; try again"
            )
        try:
            kept = command_log.snapshot_positions()
            written = not kept or kept[-1] < replica.engine.log_position
            position = replica.snapshot_now() if written else kept[-1]
        finally:
            release_snapshot_lock(lock)
        return position, command_log.snapshot_size(position), written
    finally:
        command_log.close()
