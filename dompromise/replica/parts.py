"""The parts both kinds of replica are built of (replica/local.py, replica/shared.py).

Each replica holds these and says what they mean for its log; neither is the
other's parent, so a method never means one thing on one kind and another on
the other.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Coroutine, Sequence
from queue import SimpleQueue
from typing import Any

from dompromise import limits
from dompromise.errors import UnavailableError
from dompromise.internal.v1 import log_pb2
from dompromise.inventory.engine import Engine
from dompromise.replica.protocol import ApplyListener
from dompromise.reservations.book import Outcome

log = logging.getLogger(__name__)

# With holds pending, how often a replica checks whether one is due and
# appends a Tick so it expires even when no other command arrives.
TICK_INTERVAL_SECONDS = 0.5
# Group commit (GroupCommit): a batch with company waits for more commands in steps of this many seconds, and
# stops after a step nobody joined in, or after GROUP_COMMIT_DELAY_SECONDS_MAX in all. A fixed 2 ms wait measured
# with 64 reserves in flight on the file log: 1.2 commands a sync -> ~5, and 1,514 -> 2,458 reserves/s.
GROUP_COMMIT_STEP_SECONDS = 0.001
GROUP_COMMIT_DELAY_SECONDS_MAX = 0.004
# A wait that ended on a quiet step with at most this many commands collected every writer there was (a few
# clients in lockstep): the next wait ends the moment as many are queued, not a step later.
GROUP_COMMIT_FEW_WRITERS_MAX = 8
# One group-commit wait in this many ignores the writers thought to be all (GroupCommit.writers_to_expect).
GROUP_COMMIT_PROBE_EVERY = 16
GROUP_COMMIT_STEPS_MAX = round(GROUP_COMMIT_DELAY_SECONDS_MAX / GROUP_COMMIT_STEP_SECONDS)
# Records between snapshots: bounds start-up replay (and log size, by compaction).
SNAPSHOT_INTERVAL_RECORDS = 50_000

# How long a replica applies records before it lets the event loop answer reads
# (a catalog record of CATALOG_SKUS_MAX SKUs takes ~10 ms: reads wait at most
# about this plus one record).
APPLY_SLICE_SECONDS = 0.005

# A command waiting for the writer, and the future its outcome goes to.
Pending = tuple[log_pb2.LogRecord, "asyncio.Future[Outcome]"]


class LogClock:
    """The log's clock: wall time, never going backwards along the log."""

    def __init__(self, wall_clock_ns: Callable[[], int]):
        self.wall_clock_ns = wall_clock_ns
        # The newest log time stamped or applied; the next stamp is never older.
        self.last_time_ns = 0

    def now_ns(self) -> int:
        return self.wall_clock_ns()

    def stamp(self) -> int:
        self.last_time_ns = max(self.wall_clock_ns(), self.last_time_ns)
        return self.last_time_ns

    def observe(self, time_ns: int) -> None:
        """A record applied with this log time: later stamps are not older."""
        self.last_time_ns = max(self.last_time_ns, time_ns)


