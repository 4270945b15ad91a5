"""What the rest of the program needs of a replica, and what a local replica needs of its command log.

Two kinds of replica satisfy `Replica`, each a class of its own that shares
parts (replica/parts.py) rather than a parent:

- `LocalReplica` (replica/local.py): one process owns the log (a FileLog, or
  a MemoryLog for tests and `--in-memory`); it sequences, syncs and applies.
- `SharedReplica` (replica/shared.py): many instances share a Redis stream;
  Redis sequences, every instance tails and applies.

A capability only one kind has is still a member here, with the answer the
other kind gives: a local log's history never changes (history listeners are
never called), a local replica is never stale (`staleness_ms` is None), only
a shared replica registers where it serves. So the service layer, the watch
hub and `serve` never ask which kind they hold.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Protocol

from dompromise.internal.v1 import log_pb2
from dompromise.inventory.engine import Engine
from dompromise.reservations.book import Outcome

# listener(log_position, records): after each batch the replica applied (the position is the batch's last).
ApplyListener = Callable[[int, list[log_pb2.LogRecord]], None]
# listener(log_id): the state was replaced or the log id changed; earlier positions may name other states.
HistoryListener = Callable[[str], None]
# listener(writable): writes became refused, or accepted again.
WritabilityListener = Callable[[bool], None]


class CommandLog(Protocol):
    """What a local replica needs of its log: MemoryLog and FileLog (dompromise/log) are two.

    Positions run 1, 2, 3, ... in append order. `write` hands records to the
    log; `sync` makes everything written durable (the replica answers a writer
    only after it returned for its record).
    """

    @property
    def log_id(self) -> str:
        """The log's identity: positions mean something only within it."""
        ...

    @property
    def first_position(self) -> int:
        """The oldest position the log still holds (compaction drops older ones)."""
        ...

    @property
    def last_position(self) -> int: ...

    def write(self, payloads: Sequence[bytes]) -> int:
        """Appends payloads; returns the position of the last one."""
        ...

    def sync(self) -> None: ...

    # Whether sync waits for a disk: then the writer runs it in a thread, else on the event loop (a thread
    # handoff per batch cost a memory log's server ~100 us of CPU a reserve).
    sync_blocks: bool

    def records(self, after_position: int = 0) -> Iterator[tuple[int, bytes]]:
        """(position, payload) of every record after `after_position`, in order."""
        ...

    def rotate(self) -> None:
        """Starts a new segment (before a snapshot: compaction drops whole segments)."""
        ...

    def drop_through(self, position: int) -> int:
        """Drops what a snapshot covers, up to `position`; returns how many segments went."""
        ...

    def close(self) -> None: ...


class Replica(Protocol):
    """An engine fed by a command log in log order, and the writer that appends to it."""

    # ---- the state -------------------------------------------------------------

    @property
    def engine(self) -> Engine:
        """The engine every read is served from: the same object from `recover` on (servicers keep it)."""
        ...

    @property
    def log_position(self) -> int:
        """The last log position applied."""
        ...

    @property
    def log_id(self) -> str:
        """The log's identity: log positions (and watch versions) mean something only within it."""
        ...

    @property
    def writable(self) -> bool:
        """False while writes are refused (the log failed, or cannot be reached)."""
        ...

    def staleness_ms(self) -> int | None:
        """None while the state is current; else how long since the replica last knew it had everything."""
        ...

    def now_ns(self) -> int:
        """This replica's wall clock: what the edge checks times against (never the core)."""
        ...

    async def head_position(self) -> int:
        """The log's last position now (a local log's is the position applied; the shared log's is read from
        Redis): past it, a position names nothing in this history. UnavailableError when it cannot be read."""
        ...

    # ---- writes and what they change ---------------------------------------------

    async def submit(self, record: log_pb2.LogRecord) -> Outcome:
        """Appends a command; returns its outcome once it is durable and applied. UnavailableError when the
        log refuses writes or its queue is full."""
        ...

    def add_apply_listener(self, listener: ApplyListener) -> None:
        """Calls `listener` after each batch applied while running: on the event loop, inline (it must be quick
        and never wait); an exception in it is logged, never stops the replica."""
        ...

    def add_history_listener(self, listener: HistoryListener) -> None: ...

    def add_writability_listener(self, listener: WritabilityListener) -> None: ...

    # ---- start-up, before serving --------------------------------------------------

    def recover(self) -> int:
        """Newest snapshot, then the log after it; returns how many records were applied."""
        ...

    def status_changes(self) -> log_pb2.LogRecord | None:
        """A SetNodeStatus record for nodes whose configured status differs from the log's, or None."""
        ...

    def bootstrap(self, records: Iterable[log_pb2.LogRecord]) -> list[Outcome]:
        """Appends and applies start-up records synchronously; returns their outcomes."""
        ...

    # ---- serving ---------------------------------------------------------------------

    async def start(self) -> None: ...

    def serving(self, address: str) -> None:
        """The server listens on `address` now (a shared replica starts announcing itself)."""
        ...

    async def stop(self) -> None: ...

    def snapshot_on_stop(self) -> bool:
        """After stop, before close: writes the snapshot that makes the next start a load rather than a replay,
        when this replica keeps its own and records came since the last. True if it wrote one."""
        ...

    def close(self) -> None:
        """Closes the log (after stop, and after any last snapshot)."""
        ...
