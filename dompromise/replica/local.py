"""A replica: one engine fed by one command log, and the writer that sequences commands.

Every write is a LogRecord. `submit` queues it; the writer task takes what is
queued (up to LOG_BATCH_COMMANDS_MAX), stamps each record with the log's
clock, writes them, makes them durable with one sync (group commit), then
applies them to the engine in log order and answers each writer with its
Outcome. So an answer is always the state machine's, and never sent before
its command is durable.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable

from dompromise import limits
from dompromise.errors import UnavailableError
from dompromise.gc_pause import gc_paused
from dompromise.internal.v1 import log_pb2
from dompromise.inventory.engine import Engine
from dompromise.log import snapshot
from dompromise.log.file import LogCorruption
from dompromise.reservations.book import Outcome

log = logging.getLogger(__name__)

# With holds pending, how often the replica checks whether one is due and
# appends a Tick so it expires even when no other command arrives.
TICK_INTERVAL_SECONDS = 0.5
# Records between snapshots: bounds start-up replay (and log size, by compaction).
SNAPSHOT_INTERVAL_RECORDS = 50_000


class Replica:
    """Owns the write path of one engine over one log."""

    def __init__(
        self,
        engine: Engine,
        command_log,
        clock_ns: Callable[[], int] = time.time_ns,
        snapshot_directory: str | None = None,
        snapshot_interval_records: int = SNAPSHOT_INTERVAL_RECORDS,
    ):
        self.engine = engine
        self.log = command_log
        self.snapshot_directory = snapshot_directory
        self.snapshot_interval_records = snapshot_interval_records
        self._snapshot_position = 0
        self._snapshot_task: asyncio.Task | None = None
        self._clock_ns = clock_ns
        self._last_time_ns = 0
        self._queue: asyncio.Queue | None = None
        self._tasks: list[asyncio.Task] = []
        self._failure: BaseException | None = None
        self._apply_listeners: list[Callable[[int, list[log_pb2.LogRecord]], None]] = []

    @property
    def log_id(self) -> str:
        """The log's identity: log positions (and watch versions) mean something only within it."""
        return getattr(self.log, "log_id", "")  # a log without one: every resume_log_id is foreign

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
        for position, payload in self.log.records(self.engine.log_position):
            try:
                record = log_pb2.LogRecord.FromString(payload)
                self.engine.apply_record(record, position)
            except Exception as error:  # a record this state cannot follow: say where, stop
                raise LogCorruption(f"log record {position} cannot be applied: {error!r}") from error
            self._last_time_ns = max(self._last_time_ns, record.log_time_ns)
            applied += 1
        return applied

    def status_changes(self) -> log_pb2.LogRecord | None:
        """A SetNodeStatus record for nodes whose configured status differs from the log's, or None.

        Node status is state: the log holds it, so replay never depends on
        today's config. A config edit takes effect as a logged command here.
        """
        logged = self.engine.node_statuses()
        changed = [(n.node_id, int(n.status)) for n in self.engine.network.nodes if logged[n.node_id] != int(n.status)]
        if self.engine.log_position > 0 and not changed:
            return None
        if self.engine.log_position == 0:  # a new log states every node's status first
            changed = [(n.node_id, int(n.status)) for n in self.engine.network.nodes]
        return log_pb2.LogRecord(
            set_node_status=log_pb2.SetNodeStatus(
                node_ids=[node_id for node_id, _ in changed], statuses=[status for _, status in changed]
            )
        )

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
            self.engine = Engine.from_state(self.engine.network, arrays, meta, self._clock_ns)
        except (ValueError, KeyError, TypeError) as error:
            log.warning("snapshot at %d not used: %s", meta["position"], error)
            return
        self._snapshot_position = meta["position"]
        self._last_time_ns = self.engine.core.log_time_ns
        log.info("loaded snapshot at log position %d", meta["position"])

    def has_unsnapshotted_records(self) -> bool:
        return self.engine.log_position > self._snapshot_position

    def snapshot_now(self) -> str:
        """Writes a snapshot of the current state and compacts the log below it (blocking)."""
        assert self.snapshot_directory is not None, "no snapshot directory"
        arrays, meta = self.engine.export_state()
        position = self.engine.log_position
        self.log.rotate()
        path = snapshot.write_snapshot(self.snapshot_directory, position, arrays, meta)
        self._compact(position)
        return path

    def _compact(self, position: int) -> None:
        self._snapshot_position = position
        # Keep the log back to the older kept snapshot, so falling back to it still works.
        kept = snapshot.snapshot_paths(self.snapshot_directory)
        oldest = int(snapshot.SNAPSHOT_PATTERN.search(kept[0]).group(1)) if kept else 0
        self.log.drop_through(min(position, oldest))

    async def _write_snapshot(self, position: int, arrays, meta) -> None:
        """Writes an exported state off the event loop, then compacts the log below it."""
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(None, snapshot.write_snapshot, self.snapshot_directory, position, arrays, meta)
        except OSError as error:
            log.error("snapshot at %d failed: %s", position, error)
            return
        self._compact(position)
        log.info("snapshot at log position %d written", position)

    def _maybe_snapshot(self) -> None:
        if self.snapshot_directory is None:
            return
        if self.engine.log_position - self._snapshot_position < self.snapshot_interval_records:
            return
        if self._snapshot_task is not None and not self._snapshot_task.done():
            return
        # Here, between batches, nothing is syncing: the export is a consistent
        # cut and the rotation cannot race a sync of the old segment.
        arrays, meta = self.engine.export_state()
        position = self.engine.log_position
        self._snapshot_position = position  # no second snapshot starts meanwhile
        self.log.rotate()
        self._snapshot_task = asyncio.create_task(self._write_snapshot(position, arrays, meta))

    def bootstrap(self, records: Iterable[log_pb2.LogRecord]) -> list[Outcome]:
        """Writes, syncs and applies records synchronously (start-up, before serving)."""
        records = list(records)
        for record in records:
            record.log_time_ns = self._stamp()
        last = self.log.write([r.SerializeToString() for r in records])
        self.log.sync()
        first = last - len(records) + 1
        return [self.engine.apply_record(r, first + i) for i, r in enumerate(records)]

    async def start(self) -> None:
        self._queue = asyncio.Queue(limits.LOG_QUEUE_COMMANDS_MAX)
        self._tasks = [asyncio.create_task(self._write_loop()), asyncio.create_task(self._tick_loop())]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._snapshot_task is not None:
            await asyncio.gather(self._snapshot_task, return_exceptions=True)
        self._tasks = []

    def close(self) -> None:
        """Closes the log (after stop, and after any last snapshot)."""
        self.log.close()

    # ---- the write path ------------------------------------------------------

    def add_apply_listener(self, listener: Callable[[int, list[log_pb2.LogRecord]], None]) -> None:
        """Calls `listener(log_position, records)` after each batch the writer applies.

        Once per batch (so changes coalesce), on the event loop, after every
        record of the batch is applied and its outcome handed to its writer;
        `log_position` is the batch's last. The writer runs it inline: it must
        be quick and never wait (availability watchers only mark what changed
        and wake their streams). An exception in it is logged, never stops the
        writer. Records applied outside the writer (bootstrap, recover) are
        not reported.
        """
        self._apply_listeners.append(listener)

    async def submit(self, record: log_pb2.LogRecord) -> Outcome:
        """Appends a command and returns its outcome once it is durable and applied."""
        if self._failure is not None:
            raise UnavailableError(f"command log failed, writes refused: {self._failure}")
        assert self._queue is not None, "replica not started"
        future = asyncio.get_running_loop().create_future()
        try:
            self._queue.put_nowait((record, future))
        except asyncio.QueueFull:
            raise UnavailableError("command log queue is full; retry with backoff") from None
        return await future

    def now_ns(self) -> int:
        """This replica's wall clock: what the edge checks times against (never the core)."""
        return self._clock_ns()

    def _stamp(self) -> int:
        """The log's clock: wall time, never going backwards along the log."""
        self._last_time_ns = max(self._clock_ns(), self._last_time_ns)
        return self._last_time_ns

    async def _write_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self._queue.get()]
            while len(batch) < limits.LOG_BATCH_COMMANDS_MAX and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                for record, _ in batch:
                    record.log_time_ns = self._stamp()
                last = self.log.write([record.SerializeToString() for record, _ in batch])
                # The one blocking call, off the event loop: reads go on meanwhile.
                await loop.run_in_executor(None, self.log.sync)
            except Exception as error:  # the disk failed: refuse writes from now on
                self._fail(error, batch)
                return
            first = last - len(batch) + 1
            for offset, (record, future) in enumerate(batch):
                try:
                    outcome = self.engine.apply_record(record, first + offset)
                except Exception as error:  # a bug: the log is ahead of the state, stop writing
                    self._fail(error, batch[offset:])
                    return
                if not future.done():
                    future.set_result(outcome)
            if self._apply_listeners:  # nobody listening costs one test per batch
                self._notify_applied(last, [record for record, _ in batch])
            self._maybe_snapshot()

    def _notify_applied(self, log_position: int, records: list[log_pb2.LogRecord]) -> None:
        for listener in self._apply_listeners:
            try:
                listener(log_position, records)
            except Exception:  # a listener's bug must not stop the writer
                log.exception("apply listener %r failed at log position %d", listener, log_position)

    def _fail(self, error: BaseException, batch) -> None:
        log.error("command log write failed; refusing writes: %s", error)
        self._failure = error
        queued = list(batch)
        while not self._queue.empty():
            queued.append(self._queue.get_nowait())
        for _, future in queued:
            if not future.done():  # a writer that gave up has a cancelled future
                future.set_exception(UnavailableError(f"command log write failed: {error}"))

    async def _tick_loop(self) -> None:
        """Appends a Tick when a hold is due, so expiry does not wait for traffic."""
        while True:
            await asyncio.sleep(TICK_INTERVAL_SECONDS)
            due_ns = self.engine.next_expiry_ns()
            if due_ns is not None and due_ns <= self._clock_ns() and self._queue.empty():
                try:
                    await self.submit(log_pb2.LogRecord(tick=log_pb2.Tick()))
                except UnavailableError:
                    return
