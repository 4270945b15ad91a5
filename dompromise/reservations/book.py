"""Reservation bookkeeping the core does not keep: ids, orders, customers, idempotency.

Pure Python, deterministic: it changes only inside Engine.apply_record, in log
order, so every replica that applies the same log holds the same book.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import re
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from dompromise import limits

Bytes = npt.NDArray[np.uint8]
Int64s = npt.NDArray[np.int64]
# A snapshot's part: int64 columns and offsets, uint8 blobs of text.
SnapshotPart = dict[str, Int64s | Bytes]
# A snapshot's arrays as loaded: of the dtypes they were written with, which nothing checks here.
LoadedArrays = Mapping[str, npt.NDArray[Any]]

# A reservation id: R<log position>[.<wave rank>][-<the record's id nonce, 16 hex digits>]. Ids of records
# written before nonces existed have no suffix (they stay valid for those records).
_RESERVATION_ID = re.compile(r"R([0-9]{1,19})(?:\.([0-9]{1,9}))?(?:-([0-9a-f]{16}))?")
NONCE_MAX = 2**64 - 1


def reservation_id_of(log_position: int, wave_rank: int = -1, nonce: int = 0) -> str:
    """The id of the reservation made by the record at `log_position` (a wave's by rank), with the nonce the
    writer put in the record: a position reused in another history of the log gives another id."""
    rank = "" if wave_rank < 0 else f".{wave_rank}"
    return f"R{log_position}{rank}-{nonce:016x}" if nonce else f"R{log_position}{rank}"


@dataclass(frozen=True)
class ParsedId:
    log_position: int
    wave_rank: int  # -1: not a wave's
    nonce: int  # 0: an id from before nonces (no suffix)


def parse_reservation_id(reservation_id: str) -> ParsedId | None:
    """The parts of a well-formed reservation id, or None (any other string: never issued here)."""
    match = _RESERVATION_ID.fullmatch(reservation_id)
    if match is None:
        return None
    position, rank, nonce = match.groups()
    return ParsedId(int(position), -1 if rank is None else int(rank), 0 if nonce is None else int(nonce, 16))


@dataclass(frozen=True)
class ReservationView:
    """A reservation as the API shows it: ids, not indices."""

    reservation_id: str
    state: int  # core RESERVATION_STATE
    expire_ns: int
    create_ns: int
    order_id: str
    customer_id: str
    # (sku_id, node_id, open quantity, shipped quantity, backorder date ns or 0)
    lines: tuple[tuple[str, str, int, int, int], ...]
    # Per line, the attribute values of the variant it holds ((key, value) pairs,
    # () for unattributed stock); empty when no line holds a variant.
    line_attributes: tuple[tuple[tuple[str, str], ...], ...] = ()


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
    parts: tuple[Outcome, ...] = ()
    # Set when the record's promise token had already reserved: nothing was held, and `reservation` is the
    # first reservation of that token (a token reserves once).
    token_reused: bool = False


@dataclass
class _Meta:
    reservation_id: str
    create_ns: int
    order_id: str
    customer_id: str


class ReservationBook:
    """Reservation ids <-> core indices, order / customer indexes, idempotency keys."""

    def __init__(self) -> None:
        # One column per field, by core reservation index: cheap to snapshot and restore.
        self._ids: list[str] = []
        self._create_ns: list[int] = []
        self._orders: list[str] = []
        self._customers: list[str] = []
        self._index: dict[str, int] = {}
        self._by_order: dict[str, list[int]] = {}
        self._by_customer: dict[str, list[int]] = {}
        # request_id -> (fingerprint, log_time_ns, encoded outcome), oldest first.
        self._keys: OrderedDict[str, tuple[bytes, int, bytes]] = OrderedDict()
        self._key_bytes = 0  # approximate memory of the remembered outcomes
        # forget_before has nothing to drop up to this log time (the oldest key's time + the window): most
        # records then cost it one comparison.
        self._keys_kept_until_ns = 0
        # Promise tokens reserved: key -> (reservation index, forget at log time ns), and a heap of
        # (forget_ns, key) to forget them in time order (tokens are reserved in any order of expiry).
        self._tokens: dict[bytes, tuple[int, int]] = {}
        self._token_heap: list[tuple[int, bytes]] = []

    # ---- reservations -----------------------------------------------------

    def add(
        self,
        index: int,
        log_position: int,
        create_ns: int,
        order_id: str,
        customer_id: str,
        wave_rank: int = -1,
        nonce: int = 0,
    ) -> str:
        """Records a new reservation; its id is derived from its record (position, wave rank and the nonce the
        writer chose), so replicas agree, and a position reused in another history never gives the same id."""
        assert index == len(self._ids), "reservations are added in core order"
        reservation_id = reservation_id_of(log_position, wave_rank, nonce)
        assert reservation_id not in self._index, "an id is issued once"
        self._ids.append(reservation_id)
        self._create_ns.append(create_ns)
        self._orders.append(order_id)
        self._customers.append(customer_id)
        self._index[reservation_id] = index
        if order_id:
            self._by_order.setdefault(order_id, []).append(index)
        if customer_id:
            self._by_customer.setdefault(customer_id, []).append(index)
        return reservation_id

    def set_order(self, index: int, order_id: str) -> None:
        if order_id and order_id != self._orders[index]:
            self._orders[index] = order_id
            self._by_order.setdefault(order_id, []).append(index)

    def index_of(self, reservation_id: str) -> int:
        """Core index of the id, or -1."""
        return self._index.get(reservation_id, -1)

    def from_lost_history(self, reservation_id: str) -> bool:
        """Whether an id this book does not hold was issued in another history of the log: a well-formed id with
        a nonce (the book holds every id issued in this history). Old ids without one cannot tell: False."""
        if reservation_id in self._index:
            return False
        parsed = parse_reservation_id(reservation_id)
        return parsed is not None and parsed.nonce != 0

    # ---- promise tokens ---------------------------------------------------

    def token_reservation(self, token_key: bytes) -> int:
        """The reservation index the promise token reserved, or -1 (never, or forgotten after it expired)."""
        entry = self._tokens.get(token_key)
        return -1 if entry is None else entry[0]

    def remember_token(self, token_key: bytes, index: int, expire_ns: int) -> None:
        """A token reserved: remembered until it expires (plus a margin for the edges' clocks), at most
        PROMISE_TOKENS_REMEMBERED_MAX (then the soonest to expire go first)."""
        assert token_key not in self._tokens, "a token reserves once"
        forget_ns = expire_ns + limits.PROMISE_TOKEN_CLOCK_MARGIN_SECONDS * 1_000_000_000
        self._tokens[token_key] = (index, forget_ns)
        heapq.heappush(self._token_heap, (forget_ns, token_key))
        while len(self._tokens) > limits.PROMISE_TOKENS_REMEMBERED_MAX:
            self._forget_first_token()

    def forget_tokens_before(self, log_time_ns: int) -> None:
        """Drops tokens expired by the log's clock (every replica drops the same): they cannot reserve anyway."""
        while self._token_heap and self._token_heap[0][0] < log_time_ns:
            self._forget_first_token()

    def _forget_first_token(self) -> None:
        _, key = heapq.heappop(self._token_heap)
        del self._tokens[key]

    def meta(self, index: int) -> _Meta:
        return _Meta(self._ids[index], self._create_ns[index], self._orders[index], self._customers[index])

    def create_ns_of(self, index: int) -> int:
        return self._create_ns[index]

    def of_order(self, order_id: str) -> list[int]:
        return [i for i in self._by_order.get(order_id, []) if self._orders[i] == order_id]

    def of_customer(self, customer_id: str) -> list[int]:
        return list(self._by_customer.get(customer_id, []))

    # ---- idempotency ------------------------------------------------------

    def seen(self, request_id: str, fingerprint: bytes) -> Outcome | None:
        """The first outcome of this request_id, or a conflict marker, or None if new."""
        entry = self._keys.get(request_id)
        if entry is None:
            return None
        first_fingerprint, _, encoded = entry
        outcome = decode_outcome(encoded)
        if first_fingerprint != fingerprint:
            return Outcome(log_position=outcome.log_position, log_time_ns=outcome.log_time_ns, conflict=True)
        return outcome

    def remember(self, request_id: str, fingerprint: bytes, log_time_ns: int, outcome: Outcome) -> None:
        """Keeps the answer, encoded: small in memory, and a snapshot copies the bytes as they are."""
        self.remember_encoded(request_id, fingerprint, log_time_ns, encode_outcome(outcome))

    def remember_encoded(self, request_id: str, fingerprint: bytes, log_time_ns: int, encoded: bytes) -> None:
        """remember() of an answer already encoded (encode_outcome's bytes: inventory/_records.pyx writes them)."""
        assert request_id not in self._keys, "a key is remembered once"
        self._keys[request_id] = (fingerprint, log_time_ns, encoded)
        self._key_bytes += _entry_bytes(request_id, encoded)
        while len(self._keys) > limits.IDEMPOTENCY_KEYS_MAX or self._key_bytes > limits.IDEMPOTENCY_BYTES_MAX:
            self._forget_oldest()

    def _forget_oldest(self) -> None:
        key, (_, _, encoded) = self._keys.popitem(last=False)
        self._key_bytes -= _entry_bytes(key, encoded)

    def forget_before(self, log_time_ns: int) -> None:
        """Drops keys older than the window, by the log's clock (so every replica drops the same)."""
        if log_time_ns <= self._keys_kept_until_ns:
            return
        window_ns = limits.IDEMPOTENCY_WINDOW_SECONDS * 1_000_000_000
        horizon_ns = log_time_ns - window_ns
        # Keys come in log time order, each at least this record's time: with none left, none goes before
        # this time + the window.
        kept_until_ns = log_time_ns + window_ns
        while self._keys:
            _, (_, seen_ns, _) = next(iter(self._keys.items()))
            if seen_ns >= horizon_ns:
                kept_until_ns = seen_ns + window_ns
                break
            self._forget_oldest()
        self._keys_kept_until_ns = kept_until_ns

    # ---- snapshots --------------------------------------------------------

    def export(self) -> SnapshotPart:
        """The whole book as numpy arrays (a snapshot's part): strings as one UTF-8 blob plus offsets."""
        orders = [(order, index) for order, indices in self._by_order.items() for index in indices]
        keys = list(self._keys.items())
        arrays: SnapshotPart = {
            "create_ns": np.array(self._create_ns, dtype=np.int64),
            "order_index": np.array([index for _, index in orders], dtype=np.int64),
            "key_seen_ns": np.array([seen_ns for _, (_, seen_ns, _) in keys], dtype=np.int64),
            "key_fingerprints": np.frombuffer(b"".join(fp for _, (fp, _, _) in keys), dtype=np.uint8),
        }
        columns = {
            "reservation_id": self._ids,
            "order_id": self._orders,
            "customer_id": self._customers,
            "order_key": [order for order, _ in orders],
            "key": [key for key, _ in keys],
        }
        for name, values in columns.items():
            arrays[f"{name}_blob"], arrays[f"{name}_offsets"] = pack_text(values)
        arrays["outcome_blob"], arrays["outcome_offsets"] = _pack([encoded for _, (_, _, encoded) in keys])
        tokens = sorted(self._tokens.items())
        arrays["token_blob"], arrays["token_offsets"] = _pack([key for key, _ in tokens])
        arrays["token_index"] = np.array([index for _, (index, _) in tokens], dtype=np.int64)
        arrays["token_forget_ns"] = np.array([forget_ns for _, (_, forget_ns) in tokens], dtype=np.int64)
        return arrays

    @classmethod
    def restore(cls, arrays: LoadedArrays) -> ReservationBook:
        book = cls()
        book._ids, book._orders, book._customers = (
            _unpack_text(arrays, name) for name in ("reservation_id", "order_id", "customer_id")
        )
        book._create_ns = arrays["create_ns"].tolist()
        book._index = dict(zip(book._ids, range(len(book._ids))))
        for index, customer_id in enumerate(book._customers):
            if customer_id:
                book._by_customer.setdefault(customer_id, []).append(index)
        for order, index in zip(_unpack_text(arrays, "order_key"), arrays["order_index"].tolist()):
            book._by_order.setdefault(order, []).append(index)
        fingerprints = arrays["key_fingerprints"].tobytes()
        outcomes = _unpack(arrays["outcome_blob"], arrays["outcome_offsets"])
        keys = _unpack_text(arrays, "key")
        book._keys = OrderedDict(
            zip(
                keys,
                zip(
                    (fingerprints[16 * n : 16 * n + 16] for n in range(len(keys))),
                    arrays["key_seen_ns"].tolist(),
                    outcomes,
                ),
            )
        )
        book._key_bytes = sum(map(_entry_bytes, keys, outcomes))
        if "token_blob" in arrays:  # snapshots from before tokens were remembered have none
            token_keys = _unpack(arrays["token_blob"], arrays["token_offsets"])
            entries = zip(arrays["token_index"].tolist(), arrays["token_forget_ns"].tolist())
            book._tokens = dict(zip(token_keys, entries))
            book._token_heap = [(forget_ns, key) for key, (_, forget_ns) in book._tokens.items()]
            heapq.heapify(book._token_heap)
        return book


def pack_text(values: list[str]) -> tuple[Bytes, Int64s]:
    """Strings as (UTF-8 blob, offsets) arrays, for snapshots."""
    return _pack([v.encode() for v in values])


def unpack_text(blob: Bytes, offsets: Int64s) -> list[str]:
    return [v.decode() for v in _unpack(blob, offsets)]


def _pack(values: list[bytes]) -> tuple[Bytes, Int64s]:
    offsets = np.zeros(len(values) + 1, dtype=np.int64)
    np.cumsum([len(v) for v in values], out=offsets[1:])
    return np.frombuffer(b"".join(values), dtype=np.uint8), offsets


def _unpack(blob: Bytes, offsets: Int64s) -> list[bytes]:
    data = blob.tobytes()
    bounds = offsets.tolist()
    return [data[bounds[i] : bounds[i + 1]] for i in range(len(bounds) - 1)]


def _unpack_text(arrays: LoadedArrays, name: str) -> list[str]:
    return unpack_text(arrays[f"{name}_blob"], arrays[f"{name}_offsets"])


def _entry_bytes(request_id: str, encoded: bytes) -> int:
    """Rough memory of one remembered answer: the encoded outcome, the key, and dict/tuple overhead."""
    return 200 + len(request_id) + len(encoded)


# json.dumps(..., separators=(",", ":")) builds an encoder per call; one, built
# once, writes the same bytes (the answers remembered must not change).
_ENCODER = json.JSONEncoder(separators=(",", ":"))
_json_text = json.encoder.encode_basestring_ascii  # a str as JSON, as _ENCODER writes it
_FEW_LINES = 4  # lines _encode_plain writes itself; more go through _ENCODER


def encode_outcome(outcome: Outcome) -> bytes:
    """The answer as compact JSON (what the idempotency cache and snapshots keep)."""
    if outcome.parts or not _plain(outcome):
        return _ENCODER.encode(_outcome_data(outcome)).encode()
    return _encode_plain(outcome).encode()


def _plain(outcome: Outcome) -> bool:
    """Whether _encode_plain writes exactly what _ENCODER does: its scalars plain
    ints and strs (a bool, an int subclass, would be written True, not true).
    The item and line tuples are the engine's, from tolist() of integer arrays."""
    view = outcome.reservation
    return (
        type(outcome.log_position) is int
        and type(outcome.log_time_ns) is int
        and type(outcome.result) is int
        and type(outcome.applied_count) is int
        and type(outcome.conflict) is bool
        and not outcome.token_reused
        and (view is None or (type(view.state) is int and type(view.expire_ns) is int and type(view.create_ns) is int))
    )


def _encode_plain(outcome: Outcome) -> str:
    """encode_outcome of an outcome without parts, written directly: the same text
    as json with separators (",", ":") and ensure_ascii (tests/core compare them),
    at a third of the cost (every record with a request_id encodes its answer)."""
    view = outcome.reservation
    if view is None:
        reservation = "null"
    else:
        text = _json_text
        if len(view.lines) > _FEW_LINES:  # json's C loop: the same text, faster for many lines
            lines = _ENCODER.encode(view.lines)[1:-1]
        else:
            lines = ",".join([f"[{text(s)},{text(n)},{q},{t},{d}]" for s, n, q, t, d in view.lines])
        held = ",".join(
            ["[" + ",".join([f"[{text(k)},{text(v)}]" for k, v in values]) + "]" for values in view.line_attributes]
        )
        reservation = (
            f'{{"reservation_id":{text(view.reservation_id)},"state":{view.state},'
            f'"expire_ns":{view.expire_ns},"create_ns":{view.create_ns},'
            f'"order_id":{text(view.order_id)},"customer_id":{text(view.customer_id)},'
            f'"lines":[{lines}],"line_attributes":[{held}]}}'
        )
    return (
        f'{{"log_position":{outcome.log_position},"log_time_ns":{outcome.log_time_ns},'
        f'"result":{outcome.result},"item_status":[{",".join(map(str, outcome.item_status))}],'
        f'"item_quantity":[{",".join(map(str, outcome.item_quantity))}],'
        f'"item_available":[{",".join(map(str, outcome.item_available))}],'
        f'"applied_count":{outcome.applied_count},"reservation":{reservation},'
        f'"conflict":{"true" if outcome.conflict else "false"},"parts":[]}}'
    )


def decode_outcome(encoded: bytes) -> Outcome:
    return _outcome_from(json.loads(encoded))


def _outcome_data(outcome: Outcome) -> dict[str, Any]:  # JSON-ready
    data = dict(outcome.__dict__)
    if not outcome.token_reused:
        del data["token_reused"]  # written only when set: the answers remembered before it keep their bytes
    if outcome.reservation is not None:
        data["reservation"] = dict(outcome.reservation.__dict__)
    data["parts"] = [_outcome_data(part) for part in outcome.parts]
    return data


def _outcome_from(data: dict[str, Any]) -> Outcome:  # as JSON decoded it
    data = dict(data)
    for name in ("item_status", "item_quantity", "item_available"):
        data[name] = tuple(data[name])
    if data["reservation"] is not None:
        view = dict(data["reservation"])
        view["lines"] = tuple(tuple(line) for line in view["lines"])
        view["line_attributes"] = tuple(
            tuple(tuple(pair) for pair in values) for values in view.get("line_attributes", ())
        )
        data["reservation"] = ReservationView(**view)
    data["parts"] = tuple(_outcome_from(part) for part in data.get("parts", ()))
    return Outcome(**data)


def fingerprint(command_bytes: bytes) -> bytes:
    """Identity of a request's payload, for idempotency checks."""
    return hashlib.blake2b(command_bytes, digest_size=16).digest()
