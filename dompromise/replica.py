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
from dompromise.engine import Engine
from dompromise.errors import UnavailableError
from dompromise.internal.v1 import log_pb2
from dompromise.reservations import Outcome

log = logging.getLogger(__name__)

# With holds pending, how often the replica checks whether one is due and
# appends a Tick so it expires even when no other command arrives.
TICK_INTERVAL_SECONDS = 0.5


class Replica:
    """Owns the write path of one engine over one log."""

    def __init__(self, engine: Engine, command_log, clock_ns: Callable[[], int] = time.time_ns):
        self.engine = engine
        self.log = command_log
        self._clock_ns = clock_ns
        self._last_time_ns = 0
        self._queue: asyncio.Queue | None = None
        self._tasks: list[asyncio.Task] = []
        self._failure: BaseException | None = None

    # ---- start-up ----------------------------------------------------------

    def recover(self) -> int:
        """Replays the whole log into the engine; returns how many records were applied."""
        applied = 0
        for position, payload in self.log.records(self.engine.log_position):
            record = log_pb2.LogRecord.FromString(payload)
            self.engine.apply_record(record, position)
            self._last_time_ns = max(self._last_time_ns, record.log_time_ns)
            applied += 1
        return applied

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
        self._tasks = []
        self.log.close()

    # ---- the write path ------------------------------------------------------

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

    def _fail(self, error: BaseException, batch) -> None:
        log.error("command log write failed; refusing writes: %s", error)
        self._failure = error
        for _, future in batch:
            if not future.done():
                future.set_exception(UnavailableError(f"command log write failed: {error}"))
        while not self._queue.empty():
            _, future = self._queue.get_nowait()
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
