"""A reader of the file log another worker writes: `serve --workers N` without Redis.

Worker 0 is the writer: a LocalReplica that owns the data directory (its lock,
its log, its snapshots) as a single `serve` does, plus the endpoint the
readers reach it by (replica/writer_link.py). Every other worker holds a
`FollowerReplica`:

- **State.** At start-up the newest snapshot file, then the segments after
  it (log/tail.py), read-only. While serving, the tail reads what the writer
  made durable: woken at once by the writer's HEAD after each batch, and
  every TAIL_POLL_SECONDS anyway (so a lost link only costs latency). It
  applies in slices (APPLY_SLICE_SECONDS) so reads go on meanwhile, and
  tells the apply listeners (watch streams, min-position waits) as the
  writer's replica does.
- **Writes.** `submit` sends the record to the writer, which sequences,
  syncs and applies it with its own writes, and answers its position; the
  follower answers its caller with the outcome its own state machine gave
  at that position, once its tail applied it. So the answer, its position
  and any read after it on this worker agree (read-your-writes), and the
  same position and log id in metadata mean the same state on every worker.
- **The writer down.** Writes answer UNAVAILABLE at once (the reason names
  the writer), reads go on from this state (nobody else can write, so it is
  not stale), and the write services' health says NOT_SERVING until the
  link is back: the supervisor restarts the writer, it recovers the log,
  and the follower reconnects and takes writes again.
- **Compaction under it.** A tail that finds its next segment compacted
  away (this worker lagged past a snapshot) loads the newest snapshot in
  place and follows on from there; history listeners hear of it.
- **Another log.** A `log repair` while the writer was down gives the
  directory a new log id; the writer comes back serving it. Its HELLO names
  the new id, and the follower, once the directory's `log-id` says the same,
  reloads the newest snapshot and the repaired log in place (as after
  compaction), tells history listeners the new id, and takes the link.
- **Snapshots.** Never written here: the writer writes them for everyone.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable

from dompromise import limits
from dompromise.errors import LogCorruption, LogError, LogGap, UnavailableError
from dompromise.gc_pause import gc_paused
from dompromise.internal.v1 import log_pb2
from dompromise.inventory.engine import Engine
from dompromise.log import snapshot
from dompromise.log.file import LOG_ID_FILE
from dompromise.log.tail import SegmentTail
from dompromise.replica import parts
from dompromise.replica.parts import APPLY_SLICE_SECONDS, ApplyListeners, LogClock
from dompromise.replica.protocol import ApplyListener, HistoryListener, WritabilityListener
from dompromise.replica.writer_link import WriterLink
from dompromise.reservations.book import Outcome

log = logging.getLogger(__name__)

# How often the tail looks at the log when the writer's HEAD did not wake it, in seconds.
TAIL_POLL_SECONDS = 0.2
# How long a forwarded write waits for this worker's tail to apply it once the writer answered, in seconds.
APPLIED_WAIT_SECONDS_MAX = 10.0
# Start-up attempts when the writer's compaction races the catch-up.
RECOVER_ATTEMPTS_MAX = 3


class FollowerReplica:
    """A Replica (replica/protocol.py) following the file log worker 0 writes (see the module doc)."""

    def __init__(self, engine: Engine, directory: str, clock_ns: Callable[[], int] = time.time_ns):
        self.engine = engine
        self.directory = directory
        self._clock = LogClock(clock_ns)
        self._applied = ApplyListeners()
        self._history_listeners: list[HistoryListener] = []
        self._writability_listeners: list[WritabilityListener] = []
        self._tail: SegmentTail | None = None
        self._log_id = ""
        self._link = WriterLink(directory, self._on_head, self._on_link, lambda: self._log_id, self._adopt_log)
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._head = 0  # the last position the writer reported
        # Forwarded writes: their callers wait here for the tail to apply their position.
        self._waiting: dict[int, asyncio.Future[Outcome]] = {}
        self._forwarding = 0  # forwarded writes not answered yet: while any, applied outcomes are kept
        self._outcomes: dict[int, Outcome] = {}
        self.loaded_snapshot_position = 0
        self.resync_count = 0
        self._broken_ns: int | None = None  # when this worker stopped following the log (monotonic ns)

    # ---- the state -------------------------------------------------------------

    @property
    def log_position(self) -> int:
        return self.engine.log_position

    @property
    def log_id(self) -> str:
        return self._log_id

    @property
    def writable(self) -> bool:
        """True while the writer is reachable."""
        return self._link.connected

    def staleness_ms(self) -> int | None:
        """None while following: only the writer appends, and the tail follows its files with or without the
        link. Once this worker stopped following (a record it cannot read or apply), how long ago."""
        if self._broken_ns is None:
            return None
        return max(0, (time.monotonic_ns() - self._broken_ns) // 1_000_000)

    def now_ns(self) -> int:
        return self._clock.now_ns()

    async def head_position(self) -> int:
        """The last position the writer made durable (this worker may not have applied it yet)."""
        if self._tail is None:
            return self.engine.log_position
        return max(self._tail.durable_position(), self._head, self.engine.log_position)

    # ---- start-up ----------------------------------------------------------

    def recover(self) -> int:
        """The newest snapshot, then the log after it to what is durable now; returns the records applied."""
        with gc_paused():
            self._log_id = self._read_log_id()
            for _attempt in range(RECOVER_ATTEMPTS_MAX):
                self._load_snapshot()
                try:
                    return self._catch_up()
                except LogGap as gap:
                    log.warning("start-up catch-up hit a gap (%s): the writer compacted; reloading", gap)
            raise LogCorruption(f"cannot follow the log in {self.directory}: segments go faster than a catch-up")

    def _read_log_id(self) -> str:
        path = f"{self.directory}/{LOG_ID_FILE}"
        try:
            with open(path) as source:
                return source.read().strip()
        except FileNotFoundError:
            raise LogError(f"{path} is missing: the writer (worker 0) has not opened this data directory") from None

    def _load_snapshot(self) -> None:
        loaded = snapshot.load_latest(self.directory)
        if loaded is None:
            if self.engine.log_position:
                self.engine.load_state(Engine(self.engine.network, self._clock.wall_clock_ns))
            self._open_tail(0)
            return
        meta, arrays = loaded
        fresh = Engine.from_state(self.engine.network, arrays, meta, self._clock.wall_clock_ns)
        if self._tasks:
            self.engine.load_state(fresh)  # servicers hold this object
        else:
            self.engine = fresh
        self._clock.observe(self.engine.core.log_time_ns)
        self.loaded_snapshot_position = meta["position"]
        self._open_tail(meta["position"])
        log.info("loaded snapshot at log position %d", meta["position"])

    def _open_tail(self, position: int) -> None:
        if self._tail is not None:
            self._tail.close()
        self._tail = SegmentTail(self.directory, position)

    def _catch_up(self) -> int:
        """Applies what is durable now, blocking (start-up)."""
        assert self._tail is not None, "opened by _load_snapshot"
        applied = 0
        while True:
            entries = self._tail.read(limits.FOLLOWER_READ_RECORDS_MAX)
            if not entries:
                return applied
            for position, payload in entries:
                self._apply(position, log_pb2.LogRecord.FromString(payload))
                applied += 1

    def _apply(self, position: int, record: log_pb2.LogRecord) -> Outcome:
        if position != self.engine.log_position + 1:
            raise LogCorruption(f"the log goes from {self.engine.log_position} to {position}")
        try:
            outcome = self.engine.apply_record(record, position)
        except Exception as error:  # a record this state cannot follow: say where, stop
            raise LogCorruption(f"log record {position} cannot be applied: {error!r}") from error
        self._clock.observe(record.log_time_ns)
        return outcome

    def status_changes(self) -> log_pb2.LogRecord | None:
        """None: the writer logs status changes for everyone."""
        return None

    def bootstrap(self, records: Iterable[log_pb2.LogRecord]) -> list[Outcome]:
        """Never: the writer starts and reconciles the log."""
        raise UnavailableError("a reader worker does not start the log; worker 0 does")

    # ---- serving -------------------------------------------------------------------

    async def start(self) -> None:
        self._wake = asyncio.Event()
        self._tasks = [asyncio.create_task(self._tail_loop()), asyncio.create_task(self._link.run())]

    def serving(self, address: str) -> None:
        """Nothing to announce: the supervisor knows its workers."""

    async def stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(UnavailableError("stopping"))
        self._waiting.clear()

    def snapshot_on_stop(self) -> bool:
        return False

    def close(self) -> None:
        if self._tail is not None:
            self._tail.close()

    # ---- listeners -------------------------------------------------------------------

    def add_apply_listener(self, listener: ApplyListener) -> None:
        """As LocalReplica's: after each batch the tail applied, on the event loop, inline."""
        self._applied.add(listener)

    def add_history_listener(self, listener: HistoryListener) -> None:
        """Called after the state was replaced by a newer snapshot (this worker lagged past compaction)."""
        self._history_listeners.append(listener)

    def add_writability_listener(self, listener: WritabilityListener) -> None:
        """Called when the writer's link goes down or comes back; at once with False if it is down now
        (a reader may start while the writer is down: its health must say so from the start)."""
        self._writability_listeners.append(listener)
        if not self._link.connected:
            listener(False)

    def _on_link(self, up: bool) -> None:
        if up:
            log.info("reader: the writer is reachable at log position %d: writes taken", self.engine.log_position)
        else:
            log.warning("reader: the writer is down: writes refused until it is back; reads go on")
        for listener in self._writability_listeners:
            try:
                listener(up)
            except Exception:
                log.exception("writability listener %r failed", listener)

    def _on_head(self, position: int) -> None:
        self._head = max(self._head, position)
        if position > self.engine.log_position:
            self._wake.set()

    # ---- writes ----------------------------------------------------------------------

    async def submit(self, record: log_pb2.LogRecord) -> Outcome:
        """Has the writer append the record; its outcome here once this worker's tail applied it."""
        self._forwarding += 1
        try:
            position, time_ns = await self._link.append(record)
            record.log_time_ns = time_ns
            return await self._outcome_at(position)
        finally:
            self._forwarding -= 1
            if not self._forwarding:
                self._outcomes.clear()

    async def _outcome_at(self, position: int) -> Outcome:
        kept = self._outcomes.pop(position, None)
        if kept is not None:
            return kept
        if position <= self.engine.log_position:
            raise UnavailableError(
                f"written at log position {position}, its outcome no longer known here; retry with the same request_id"
            )
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._waiting[position] = future
        self._wake.set()
        try:
            return await asyncio.wait_for(future, APPLIED_WAIT_SECONDS_MAX)
        except TimeoutError:
            raise UnavailableError(
                f"written at log position {position} but not applied here within {APPLIED_WAIT_SECONDS_MAX:g}s; "
                "retry with the same request_id"
            ) from None
        finally:
            self._waiting.pop(position, None)

    # ---- the tail ----------------------------------------------------------------------

    async def _tail_loop(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), TAIL_POLL_SECONDS)
            except TimeoutError:
                pass
            self._wake.clear()
            try:
                await self._follow()
            except LogGap as gap:
                log.warning("reader: %s: loading the newest snapshot", gap)
                self._resync()
            except LogError as error:
                log.error("reader: cannot follow the log any more: %s; writes refused", error)
                self._link_broken(str(error))
                return
            except OSError as error:  # a read failed: the next turn tries again (TAIL_POLL_SECONDS on)
                log.error("reader: reading the log failed: %s; trying again", error)

    async def _follow(self) -> None:
        """Reads and applies what is durable, FOLLOWER_READ_RECORDS_MAX records at a time."""
        assert self._tail is not None, "recover opened the tail"
        # A resync on another task meanwhile (_adopt_log, at the link's HELLO) replaced the state and the tail:
        # what is left of this read belongs to the old one (the next turn reads the new tail).
        resyncs = self.resync_count
        while True:
            entries = self._tail.read(limits.FOLLOWER_READ_RECORDS_MAX)
            if not entries:
                return
            parsed = [log_pb2.LogRecord.FromString(payload) for _, payload in entries]
            await parts.make_room(self.engine, parsed)
            done = 0
            while done < len(entries) and self.resync_count == resyncs:
                done += self._apply_slice(entries[done:], parsed[done:])
                await asyncio.sleep(0)
            if self.resync_count != resyncs:
                return

    def _apply_slice(self, entries: list[tuple[int, bytes]], parsed: list[log_pb2.LogRecord]) -> int:
        """Applies records for about APPLY_SLICE_SECONDS; returns how many."""
        started = time.perf_counter()
        applied: list[log_pb2.LogRecord] = []
        for (position, _), record in zip(entries, parsed):
            outcome = self._apply(position, record)
            applied.append(record)
            self._answer(position, outcome)
            if time.perf_counter() - started > APPLY_SLICE_SECONDS:
                break
        if self._applied:
            self._applied.notify(self.engine.log_position, applied)
        return len(applied)

    def _answer(self, position: int, outcome: Outcome) -> None:
        future = self._waiting.pop(position, None)
        if future is not None:
            if not future.done():
                future.set_result(outcome)
        elif self._forwarding:
            self._outcomes[position] = outcome
            if len(self._outcomes) > limits.FOLLOWER_KEPT_OUTCOMES_MAX:
                del self._outcomes[next(iter(self._outcomes))]  # the oldest: its writer gave up long ago

    def _adopt_log(self, writer_log_id: str) -> bool:
        """The writer serves another log than this worker follows (a `log repair` while it was down): the new
        log's state in place of this one. True once this worker follows it (WriterLink then takes the link)."""
        try:
            directory_log_id = self._read_log_id()
        except (LogError, OSError) as error:
            log.error("reader: the writer serves log %s; this directory's log id: %s", writer_log_id, error)
            return False
        if directory_log_id != writer_log_id:
            log.error(
                "reader: the writer serves log %s but %s/%s says %s: writes refused until they agree",
                writer_log_id,
                self.directory,
                LOG_ID_FILE,
                directory_log_id,
            )
            return False
        log.warning("reader: the log changed from %s to %s (a repair): reloading it", self._log_id, writer_log_id)
        previous, self._log_id = self._log_id, writer_log_id
        self._outcomes.clear()  # positions of the old history
        try:
            self._resync()
        except OSError as error:  # not followed yet: the next HELLO (same id) must ask again, not take the link
            self._log_id = previous
            log.error("reader: reloading log %s failed: %s; trying again at the next link", writer_log_id, error)
            return False
        return self._broken_ns is None

    def _resync(self) -> None:
        """The newest snapshot in place of this state, then the log after it (blocks the loop meanwhile)."""
        self.resync_count += 1
        try:
            for _attempt in range(RECOVER_ATTEMPTS_MAX):
                self._load_snapshot()
                try:
                    self._catch_up()
                    break
                except LogGap as gap:
                    log.warning("reader: resync hit a gap (%s); again", gap)
        except LogError as error:
            log.error("reader: resync failed: %s", error)
            self._link_broken(str(error))
            return
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(UnavailableError("outcome unknown after a resync; retry with the same request_id"))
        self._waiting.clear()
        for listener in self._history_listeners:
            try:
                listener(self._log_id)
            except Exception:
                log.exception("history listener %r failed", listener)
        log.info("reader: resynced at log position %d", self.engine.log_position)

    def _link_broken(self, reason: str) -> None:
        """Stops taking writes for good; reads go on, saying how stale they are (x-dompromise-stale-ms)."""
        self._broken_ns = time.monotonic_ns()
        for task in self._tasks[1:]:
            task.cancel()  # the link: no writes through a replica that stopped following
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(UnavailableError(f"this worker stopped following the log: {reason}"))
        self._waiting.clear()
