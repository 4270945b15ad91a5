"""A replica of the shared Redis log: many instances, one order of commands.

In a shared log the position of a record is decided by Redis, not by the
writer. So the write path splits in two:

- the writer takes what is queued (up to LOG_BATCH_COMMANDS_MAX), tags each
  record with a token (this instance's id and a counter) and appends the
  batch with one script call (RedisLog.write_async); it does not apply;
- the tail loop reads the stream (XREAD BLOCK) after the last applied
  position and applies *every* entry in stream order, this instance's and the
  others'; when an entry carries one of our tokens, the waiting caller gets
  that entry's outcome. An answer is the state machine's, sent only after
  Redis acknowledged the append (durable as Redis's AOF setting makes it).

Failure is closed: when Redis cannot be reached, `submit` raises
UnavailableError at once (reads go on from the local state); the tail loop
reconnects with backoff, checks that Redis still holds what this replica
applied, and resumes from its last applied position. A gap (the stream was
trimmed past us) or a Redis that lost records we applied makes the replica
resync: newest snapshot, then the stream after it, in place.

A Redis that lost records we applied will reuse their positions: before the
resync this replica bumps the log id (RedisLog.bump_log_id_async, once for
all instances), so (log id, position) pairs handed to clients never name two
states. Every replica adopts the new id when it applies the Tick the bump
appended (that entry carries the new id), and re-reads it on reconnect and
resync (a snapshot may cover the Tick); history listeners (watch streams,
min-position waits) hear of it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable, Iterable, Sequence

import redis
import redis.exceptions

from dompromise.errors import LogGap, RedisLogError, UnavailableError
from dompromise.internal.v1 import log_pb2
from dompromise.inventory.engine import Engine, network_fingerprint, network_of_fingerprint
from dompromise.log.redis.log import READ_BLOCK_MS, EpochEntry, RedisLog, as_int, log_id_generation
from dompromise.log.redis.registry import InstanceRegistry
from dompromise.replica import parts
from dompromise.replica.parts import (
    APPLY_SLICE_SECONDS,
    SNAPSHOT_INTERVAL_RECORDS,
    TICK_INTERVAL_SECONDS,
    ApplyListeners,
    LogClock,
    SnapshotSchedule,
    WriteQueue,
)
from dompromise.replica.protocol import ApplyListener, HistoryListener, WritabilityListener
from dompromise.reservations.book import Outcome

log = logging.getLogger(__name__)

# Reconnect backoff bounds, in seconds.
BACKOFF_SECONDS_MIN = 0.05
BACKOFF_SECONDS_MAX = 2.0
# How long the writer waits for the tail to apply its last batch before it sends the next, in seconds.
APPLIED_WAIT_SECONDS_MAX = 0.05
# How long stop() waits for the loops to end on a cancel before it closes their connections, in seconds.
STOP_CANCEL_SECONDS = 0.1
# Start-up attempts when a snapshot and a trim race our catch-up.
RECOVER_ATTEMPTS_MAX = 3


class SharedReplica:
    """A Replica (replica/protocol.py) whose log is the shared Redis stream (see the module doc)."""

    def __init__(
        self,
        engine: Engine,
        command_log: RedisLog,
        clock_ns: Callable[[], int] = time.time_ns,
        snapshot_interval_records: int = SNAPSHOT_INTERVAL_RECORDS,
    ):
        self.engine = engine
        self.log = command_log
        self._snapshots = SnapshotSchedule(snapshot_interval_records)
        self._clock = LogClock(clock_ns)
        self._writes = WriteQueue()
        self._tasks: list[asyncio.Task[None]] = []
        self._applied = ApplyListeners()
        self.instance_id = os.urandom(6).hex()
        self._token_prefix = self.instance_id.encode() + b":"
        self._token_count = 0
        self._pending: dict[bytes, asyncio.Future[Outcome]] = {}
        self._writable = False
        self._need_verify = False
        self._broken: str = ""  # set when this replica cannot follow the log any more
        self._last_entry: tuple[int, int, bytes] | None = None  # (position, time_ns, token) last applied
        self._writability_listeners: list[WritabilityListener] = []
        self._history_listeners: list[HistoryListener] = []
        self.resync_count = 0
        self.log_id_bumps = 0  # how many times this replica replaced the log id (after a loss it noticed)
        # Set once this replica bumped (or found bumped) the id for the loss it noticed, cleared by a
        # resync that completes: a resync that failed midway does not bump a second time.
        self._bumped_since_resync = False
        # Set by stop(): redis-py (8.1) can swallow the cancellation of a blocked XREAD,
        # so the tail loop also ends by this flag (and stop() closes the read's connection).
        self._stopping = False
        # When this replica last knew it had everything Redis had (a tail read came back), monotonic ns.
        self._fresh_ns = time.monotonic_ns()
        self.loaded_snapshot_position = 0  # the Redis snapshot last loaded (0: none)
        # Heartbeats this replica into <prefix>:instances while it runs (serve --redis sets it).
        self.registry: InstanceRegistry | None = None

    # ---- the state -------------------------------------------------------------

    @property
    def log_position(self) -> int:
        return self.engine.log_position

    @property
    def log_time_ns(self) -> int:
        """The log time of the last record applied."""
        return self.engine.core.log_time_ns

    @property
    def log_id(self) -> str:
        """The log's identity: log positions (and watch versions) mean something only within it (the id
        changes when Redis lost records and their positions are reused: see the module doc)."""
        return self.log.log_id

    async def head_position(self) -> int:
        """The stream's last position as Redis holds it now (this replica may lag it)."""
        try:
            head, _ = await self.log.head_and_id_async()
        except redis.RedisError as error:
            raise UnavailableError(f"the Redis log is not reachable: {error}") from None
        return head

    def now_ns(self) -> int:
        """This replica's wall clock: what the edge checks times against (never the core)."""
        return self._clock.now_ns()

    # ---- start-up ----------------------------------------------------------

    def recover(self) -> int:
        """Newest Redis snapshot, then the stream after it; returns how many entries were applied."""
        genesis = self.log.claim(network_fingerprint(self.engine.network))
        if genesis != network_fingerprint(self.engine.network):
            # The stream started on another network: replayed from its start (no snapshot), only
            # that network gives the same state; the config's is that one plus appended nodes / SKUs.
            started_on = network_of_fingerprint(self.engine.network, genesis)
            if started_on is None:
                raise RedisLogError(
                    f"{self.log.url} {self.log.prefix}: the log started on another network and no snapshot "
                    "here carries one: start once with that config and take `dompromise snapshot`"
                )
            self._replace_engine(Engine(started_on, self._clock.wall_clock_ns))
        for _attempt in range(RECOVER_ATTEMPTS_MAX):
            self._load_redis_snapshot()
            try:
                return self._catch_up()
            except LogGap as gap:
                log.warning("start-up catch-up hit a gap (%s); reloading the snapshot", gap)
        raise RedisLogError(f"cannot catch up with {self.log.url}: the stream has gaps no snapshot covers")

    def _load_redis_snapshot(self) -> bool:
        loaded = self.log.load_snapshot(network_fingerprint(self.engine.network))
        if loaded is None:
            if self.engine.log_position:
                self._replace_engine(Engine(self.engine.network, self._clock.wall_clock_ns))
            return False
        meta, arrays = loaded
        # The arrays are views into the buffer the snapshot was read into, ours alone: adopted, not copied.
        self._replace_engine(
            Engine.from_state(self.engine.network, arrays, meta, self._clock.wall_clock_ns, adopt=True)
        )
        del arrays
        self._snapshots.position = meta["position"]
        self.loaded_snapshot_position = meta["position"]
        self._clock.observe(self.engine.core.log_time_ns)
        log.info("loaded Redis snapshot at log position %d", meta["position"])
        return True

    def _replace_engine(self, fresh: Engine) -> None:
        """Puts `fresh`'s state into the engine object everybody holds (servicers keep a reference)."""
        self.engine.load_state(fresh)
        self._last_entry = None

    def _catch_up(self, outcomes: dict[bytes, Outcome | None] | None = None) -> int:
        """Applies the stream from our position to its head now (blocking; start-up and resync)."""
        applied = 0
        records = []
        log_id = self.log.log_id
        for position, payload, time_ns, token, epoch in self.log.records(self.engine.log_position, with_epoch=True):
            record, outcome = self._apply_entry(position, payload, time_ns, token, epoch)
            records.append(record)
            if outcomes is not None and token in outcomes:
                outcomes[token] = outcome
            applied += 1
        if records and self._tasks and self._applied:
            self._applied.notify(self.engine.log_position, records)
        if self.log.log_id != log_id and self._tasks:
            self._notify_history()
        return applied

    def bootstrap(self, records: Iterable[log_pb2.LogRecord]) -> list[Outcome]:
        """Appends start-up records, then catches up; returns their outcomes.

        On an empty log the append is conditional on the head being at 0, so
        of several instances starting together exactly one bootstraps (the
        others get [] and apply its records).
        """
        records = list(records)
        if not records:
            return []
        tokens = [self._next_token() for _ in records]
        expected = 0 if self.engine.log_position == 0 else -1
        appended = self.log.write(
            [r.SerializeToString() for r in records],
            [self._clock.stamp()] * len(records),
            tokens,
            expected_position=expected,
        )
        outcomes: dict[bytes, Outcome | None] = dict.fromkeys(tokens)
        self._catch_up(outcomes)
        if not appended:
            log.info("another instance bootstrapped the log first; its records applied")
            return []
        answered = []
        for token in tokens:
            outcome = outcomes[token]
            assert outcome is not None, "the catch-up applied every record the append acknowledged"
            answered.append(outcome)
        return answered

    def status_changes(self) -> log_pb2.LogRecord | None:
        """A SetNodeStatus record for nodes whose configured status differs from the log's, or None."""
        return parts.status_changes(self.engine)

    # ---- running -------------------------------------------------------------

    async def start(self) -> None:
        self._writes.open()
        self._writable = True
        self._tasks = [
            asyncio.create_task(self._write_loop()),
            asyncio.create_task(self._tail_loop()),
            asyncio.create_task(self._tick_loop()),
        ]
        if self.registry is not None:
            self._tasks.append(asyncio.create_task(self.registry.run(self)))

    async def stop(self) -> None:
        # The asyncio Redis client can swallow a cancel that lands in a blocked
        # XREAD (the tail then reads on): the flag ends the tail loop at its next
        # turn, and closing the connections ends the read it is in.
        self._stopping = True
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        if tasks:
            _, running = await asyncio.wait(tasks, timeout=STOP_CANCEL_SECONDS)
            await self.log.aclose()
            if running:
                await asyncio.wait(running, timeout=READ_BLOCK_MS / 1000 + STOP_CANCEL_SECONDS)
        await self._snapshots.finish()
        self._fail_pending("replica stopped")
        if self.registry is not None:
            await self.registry.remove(self.instance_id)
        await self.log.aclose()

    def serving(self, address: str) -> None:
        """The server listens on `address`: the registry (if any) starts heartbeating this instance."""
        if self.registry is not None:
            self.registry.serving(address)

    def close(self) -> None:
        self.log.close()

    def add_apply_listener(self, listener: ApplyListener) -> None:
        """Calls `listener(log_position, records)` after each batch the tail applies, and after a catch-up
        while running (resync); as LocalReplica.add_apply_listener otherwise."""
        self._applied.add(listener)

    def add_history_listener(self, listener: HistoryListener) -> None:
        """Calls `listener(log_id)` on the event loop after a resync replaced the state or the log id changed:
        what was said at earlier positions may not hold in the history now followed."""
        self._history_listeners.append(listener)

    def _notify_history(self) -> None:
        for listener in self._history_listeners:
            try:
                listener(self.log.log_id)
            except Exception:  # a listener's bug must not stop the tail
                log.exception("history listener %r failed", listener)

    def add_writability_listener(self, listener: WritabilityListener) -> None:
        """Calls `listener(writable)` on the event loop when writes become refused or accepted again."""
        self._writability_listeners.append(listener)

    @property
    def writable(self) -> bool:
        return self._writable

    def staleness_ms(self) -> int | None:
        """None while following the log; else milliseconds since this replica last heard from Redis.

        While the tail is connected, a blocked XREAD returns as soon as
        anything is appended: the state is current. Once a read fails (or
        the replica broke) the state is as of the last read that came back.
        """
        if self._writable:
            return None
        return max(0, (time.monotonic_ns() - self._fresh_ns) // 1_000_000)

    @property
    def write_problem(self) -> str:
        """Why writes are refused for good ('' unless this replica stopped following the log)."""
        return self._broken

    async def submit(self, record: log_pb2.LogRecord) -> Outcome:
        """Appends a command to the shared log; returns its outcome once this replica applied it."""
        if not self._writable:
            raise UnavailableError(f"the Redis log is not reachable, writes refused: {self._broken or 'reconnecting'}")
        return await self._writes.put(record)

    def _next_token(self) -> bytes:
        self._token_count += 1
        return self._token_prefix + str(self._token_count).encode()

    async def _write_loop(self) -> None:
        while not self._stopping:
            batch = await self._writes.take_batch()
            if not self._writable:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(UnavailableError("the Redis log is not reachable, writes refused"))
                continue
            tokens = [self._next_token() for _ in batch]
            # Registered before the append: the tail may read the entry before the reply comes.
            for token, (_, future) in zip(tokens, batch):
                self._pending[token] = future
            try:
                await self.log.write_async(
                    [record.SerializeToString() for record, _ in batch], [self._clock.stamp() for _ in batch], tokens
                )
            except redis.RedisError as error:
                # Not acknowledged. It may still be in the log (the reply was lost): a
                # retry with the same request_id then returns the first outcome.
                for token in tokens:
                    waiting = self._pending.pop(token, None)
                    if waiting is not None and not waiting.done():
                        waiting.set_exception(UnavailableError(f"the Redis log refused the write: {error}"))
                self._set_writable(False, f"append failed: {error}")
                self._need_verify = True
                continue
            # The next script call waits until the tail applied this batch (its
            # callers are answered then anyway): writes arriving meanwhile go
            # together, and one append and one tail read carry them all. Sending
            # at once carried ~1.1 records per call with a fast Redis (AOF
            # everysec), and the client's cost per call capped RPC/s.
            await asyncio.wait([future for _, future in batch], timeout=APPLIED_WAIT_SECONDS_MAX)

    async def _tail_loop(self) -> None:
        backoff = BACKOFF_SECONDS_MIN
        while not self._broken and not self._stopping:
            try:
                if self._need_verify:
                    await self._verify()
                entries = await self.log.read_async(self.engine.log_position, with_epoch=True)
                self._fresh_ns = time.monotonic_ns()
            except redis.RedisError as error:
                if self._stopping:
                    return
                self._set_writable(False, f"Redis unreachable: {error}")
                self._need_verify = True
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, BACKOFF_SECONDS_MAX)
                continue
            backoff = BACKOFF_SECONDS_MIN
            if not self._writable:
                self._set_writable(True, "")
            if entries:
                await self._apply_entries(entries)

    async def _apply_entries(self, entries: Sequence[EpochEntry]) -> None:
        """Applies what the tail read, letting the event loop answer reads every
        APPLY_SLICE_SECONDS; room for the SKU rows catalog records add is made
        first, off the loop (parts.make_room). This task alone applies, so nothing
        comes between two slices."""
        parsed = [log_pb2.LogRecord.FromString(entry[1]) for entry in entries]
        await parts.make_room(self.engine, parsed)
        while entries:
            done = self._apply_batch(entries, parsed)
            entries, parsed = entries[done:], parsed[done:]
            if entries:
                await asyncio.sleep(0)

    def _apply_batch(self, entries: Sequence[EpochEntry], parsed: Sequence[log_pb2.LogRecord]) -> int:
        """Applies entries for about APPLY_SLICE_SECONDS; returns how many it consumed
        (all of them when it stopped on a gap or a record it cannot follow)."""
        records = []
        log_id = self.log.log_id
        started = time.perf_counter()
        try:
            for entry, record in zip(entries, parsed):
                self._apply_entry(*entry, record=record)
                records.append(record)
                if time.perf_counter() - started > APPLY_SLICE_SECONDS:
                    break
        except LogGap as gap:
            log.warning("%s: resyncing from the newest snapshot", gap)
            self._resync()
            return len(entries)
        except Exception as error:  # a record this state cannot follow: stop following, refuse writes
            self._break(f"log record after {self.engine.log_position} cannot be applied: {error!r}")
            return len(entries)
        if self._applied:
            self._applied.notify(self.engine.log_position, records)
        if self.log.log_id != log_id:
            self._notify_history()
        self._maybe_snapshot()
        return len(records)

    def _apply_entry(
        self,
        position: int,
        payload: bytes,
        time_ns: int,
        token: bytes,
        epoch: str = "",
        record: log_pb2.LogRecord | None = None,
    ) -> tuple[log_pb2.LogRecord, Outcome]:
        """`record`: the payload already parsed."""
        if position != self.engine.log_position + 1:
            raise LogGap(f"the stream goes from {self.engine.log_position} to {position}")
        if epoch and epoch != self.log.log_id and log_id_generation(epoch) > log_id_generation(self.log.log_id):
            # The first entry appended after a bump (its Tick): from here on, positions count in the new id.
            log.warning(
                "log id %s -> %s at position %d: Redis lost records and their positions are reused",
                self.log.log_id,
                epoch,
                position,
            )
            self.log.log_id = epoch
        if record is None:
            record = log_pb2.LogRecord.FromString(payload)
        record.log_time_ns = time_ns
        # From the payload: a reserve is applied without its parsed record (inventory/_records.pyx).
        outcome = self.engine.apply_payload(payload, position, record, time_ns)
        self._clock.observe(time_ns)
        self._last_entry = (position, time_ns, token)
        future = self._pending.pop(token, None)
        if future is not None and not future.done():  # a caller that gave up has a cancelled future
            future.set_result(outcome)
        return record, outcome

    async def _verify(self) -> None:
        """After a reconnect: does Redis still hold what we applied? If not, bump the log id and resync (never
        diverge, never let a (log id, position) pair name two states)."""
        head, found_id = await self.log.head_and_id_async()
        applied = self.engine.log_position
        lost = head < applied
        if not lost and self._last_entry is not None and self._last_entry[0] == applied:
            found = await self.log.entry_async(applied)
            lost = found is not None and (found[2], found[3]) != self._last_entry[1:]
        if not lost:
            self._need_verify = False
            self._bumped_since_resync = False  # a resync that failed midway left a prefix of what Redis holds
            if found_id and found_id != self.log.log_id:
                # Bumped while we were away, after records we still agree with: our state is
                # a prefix of the history the new id names.
                log.warning("log id %s -> %s (read on reconnect)", self.log.log_id, found_id)
                self.log.log_id = found_id
                self._notify_history()
            return
        log.error(
            "Redis no longer holds the log this replica applied (head %d, applied %d): it lost "
            "acknowledged writes (AOF not 'always'? restored from a backup?); resyncing to what Redis holds",
            head,
            applied,
        )
        if not self._bumped_since_resync:
            await self._bump_log_id(found_id)  # a Redis error here: verified again on the next turn
            self._bumped_since_resync = True
        self._need_verify = False
        self._resync()

    async def _bump_log_id(self, found_id: str) -> None:
        """Replaces the log id after a loss this replica noticed, unless another instance already did."""
        own = self.log.log_id
        if found_id != own and log_id_generation(found_id) > log_id_generation(own):
            log.warning("log id already replaced by another instance (%s -> %s)", own, found_id)
            return
        marker = log_pb2.LogRecord(tick=log_pb2.Tick()).SerializeToString()
        bumped, now, position = await self.log.bump_log_id_async(
            found_id, marker, self._clock.stamp(), self._next_token()
        )
        if bumped:
            self.log_id_bumps += 1
            log.error(
                "log id %s -> %s (marker at position %d): positions after the loss count in the new id",
                own,
                now,
                position,
            )
        else:
            log.warning("log id already replaced by another instance (%s -> %s)", own, now)

    def _resync(self) -> None:
        """Newest snapshot, then the stream, into the same engine object (blocks the loop meanwhile)."""
        self.resync_count += 1
        try:
            # Re-read first; a bump's Tick among the entries caught up moves it on from there.
            self.log.log_id = self.log.read_log_id() or self.log.log_id
            for _ in range(RECOVER_ATTEMPTS_MAX):
                self._load_redis_snapshot()
                try:
                    self._catch_up()
                    break
                except LogGap as gap:
                    log.warning("resync hit a gap (%s); again", gap)
            else:
                self._break("the stream has gaps no snapshot covers")
                return
        except redis.RedisError as error:
            self._set_writable(False, f"Redis unreachable during resync: {error}")
            self._need_verify = True
            return
        # Our entries applied during the catch-up answered their callers; the rest
        # are unknown (trimmed into the snapshot, or lost): retry with the same request_id.
        self._bumped_since_resync = False
        self._fail_pending("outcome unknown after a resync; retry with the same request_id")
        log.info("resynced at log position %d, log id %s", self.engine.log_position, self.log.log_id)
        self._notify_history()

    def _break(self, reason: str) -> None:
        log.error("replica stops following the log: %s", reason)
        self._broken = reason
        self._set_writable(False, reason)
        self._fail_pending(reason)

    def _fail_pending(self, reason: str) -> None:
        pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(UnavailableError(reason))

    def _set_writable(self, writable: bool, reason: str) -> None:
        if writable and self._broken:
            return
        if writable == self._writable:
            return
        self._writable = writable
        if writable:
            log.info("Redis log reachable again at position %d: writes accepted", self.engine.log_position)
        else:
            log.warning("writes refused: %s", reason)
        for listener in self._writability_listeners:
            try:
                listener(writable)
            except Exception:  # a listener's bug must not stop the tail
                log.exception("writability listener %r failed", listener)

    async def _tick_loop(self) -> None:
        """Appends a Tick when a hold is due; while Redis is away, keeps trying."""
        while True:
            await asyncio.sleep(TICK_INTERVAL_SECONDS)
            due_ns = self.engine.next_expiry_ns()
            if due_ns is not None and due_ns <= self._clock.now_ns() and self._writes.empty() and self._writable:
                try:
                    await self.submit(log_pb2.LogRecord(tick=log_pb2.Tick()))
                except UnavailableError:
                    continue

    # ---- snapshots -----------------------------------------------------------

    def _maybe_snapshot(self) -> None:
        if self._snapshots.due(self.engine.log_position):  # no second attempt starts meanwhile
            self._snapshots.start(self.engine.log_position, self._snapshot_if_due())

    async def _snapshot_if_due(self) -> None:
        """One instance writes a snapshot per interval: the one that gets the lock when none is recent."""
        client = self.log.async_client()
        lock = self.log.snapshot_lock_async()
        try:
            newest = await client.zrange(self.log.snapshots_key, -1, -1)
            if newest and self.engine.log_position - as_int(newest[0]) < self._snapshots.interval_records:
                self._snapshots.position = as_int(newest[0])
                return
            if not await lock.acquire(blocking=False):
                return
        except redis.RedisError as error:
            log.warning("snapshot skipped: %s", error)
            return
        # Here, on the loop between applies, the export is a consistent cut.
        arrays, meta = self.engine.export_state()
        position = self.engine.log_position
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(None, self.log.write_snapshot, position, arrays, meta)
            log.info("snapshot at log position %d stored in Redis", position)
        except redis.RedisError as error:
            log.error("snapshot at %d failed: %s", position, error)
        finally:
            try:
                await lock.release()  # only while it still holds our token: never another writer's lock
            except redis.exceptions.LockNotOwnedError:
                log.warning("the snapshot lock expired before the snapshot at %d was stored", position)
            except redis.RedisError:
                pass  # the lock expires by itself

    def snapshot_now(self) -> int:
        """Stores a snapshot of the current state in Redis (blocking); returns its position."""
        arrays, meta = self.engine.export_state()
        position = self.engine.log_position
        self.log.write_snapshot(position, arrays, meta)
        self._snapshots.position = position
        return position

    def snapshot_on_stop(self) -> bool:
        """Never: the snapshots in Redis are every instance's, written by the interval (or `dompromise
        snapshot`); one instance stopping changes nothing for the others' start-up."""
        return False