class GroupCommit:
    """Batches that wait for company when writes come faster than the writer syncs them (the file log).

    Under load the calls reach the write queue one by one (each passes gRPC's machinery and the event loop
    first), so a writer that syncs as soon as it holds one command syncs each alone: measured with 64
    reserves in flight, 1.2 commands a sync, each sync ~160 us of CPU here. So when a command was already
    waiting as the writer came back from its last batch (writes arrive while it syncs), the batch waits for
    others to join (as PostgreSQL's commit_delay, taken only with company) while they keep coming
    (wait_for_company). A lone or sequential writer finds the queue empty each time: it is never delayed.

    A few clients each with a call in flight come back in lockstep: all of them are in the batch well before
    a step ends, and waiting out the step (and one more to see it quiet) left the core idle: with 4 reserves
    in flight, 1,034 reserves/s and p50 4.4 ms, worse than no wait (1,692/s, 2.3 ms). Once two quiet waits
    in a row collected the same few writers, a wait ends the moment as many are in the batch (Arrivals):
    ~2,000/s, p50 2.0 ms. Heavy traffic that trickles in can look alike, so one wait in
    GROUP_COMMIT_PROBE_EVERY ignores it, and more commands than writers forget it.
    """

    def __init__(self) -> None:
        self.delayed_batches = 0  # batches that waited, ever (tests, operators)
        self.all_back_batches = 0  # waits that ended once the few writers were all back
        self.waited_steps = 0  # GROUP_COMMIT_STEP_SECONDS steps they waited in all
        self.started = False  # commands queued before the writer's first batch are no sign of company
        # A few writers in lockstep, once two quiet waits in a row collected as many (GROUP_COMMIT_FEW_WRITERS_MAX
        # at most); 0: unknown, or traffic too heavy to say. `_seen`: the last quiet wait's count.
        self.writers = 0
        self._seen = 0
        self._waits = 0

    def writers_to_expect(self) -> int:
        """The writers a wait may end on once all are back; every GROUP_COMMIT_PROBE_EVERY-th wait, 0: a plain
        wait, which tells whether more writers came meanwhile (heavy traffic that trickles in looks alike)."""
        self._waits += 1
        return 0 if self._waits % GROUP_COMMIT_PROBE_EVERY == 0 else self.writers

    def learn(self, ended: str, batch_commands: int) -> None:
        """What a wait's end says of the writers (see `writers`)."""
        self.all_back_batches += ended == ALL_BACK
        if ended == QUIET and batch_commands <= GROUP_COMMIT_FEW_WRITERS_MAX:
            if batch_commands == self._seen:
                self.writers = batch_commands
            elif batch_commands > self.writers:
                self.writers = 0
            self._seen = batch_commands
        elif ended != ALL_BACK or batch_commands > self.writers:  # more came than were all: not a few in lockstep
            self.writers = self._seen = 0


class SyncThread:
    """One long-lived thread that runs the log's blocking syncs, one at a time, for the writer.

    A sync through loop.run_in_executor costs ~68 us of CPU on the serving core per batch (measured pinned
    to one core: the executor's work item, futures chained across threads, its thread-count bookkeeping);
    handed to this thread by a queue and answered with call_soon_threadsafe, ~35 us, and half the wait.
    The writer waits for each sync before the next batch, so one thread is all it can use.
    """

    def __init__(self) -> None:
        self._jobs: SimpleQueue[tuple[Callable[[], None], asyncio.Future[None]] | None] = SimpleQueue()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        """Starts the thread, answering on the running event loop."""
        assert self._thread is None, "sync thread started twice"
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._run, name="dompromise-log-sync", daemon=True)
        self._thread.start()

    async def run(self, sync: Callable[[], None]) -> None:
        """Runs `sync` in the thread; returns (or raises what it raised) once it is done."""
        assert self._loop is not None, "sync thread not started"
        done: asyncio.Future[None] = self._loop.create_future()
        self._jobs.put((sync, done))
        await done

    async def stop(self) -> None:
        """Lets a sync under way finish, then ends the thread."""
        if self._thread is None:
            return
        self._jobs.put(None)
        await asyncio.to_thread(self._thread.join)
        self._thread = None

    def _run(self) -> None:
        loop = self._loop
        assert loop is not None, "sync thread not started"
        while True:
            job = self._jobs.get()
            if job is None:
                return
            sync, done = job
            error: BaseException | None = None
            try:
                sync()
            except BaseException as raised:  # the writer decides what a failed sync means
                error = raised
            try:
                loop.call_soon_threadsafe(_settle, done, error)
            except RuntimeError:  # the loop closed meanwhile: nobody is waiting
                return


def _settle(done: asyncio.Future[None], error: BaseException | None) -> None:
    if done.done():  # the writer was cancelled meanwhile (stop)
        return
    if error is None:
        done.set_result(None)
    else:
        done.set_exception(error)


