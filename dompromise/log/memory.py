"""The in-memory log: for tests and for a server started without a data directory."""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Sequence


class MemoryLog:
    """Keeps payloads in a list; durable for as long as the process lives."""

    def __init__(self) -> None:
        self._payloads: list[bytes] = []
        # This log's identity: a new one per instance, as the positions start again at 1.
        self.log_id = secrets.token_hex(8)

    @property
    def first_position(self) -> int:
        return 1

    def rotate(self) -> None:
        """One list: nothing to rotate."""

    def drop_through(self, position: int) -> int:
        """Memory logs are not compacted."""
        return 0

    @property
    def last_position(self) -> int:
        return len(self._payloads)

    def write(self, payloads: Sequence[bytes]) -> int:
        """Appends payloads; returns the position of the last one."""
        self._payloads.extend(payloads)
        return len(self._payloads)

    # Nothing to wait for: the replica syncs it on its event loop (replica/local.py).
    sync_blocks = False

    def sync(self) -> None:
        """Nothing to flush."""

    def records(self, after_position: int = 0) -> Iterator[tuple[int, bytes]]:
        for offset in range(after_position, len(self._payloads)):
            yield offset + 1, self._payloads[offset]

    def close(self) -> None:
        pass
