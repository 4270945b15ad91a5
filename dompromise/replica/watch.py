"""The hub behind WatchAvailability: which streams watch which SKUs, and what changed for each.

After each batch the replica's writer applies, the hub takes the engine's
change journal once (the SKUs written since the last take, whatever the
cause: stock, reservations, expiry, supply) and marks, for every stream
watching one of them, that SKU dirty, then wakes the stream. A stream swaps
its dirty set out when it runs and answers those SKUs at the then current
log position. So a slow stream coalesces: its dirty set grows up to its
watched SKU count, never into a queue, and the writer never waits for it.

A node status change marks no SKU but changes which nodes are sellable: every
stream is then marked "everything changed" and answers all its SKUs. So does a
change of history (a shared replica resynced, or the log id changed because
Redis lost records: Replica.add_history_listener): the stream's next
message is a full answer under the new log id, which replaces whatever the
client had. The stream is not ended: a client would reconnect and get the same
full answer, one round trip later.

No gRPC here: the stream side is AvailabilityServicer.WatchAvailability
(dompromise/service/availability.py). It sits beside the replica, below the
service layer, because it works on the engine's SKU indices.
"""

from __future__ import annotations

import asyncio
import logging

import numpy as np

from dompromise import limits
from dompromise.errors import LimitExceededError
from dompromise.internal.v1 import log_pb2
from dompromise.replica.protocol import Replica

log = logging.getLogger(__name__)

# A batch that changed more SKUs than this is first filtered with one numpy
# gather over the per-SKU watcher counts; fewer are looked up one by one.
VECTOR_FILTER_SKUS_MIN = 64
# Watchers per SKU are counted in int16.
assert limits.WATCH_STREAMS_MAX < 2**15


class Watcher:
    """One stream's watched SKUs and what changed for it since it last answered."""

    __slots__ = ("sku_index", "position_of", "dirty", "everything", "closed", "_waiter")

    def __init__(self, sku_index: np.ndarray):
        # Request position of each known watched SKU (unknown ids, -1, never change).
        self.position_of = {int(s): p for p, s in enumerate(sku_index.tolist()) if s >= 0}
        self.sku_index = np.fromiter(self.position_of, dtype=np.int32, count=len(self.position_of))
        self.dirty: set[int] = set()
        self.everything = False
        self.closed = False
        # The stream's bare future while it waits (None while it runs): cheaper
        # than an asyncio.Event, which builds a coroutine and a future per wait.
        self._waiter: asyncio.Future[None] | None = None

    def mark(self, sku: int) -> None:
        self.dirty.add(sku)
        if self._waiter is not None:
            self._wake()

    def mark_everything(self) -> None:
        self.everything = True
        self._wake()

    def close(self) -> None:
        self.closed = True
        self._wake()

    def _wake(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():  # done: cancelled, the stream is ending
            waiter.set_result(None)

    async def next_change(self) -> tuple[bool, list[int]] | None:
        """Waits for a change; returns (everything, changed request positions, sorted), or None once closed."""
        if not (self.dirty or self.everything or self.closed):
            self._waiter = asyncio.get_running_loop().create_future()
            await self._waiter
        if self.closed:
            return None
        everything, dirty = self.everything, self.dirty
        self.everything, self.dirty = False, set()
        position_of = self.position_of
        if len(dirty) == 1:  # the common case: no sort
            for sku in dirty:
                return everything, [position_of[sku]]
        return everything, sorted(position_of[s] for s in dirty)


class WatchHub:
    """Every open watch of one replica; fed by the replica's apply listener."""

    def __init__(self, replica: Replica):
        self._engine = replica.engine
        self._replica = replica
        self._watchers: set[Watcher] = set()
        self._by_sku: dict[int, list[Watcher]] = {}
        # Watchers per SKU index, for the vector filter; allocated with the first watcher.
        self._watch_counts: np.ndarray | None = None
        self.closed = False
        replica.add_apply_listener(self._on_applied)
        replica.add_history_listener(self._on_history_changed)  # a shared replica's resyncs and log id changes

    @property
    def log_id(self) -> str:
        """The identity of the log whose positions are the streams' versions (a Redis log knows it once claimed)."""
        return self._replica.log_id

    @property
    def watcher_count(self) -> int:
        return len(self._watchers)

    def subscribe(self, sku_index: np.ndarray) -> Watcher:
        """Registers a stream over these SKU indices (-1 for unknown ids); raises over WATCH_STREAMS_MAX."""
        assert not self.closed, "subscribe after close"
        if len(self._watchers) >= limits.WATCH_STREAMS_MAX:
            raise LimitExceededError(
                "WatchAvailability", "WATCH_STREAMS_MAX", limits.WATCH_STREAMS_MAX, len(self._watchers) + 1
            )
        if not self._watchers:
            # Nobody watched, so nobody took the journal: what it holds predates
            # this stream's first answer. Drop it.
            self._engine.take_changed_skus()
        watcher = Watcher(sku_index)
        self._watchers.add(watcher)
        by_sku = self._by_sku
        for sku in watcher.position_of:
            by_sku.setdefault(sku, []).append(watcher)
        self._counts()[watcher.sku_index] += 1
        return watcher

    def unsubscribe(self, watcher: Watcher) -> None:
        if watcher not in self._watchers:
            return
        self._watchers.remove(watcher)
        by_sku = self._by_sku
        for sku in watcher.position_of:
            watching = by_sku[sku]
            watching.remove(watcher)
            if not watching:
                del by_sku[sku]
        self._counts()[watcher.sku_index] -= 1

    def _counts(self) -> np.ndarray:
        """Watchers per SKU index (allocated with the first watcher: nobody watching costs nothing)."""
        rows = len(self._engine.skus_by_row)
        if self._watch_counts is None:
            self._watch_counts = np.zeros(rows, dtype=np.int16)
        elif len(self._watch_counts) < rows:  # SKUs added since: room for theirs
            grown = np.zeros(rows, dtype=np.int16)
            grown[: len(self._watch_counts)] = self._watch_counts
            self._watch_counts = grown
        return self._watch_counts

    def close(self) -> None:
        """Ends every stream (server shutdown); they answer UNAVAILABLE."""
        self.closed = True
        for watcher in self._watchers:
            watcher.close()

    def _on_history_changed(self, log_id: str) -> None:
        """The replica's state was replaced or its log id changed: every stream answers everything afresh."""
        for watcher in self._watchers:
            watcher.mark_everything()

    def _on_applied(self, log_position: int, records: list[log_pb2.LogRecord]) -> None:
        """The replica's apply listener: runs inline in the writer, so it only marks and wakes."""
        if not self._watchers:
            return
        changed = self._engine.take_changed_skus()
        if any(record.HasField("set_node_status") for record in records):
            for watcher in self._watchers:
                watcher.mark_everything()
            return
        if len(changed) == 0:
            return
        if len(changed) >= VECTOR_FILTER_SKUS_MIN:
            changed = changed[self._counts()[changed] > 0]
        by_sku = self._by_sku
        for sku in changed.tolist():
            watching = by_sku.get(sku)
            if watching is not None:
                for watcher in watching:
                    watcher.mark(sku)