class WriteQueue:
    """Commands waiting for the writer: at most LOG_QUEUE_COMMANDS_MAX, taken LOG_BATCH_COMMANDS_MAX at a time."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[Pending] | None = None
        self._arrivals = Arrivals()

    def open(self) -> None:
        """Starts taking commands (on the event loop that serves)."""
        self._queue = asyncio.Queue(limits.LOG_QUEUE_COMMANDS_MAX)

    def _opened(self) -> asyncio.Queue[Pending]:
        assert self._queue is not None, "replica not started"
        return self._queue

    def put(self, record: log_pb2.LogRecord) -> asyncio.Future[Outcome]:
        """Queues a command; its outcome comes to the returned future. UnavailableError when the queue is full."""
        queue = self._opened()
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        try:
            queue.put_nowait((record, future))
        except asyncio.QueueFull:
            raise UnavailableError("command log queue is full; retry with backoff") from None
        self._arrivals.arrived(queue.qsize())
        return future

    async def take_batch(self, group: GroupCommit | None = None) -> list[Pending]:
        """Waits for one command, then takes what else is queued, up to LOG_BATCH_COMMANDS_MAX in all. With a
        `group`, a batch whose first command was already waiting waits for others to join (group commit)."""
        queue = self._opened()
        company = not queue.empty()  # a command came while the last batch synced: others are coming
        batch = [await queue.get()]
        ended = ""
        if group is not None:
            if company and group.started and queue.qsize() + 1 < limits.LOG_BATCH_COMMANDS_MAX:
                group.delayed_batches += 1
                steps, ended = await wait_for_company(queue, group.writers_to_expect(), self._arrivals)
                group.waited_steps += steps
            group.started = True
        while len(batch) < limits.LOG_BATCH_COMMANDS_MAX and not queue.empty():
            batch.append(queue.get_nowait())
        if ended and group is not None:
            group.learn(ended, len(batch))
        return batch

    def empty(self) -> bool:
        return self._opened().empty()

    def drain(self) -> list[Pending]:
        """Takes every queued command (the writer failed: each is answered with the failure)."""
        queue = self._opened()
        drained = []
        while not queue.empty():
            drained.append(queue.get_nowait())
        return drained


# How a group-commit wait ended (wait_for_company).
QUIET, ALL_BACK, FULL, TIMED_OUT = "quiet", "all back", "full", "timed out"


class Arrivals:
    """Wakes a group-commit wait the moment the write queue holds as many commands as it waits for."""

    def __init__(self) -> None:
        self._waiter: asyncio.Future[None] | None = None
        self._wanted = 0

    def arrived(self, queued: int) -> None:
        """The queue now holds `queued` commands (WriteQueue.put)."""
        waiter = self._waiter
        if waiter is not None and queued >= self._wanted and not waiter.done():
            waiter.set_result(None)

    async def step(self, wanted: int) -> None:
        """One GROUP_COMMIT_STEP_SECONDS step, or less: until the queue holds `wanted` commands."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        self._waiter, self._wanted = waiter, wanted
        timer = loop.call_later(GROUP_COMMIT_STEP_SECONDS, _settle, waiter, None)
        try:
            await waiter
        finally:
            timer.cancel()
            self._waiter = None


async def wait_for_company(
    queue: asyncio.Queue[Any], writers: int = 0, arrivals: Arrivals | None = None
) -> tuple[int, str]:
    """Waits while commands keep joining the queue: GROUP_COMMIT_STEP_SECONDS at a time, until a step brings
    none, the batch would be full, or GROUP_COMMIT_DELAY_SECONDS_MAX passed. Heavy traffic fills larger batches
    (fewer syncs, each ~150 us of CPU with its thread's hand-off and the writer's turn); a few overlapping
    writers wait one step, not the whole delay. With `writers` known (a few, in lockstep) and `arrivals`, it
    ends the moment that many commands are in the batch: nobody else is coming, a step more would leave the
    core idle. Returns the steps waited (a step cut short counts) and how it ended."""
    steps = 0
    queued = queue.qsize()
    lockstep = arrivals is not None and writers >= 2
    while steps < GROUP_COMMIT_STEPS_MAX:
        if lockstep and queued + 1 >= writers:
            return steps, ALL_BACK
        if lockstep:
            assert arrivals is not None, "lockstep needs arrivals"
            await arrivals.step(writers - 1)
        else:
            await asyncio.sleep(GROUP_COMMIT_STEP_SECONDS)
        steps += 1
        joined = queue.qsize() - queued
        queued += joined
        if queued + 1 >= limits.LOG_BATCH_COMMANDS_MAX:
            return steps, FULL
        if lockstep and queued + 1 >= writers:
            return steps, ALL_BACK
        if joined == 0:
            return steps, QUIET
    return steps, TIMED_OUT


