"""Reservation bookkeeping the core does not keep: ids, orders, customers, idempotency.

Pure Python, deterministic: it changes only inside Engine.apply_record, in log
order, so every replica that applies the same log holds the same book.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass

from dompromise import limits


@dataclass(frozen=True)
class ReservationView:
    """A reservation as the API shows it: ids, not indices."""

    reservation_id: str
    state: int  # core RESERVATION_STATE
    expire_ns: int
    create_ns: int
    order_id: str
    customer_id: str
    lines: tuple[tuple[str, str, int, int], ...]  # (sku_id, node_id, open quantity, shipped quantity)


@dataclass(frozen=True)
class Outcome:
    """What applying one log record did: the answer a writer gets back.

    `result` is a core COMMAND_RESULT (0 for stock updates); the item lists are
    per requested item: status, quantity (on hand after, or reserved), and the
    position's available after. `conflict` marks a reused request_id with a
    different payload.
    """

    log_position: int
    log_time_ns: int
    result: int = 0
    item_status: tuple[int, ...] = ()
    item_quantity: tuple[int, ...] = ()
    item_available: tuple[int, ...] = ()
    applied_count: int = 0
    reservation: ReservationView | None = None
    conflict: bool = False
    # A wave's per-order outcomes, in request order, with each order's rank in `result`.
    parts: tuple["Outcome", ...] = ()


@dataclass
class _Meta:
    reservation_id: str
    create_ns: int
    order_id: str
    customer_id: str


class ReservationBook:
    """Reservation ids <-> core indices, order / customer indexes, idempotency keys."""

    def __init__(self) -> None:
        self._meta: list[_Meta] = []
        self._index: dict[str, int] = {}
        self._by_order: dict[str, list[int]] = {}
        self._by_customer: dict[str, list[int]] = {}
        # request_id -> (fingerprint, log_time_ns, outcome), oldest first.
        self._keys: OrderedDict[str, tuple[bytes, int, Outcome]] = OrderedDict()
        self._key_bytes = 0  # approximate memory of the remembered outcomes

    # ---- reservations -----------------------------------------------------

    def add(self, index: int, log_position: int, create_ns: int, order_id: str, customer_id: str,
            wave_rank: int = -1) -> str:
        """Records a new reservation; its id is derived from its log position (and wave rank), so replicas agree."""
        assert index == len(self._meta), "reservations are added in core order"
        reservation_id = f"R{log_position}" if wave_rank < 0 else f"R{log_position}.{wave_rank}"
        self._meta.append(_Meta(reservation_id, create_ns, order_id, customer_id))
        self._index[reservation_id] = index
        if order_id:
            self._by_order.setdefault(order_id, []).append(index)
        if customer_id:
            self._by_customer.setdefault(customer_id, []).append(index)
        return reservation_id

    def set_order(self, index: int, order_id: str) -> None:
        meta = self._meta[index]
        if order_id and order_id != meta.order_id:
            meta.order_id = order_id
            self._by_order.setdefault(order_id, []).append(index)

    def index_of(self, reservation_id: str) -> int:
        """Core index of the id, or -1."""
        return self._index.get(reservation_id, -1)

    def meta(self, index: int) -> _Meta:
        return self._meta[index]

    def of_order(self, order_id: str) -> list[int]:
        return [i for i in self._by_order.get(order_id, []) if self._meta[i].order_id == order_id]

    def of_customer(self, customer_id: str) -> list[int]:
        return list(self._by_customer.get(customer_id, []))

    # ---- idempotency ------------------------------------------------------

    def seen(self, request_id: str, fingerprint: bytes) -> Outcome | None:
        """The first outcome of this request_id, or a conflict marker, or None if new."""
        entry = self._keys.get(request_id)
        if entry is None:
            return None
        first_fingerprint, _, outcome = entry
        if first_fingerprint != fingerprint:
            return Outcome(log_position=outcome.log_position, log_time_ns=outcome.log_time_ns, conflict=True)
        return outcome

    def remember(self, request_id: str, fingerprint: bytes, log_time_ns: int, outcome: Outcome) -> None:
        assert request_id not in self._keys, "a key is remembered once"
        self._keys[request_id] = (fingerprint, log_time_ns, outcome)
        self._key_bytes += _approximate_bytes(request_id, outcome)
        while len(self._keys) > limits.IDEMPOTENCY_KEYS_MAX or self._key_bytes > limits.IDEMPOTENCY_BYTES_MAX:
            self._forget_oldest()

    def _forget_oldest(self) -> None:
        key, (_, _, outcome) = self._keys.popitem(last=False)
        self._key_bytes -= _approximate_bytes(key, outcome)

    def forget_before(self, log_time_ns: int) -> None:
        """Drops keys older than the window, by the log's clock (so every replica drops the same)."""
        horizon_ns = log_time_ns - limits.IDEMPOTENCY_WINDOW_SECONDS * 1_000_000_000
        while self._keys:
            _, (_, seen_ns, _) = next(iter(self._keys.items()))
            if seen_ns >= horizon_ns:
                break
            self._forget_oldest()


    # ---- snapshots --------------------------------------------------------

    def export(self) -> dict:
        """The whole book as JSON-ready data (a snapshot's part)."""
        return {
            "reservations": [[m.reservation_id, m.create_ns, m.order_id, m.customer_id] for m in self._meta],
            # Listing order is state too (a re-commit appends): kept as it is.
            "by_order": self._by_order,
            "keys": [[key, fp.hex(), seen_ns, _outcome_data(outcome)]
                     for key, (fp, seen_ns, outcome) in self._keys.items()],
        }

    @classmethod
    def restore(cls, data: dict) -> "ReservationBook":
        book = cls()
        for index, (reservation_id, create_ns, order_id, customer_id) in enumerate(data["reservations"]):
            book._meta.append(_Meta(reservation_id, create_ns, order_id, customer_id))
            book._index[reservation_id] = index
            if customer_id:
                book._by_customer.setdefault(customer_id, []).append(index)
        book._by_order = {order: list(indices) for order, indices in data["by_order"].items()}
        for key, fp_hex, seen_ns, outcome in data["keys"]:
            book.remember(key, bytes.fromhex(fp_hex), seen_ns, _outcome_from(outcome))
        return book


def _approximate_bytes(request_id: str, outcome: Outcome) -> int:
    """Rough memory of one remembered answer: fixed part plus ~3 ints per item and per line."""
    lines = len(outcome.reservation.lines) if outcome.reservation is not None else 0
    return 400 + len(request_id) + 96 * len(outcome.item_status) + 160 * lines


def _outcome_data(outcome: Outcome) -> dict:
    data = dict(outcome.__dict__)
    if outcome.reservation is not None:
        data["reservation"] = dict(outcome.reservation.__dict__)
    data["parts"] = [_outcome_data(part) for part in outcome.parts]
    return data


def _outcome_from(data: dict) -> Outcome:
    data = dict(data)
    for name in ("item_status", "item_quantity", "item_available"):
        data[name] = tuple(data[name])
    if data["reservation"] is not None:
        view = dict(data["reservation"])
        view["lines"] = tuple(tuple(line) for line in view["lines"])
        data["reservation"] = ReservationView(**view)
    data["parts"] = tuple(_outcome_from(part) for part in data.get("parts", ()))
    return Outcome(**data)


def fingerprint(command_bytes: bytes) -> bytes:
    """Identity of a request's payload, for idempotency checks."""
    return hashlib.blake2b(command_bytes, digest_size=16).digest()
