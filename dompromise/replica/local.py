"""A local replica: one engine fed by one command log this process owns, and the writer that sequences commands.

Every write is a LogRecord. `submit` queues it; the writer task takes what is
queued (up to LOG_BATCH_COMMANDS_MAX), stamps each record with the log's
clock, writes them, makes them durable with one sync (group commit), then
applies them to the engine in log order and answers each writer with its
Outcome. So an answer is always the state machine's, and never sent before
its command is durable.

The log is a FileLog (snapshot files beside it bound start-up replay and let
it be compacted) or a MemoryLog; anything with the CommandLog protocol
(replica/protocol.py) will do.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from dompromise.errors import LogCorruption, UnavailableError
from dompromise.gc_pause import gc_paused
from dompromise.internal.v1 import log_pb2
from dompromise.inventory.engine import Engine
from dompromise.log import snapshot
from dompromise.replica import parts
from dompromise.replica.parts import (
    APPLY_SLICE_SECONDS,
    SNAPSHOT_INTERVAL_RECORDS,
    TICK_INTERVAL_SECONDS,
    ApplyListeners,
    GroupCommit,
    LogClock,
    Pending,
    SnapshotSchedule,
    SyncThread,
    WriteQueue,
)
from dompromise.replica.protocol import ApplyListener, CommandLog, HistoryListener, WritabilityListener
from dompromise.reservations.book import Outcome

log = logging.getLogger(__name__)


class LocalReplica:
    """Owns the write path of one engine over one log (a Replica: replica/protocol.py)."""

    def __init__(
        self,
        engine: Engine,
        command_log: CommandLog,
        clock_ns: Callable[[], int] = time.time_ns,
        snapshot_directory: str | None = None,
        snapshot_interval_records: int = SNAPSHOT_INTERVAL_RECORDS,
    ):
        self.engine = engine
        self.log = command_log
        self.snapshot_directory = snapshot_directory
        self._snapshots = SnapshotSchedule(snapshot_interval_records)
        self._clock = LogClock(clock_ns)
        self._writes = WriteQueue()
        # A log whose sync waits for a disk: batches wait for company (None: each syncs what is queued).
        self.group_commit: GroupCommit | None = GroupCommit()
        self._syncs = SyncThread()  # a log whose sync blocks syncs there, off the event loop
        self._tasks: list[asyncio.Task[None]] = []
        self._failure: BaseException | None = None
        self._applied = ApplyListeners()

    # ---- the state -------------------------------------------------------------

    @property
    def log_position(self) -> int:
        return self.engine.log_position

    async def head_position(self) -> int:
        """This process sequences its log: what it applied is the head."""
        return self.engine.log_position

    @property
    def log_id(self) -> str:
        """The log's identity: log positions (and watch versions) mean something only within it."""
        return self.log.log_id

    @property
    def writable(self) -> bool:
        """False once the log failed: writes are refused for the life of the process."""
        return self._failure is None

    def staleness_ms(self) -> int | None:
        """Always None: this process writes the log it reads, so its state is never behind it."""
        return None

    def now_ns(self) -> int:
        """This replica's wall clock: what the edge checks times against (never the core)."""
        return self._clock.now_ns()

    # ---- start-up ----------------------------------------------------------

    def recover(self) -> int:
        """Loads the newest usable snapshot, then replays the log after it.

        Returns how many log records were replayed. Refuses (LogCorruption) when
        the log no longer holds what the state needs. The cyclic garbage
        collector is paused meanwhile (gc_pause.py).
        """
        with gc_paused():
            return self._recover()

    def _recover(self) -> int:
        self._load_snapshot()
        if self.engine.log_position + 1 < self.log.first_position:
            raise LogCorruption(
                f"the log starts at {self.log.first_position} but no usable snapshot covers "
                f"positions up to {self.log.first_position - 1}"
            )
        applied = 0
        replay = self.engine.replay_payload  # from the bytes: a reserve needs no LogRecord (inventory/_records.pyx)
        for position, payload in self.log.records(self.engine.log_position):
            try:
                replay(payload, position)
            except Exception as error:  # a record this state cannot follow: say where, stop
                raise LogCorruption(f"log record {position} cannot be applied: {error!r}") from error
            applied += 1
        self._clock.observe(self.engine.log_time_ns)  # every record's time is the state's when applied
        return applied

    def status_changes(self) -> log_pb2.LogRecord | None:
        """A SetNodeStatus record for nodes whose configured status differs from the log's, or None."""
        return parts.status_changes(self.engine)

    def _load_snapshot(self) -> None:
        if self.snapshot_directory is None:
            return
        loaded = snapshot.load_latest(self.snapshot_directory)
        if loaded is None:
            return
        meta, arrays = loaded
        if meta["position"] > self.log.last_position:
            log.warning("snapshot at %d is ahead of the log (%d); ignored", meta["position"], self.log.last_position)
            return
        try:
            self.engine = Engine.from_state(self.engine.network, arrays, meta, self._clock.wall_clock_ns)
        except (ValueError, KeyError, TypeError) as error:
            log.warning("snapshot at %d not used: %s", meta["position"], error)
            return
        self._snapshots.position = meta["position"]
        self._clock.last_time_ns = self.engine.core.log_time_ns
        log.info("loaded snapshot at log position %d", meta["position"])

    def bootstrap(self, records: Iterable[log_pb2.LogRecord]) -> list[Outcome]:
        """Writes, syncs and applies records synchronously (start-up, before serving)."""
        records = list(records)
        for record in records:
            record.log_time_ns = self._clock.stamp()
        last = self.log.write([r.SerializeToString() for r in records])
        self.log.sync()
        first = last - len(records) + 1
        return [self.engine.apply_record(r, first + i) for i, r in enumerate(records)]

    # ---- snapshots ---------------------------------------------------------------

    def has_unsnapshotted_records(self) -> bool:
        return self.engine.log_position > self._snapshots.position

    def snapshot_now(self) -> str:
        """Writes a snapshot of the current state and compacts the log below it (blocking); returns its path."""
        assert self.snapshot_directory is not None, "no snapshot directory"
        arrays, meta = self.engine.export_state()
        position = self.engine.log_position
        self.log.rotate()
        path = snapshot.write_snapshot(self.snapshot_directory, position, arrays, meta)
        self._compact(position)
        return path

    def snapshot_on_stop(self) -> bool:
        """A snapshot file on the way out (with a snapshot directory, and records since the last one)."""
        if self.snapshot_directory is None or not self.has_unsnapshotted_records():
            return False
        self.snapshot_now()
        return True

    def _compact(self, position: int) -> None:
        assert self.snapshot_directory is not None, "no snapshot directory"
        self._snapshots.position = position
        # Keep the log back to the older kept snapshot, so falling back to it still works.
        kept = snapshot.snapshot_paths(self.snapshot_directory)
        oldest = 0
        if kept:
            match = snapshot.SNAPSHOT_PATTERN.search(kept[0])
            assert match is not None, kept[0]  # snapshot_paths lists only names that match
            oldest = int(match.group(1))
        self.log.drop_through(min(position, oldest))

    async def _write_snapshot(
        self, directory: str, position: int, arrays: dict[str, np.ndarray], meta: dict[str, Any]
    ) -> None:
        """Writes an exported state off the event loop, then compacts the log below it."""
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(None, snapshot.write_snapshot, directory, position, arrays, meta)
        except OSError as error:
            log.error("snapshot at %d failed: %s", position, error)
            return
        self._compact(position)
        log.info("snapshot at log position %d written", position)

    def _maybe_snapshot(self) -> None:
        if self.snapshot_directory is None or not self._snapshots.due(self.engine.log_position):
            return
        # Here, between batches, nothing is syncing: the export is a consistent
        # cut and the rotation cannot race a sync of the old segment.
        arrays, meta = self.engine.export_state()
        position = self.engine.log_position
        self.log.rotate()
        self._snapshots.start(position, self._write_snapshot(self.snapshot_directory, position, arrays, meta))

    # ---- serving -------------------------------------------------------------------

    async def start(self) -> None:
        self._writes.open()
        if self.log.sync_blocks:
            self._syncs.start()
        self._tasks = [asyncio.create_task(self._write_loop()), asyncio.create_task(self._tick_loop())]

    def serving(self, address: str) -> None:
        """Nothing to announce: no other instance reads this log."""

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._syncs.stop()
        await self._snapshots.finish()
        self._tasks = []

    def close(self) -> None:
        """Closes the log (after stop, and after any last snapshot)."""
        self.log.close()

    # ---- the write path ------------------------------------------------------

    def add_apply_listener(self, listener: ApplyListener) -> None:
        """Calls `listener(log_position, records)` after each batch the writer applies.

        Once per batch (so changes coalesce), on the event loop, after every
        record of the batch is applied and its outcome handed to its writer;
        `log_position` is the batch's last. The writer runs it inline: it must
        be quick and never wait (availability watchers only mark what changed
        and wake their streams). An exception in it is logged, never stops the
        writer. Records applied outside the writer (bootstrap, recover) are
        not reported.
        """
        self._applied.add(listener)

    def add_history_listener(self, listener: HistoryListener) -> None:
        """Never called: one process writes this log and its state is never replaced while it serves."""

    def add_writability_listener(self, listener: WritabilityListener) -> None:
        """Never called: a failed disk refuses each write (UnavailableError) and is not announced."""

    async def submit(self, record: log_pb2.LogRecord) -> Outcome:
        """Appends a command and returns its outcome once it is durable and applied."""
        if self._failure is not None:
            raise UnavailableError(f"command log failed, writes refused: {self._failure}")
        return await self._writes.put(record)

    async def _write_loop(self) -> None:
        while True:
            batch = await self._writes.take_batch(self.group_commit if self.log.sync_blocks else None)
            try:
                for record, _ in batch:
                    record.log_time_ns = self._clock.stamp()
                payloads = [record.SerializeToString() for record, _ in batch]
                last = self.log.write(payloads)
                if self.log.sync_blocks:
                    # The one blocking call, off the event loop (its own thread): reads go on meanwhile.
                    await self._syncs.run(self.log.sync)
                else:  # nothing to wait for: a thread handoff would cost more than the batch (memory log)
                    self.log.sync()
            except Exception as error:  # the disk failed: refuse writes from now on
                self._fail(error, batch)
                return
            first = last - len(batch) + 1
            records = [record for record, _ in batch]
            if self.engine.rows_wanted(records):  # rare (new SKUs): a reserve's batch goes straight on
                await parts.make_room(self.engine, records)
            slice_started = time.perf_counter()
            for offset, (record, future) in enumerate(batch):
                try:
                    outcome = self.engine.apply_payload(payloads[offset], first + offset, record)
                except Exception as error:  # a bug: the log is ahead of the state, stop writing
                    self._fail(error, batch[offset:])
                    return
                if not future.done():
                    future.set_result(outcome)
                if time.perf_counter() - slice_started > APPLY_SLICE_SECONDS:
                    # Reads go on between records (each durable already; this task is the
                    # only one applying, so no write comes between).
                    await asyncio.sleep(0)
                    slice_started = time.perf_counter()
            if self._applied:
                self._applied.notify(last, records)
            self._maybe_snapshot()

    def _fail(self, error: BaseException, batch: list[Pending]) -> None:
        log.error("command log write failed; refusing writes: %s", error)
        self._failure = error
        for _, future in batch + self._writes.drain():
            if not future.done():  # a writer that gave up has a cancelled future
                future.set_exception(UnavailableError(f"command log write failed: {error}"))

    async def _tick_loop(self) -> None:
        """Appends a Tick when a hold is due, so expiry does not wait for traffic."""
        while True:
            await asyncio.sleep(TICK_INTERVAL_SECONDS)
            due_ns = self.engine.next_expiry_ns()
            if due_ns is not None and due_ns <= self._clock.now_ns() and self._writes.empty():
                try:
                    await self.submit(log_pb2.LogRecord(tick=log_pb2.Tick()))
                except UnavailableError:
                    return


# The name tests and benchmarks construct a local replica by (the protocol of both kinds is
# replica.protocol.Replica).
Replica = LocalReplica