class ApplyListeners:
    """Who hears of each applied batch (watch streams, min-position waits, reservation events)."""

    def __init__(self) -> None:
        self._listeners: list[ApplyListener] = []

    def add(self, listener: ApplyListener) -> None:
        self._listeners.append(listener)

    def __bool__(self) -> bool:
        return bool(self._listeners)  # nobody listening costs the writer one test per batch

    def notify(self, log_position: int, records: list[log_pb2.LogRecord]) -> None:
        for listener in self._listeners:
            try:
                listener(log_position, records)
            except Exception:  # a listener's bug must not stop the writer
                log.exception("apply listener %r failed at log position %d", listener, log_position)


class SnapshotSchedule:
    """When the next snapshot is due: `interval_records` after the last one, never two at a time."""

    def __init__(self, interval_records: int):
        assert interval_records >= 1, interval_records
        self.interval_records = interval_records
        # The last snapshot written, started or loaded: records after it are not in one.
        self.position = 0
        self._task: asyncio.Task[None] | None = None

    def due(self, log_position: int) -> bool:
        if log_position - self.position < self.interval_records:
            return False
        return self._task is None or self._task.done()

    def start(self, log_position: int, write: Coroutine[Any, Any, None]) -> None:
        """Runs `write` (a snapshot at `log_position`) as a task; no second one is due meanwhile."""
        self.position = log_position
        self._task = asyncio.create_task(write)

    async def finish(self) -> None:
        """Waits for a snapshot in progress (stop)."""
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)


async def make_room(engine: Engine, records: Sequence[log_pb2.LogRecord]) -> None:
    """Room for the SKU rows these records may add, made before they apply (and their
    SKU documents decoded): when the core must double, the copy runs in a thread (numpy, without the GIL) while this
    replica's applying waits and its event loop goes on answering reads, then is put
    in here. Room is not state: every replica applies the records alike either way."""
    count = engine.rows_wanted(records)
    if count == 0:
        return
    loop = asyncio.get_running_loop()
    prepared = await loop.run_in_executor(None, engine.prepare_rows, records, count)
    if prepared is None:
        return
    replaced = engine.install_rows(prepared)
    del prepared
    if replaced is None:
        log.debug("prepared growth not used: the state changed meanwhile")
        return
    # Unmapping the old buffers holds the GIL (~0.1 s a GB): in the thread, one at a time.
    await loop.run_in_executor(None, _release, replaced)


def _release(buffers: list[object]) -> None:
    while buffers:
        buffers.pop()  # its pages are unmapped here
        time.sleep(0)  # the event loop's thread may take the GIL between two


def status_changes(engine: Engine) -> log_pb2.LogRecord | None:
    """A SetNodeStatus record for nodes whose configured status differs from the log's, or None.

    Node status is state: the log holds it, so replay never depends on
    today's config. A config edit takes effect as a logged command here.
    """
    logged = engine.node_statuses()
    changed = [(n.node_id, int(n.status)) for n in engine.network.nodes if logged[n.node_id] != int(n.status)]
    if engine.log_position > 0 and not changed:
        return None
    if engine.log_position == 0:  # a new log states every node's status first
        changed = [(n.node_id, int(n.status)) for n in engine.network.nodes]
    return log_pb2.LogRecord(
        set_node_status=log_pb2.SetNodeStatus(
            node_ids=[node_id for node_id, _ in changed], statuses=[status for _, status in changed]
        )
    )
