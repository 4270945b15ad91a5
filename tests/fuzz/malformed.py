"""Malformed requests for every RPC, built from the service descriptors, sent as raw bytes over a real socket.

Three kinds: random bytes, structured random messages (every field of the request, with values from edge
pools: ids just over their limit, 10 KB strings, int64 extremes, year-9999 times, 366-day buckets), and
valid encodings cut or with a byte flipped. `Draw` hides where choices come from: a seeded random.Random
(the attack run, `python tests/fuzz/malformed.py [per-method]`), or hypothesis (tests/fuzz/test_fuzz_requests.py, which
shrinks a failure and keeps it in tests/fuzz/corpus/).
"""

from __future__ import annotations

import dataclasses
import logging
import random
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import grpc
from google.protobuf import descriptor as descriptor_mod
from google.protobuf import message_factory
from google.protobuf.descriptor import FieldDescriptor

from dompromise.v1 import availability_pb2, inventory_pb2, network_pb2, promise_pb2, reservation_pb2

SERVICES = (
    availability_pb2.DESCRIPTOR.services_by_name["AvailabilityService"],
    inventory_pb2.DESCRIPTOR.services_by_name["InventoryService"],
    network_pb2.DESCRIPTOR.services_by_name["NetworkService"],
    promise_pb2.DESCRIPTOR.services_by_name["PromiseService"],
    reservation_pb2.DESCRIPTOR.services_by_name["ReservationService"],
)
# The statuses a bad request must never get: they say the server failed, not the request.
SERVER_FAULTS = (grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL)
# A streaming answer (WatchAvailability) to a good request never ends: its first message is enough.
STREAM_WAIT_SECONDS = 0.3
CALL_TIMEOUT_SECONDS = 10.0

# Values drawn from as often as random ones: the ids the scenario network knows (so checks past "unknown id"
# run), lengths at and past the limits, and the numbers where arithmetic breaks.
IDS = ("PAD", "OIL", "BULB", "DC", "WH", "ST", "SUP", "OFF", "Z69", "parcel", "route7", "69007", "FR", "R1", "litre")
STRINGS = IDS + ("", " ", "a b", "\x00", "é" * 3, "x" * 129, "x" * 10_000, "59" * 9, "0" * 20, "-1", "9" * 30)
INTS = (0, 1, -1, 2, 59, 60, 366, 1000, 2**31 - 1, -(2**31), 2**63 - 1, -(2**63), 10**15, 10**15 + 1, 10**18)
UINTS = (0, 1, 2**32 - 1, 2**64 - 1)
# Timestamp / Duration seconds: now-ish, year 9999, before year 1, 2200, one and 366 days, the Duration max.
SECONDS = (0, 1_790_000_000, 253_402_300_799, -62_135_596_800, 7_258_118_400, 86_400, 366 * 86_400, 315_576_000_000)
NANOS = (0, 999_999_999, -1, 10**9)
FLOATS = (0.0, -1.0, 45.76, 1e308, float("inf"), float("-inf"), float("nan"))
REPEATED_MAX = 4
DEPTH_MAX = 4


class Draw(Protocol):
    def integer(self, low: int, high: int) -> int: ...
    def choice(self, values: tuple[object, ...]) -> object: ...
    def data(self, size_max: int) -> bytes: ...


@dataclasses.dataclass(frozen=True)
class Method:
    path: str  # /dompromise.v1.Service/Method
    request: descriptor_mod.Descriptor
    client_streaming: bool
    server_streaming: bool


def methods() -> list[Method]:
    return [
        Method(f"/{service.full_name}/{m.name}", m.input_type, m.client_streaming, m.server_streaming)
        for service in SERVICES
        for m in service.methods
    ]


def random_message(descriptor: descriptor_mod.Descriptor, draw: Draw, depth: int = 0) -> bytes:
    """A message of the type with each field set (or not) from the edge pools, encoded."""
    message = message_factory.GetMessageClass(descriptor)()
    _fill(message, draw, depth)
    return message.SerializeToString()


def _fill(message, draw: Draw, depth: int) -> None:
    name = message.DESCRIPTOR.full_name
    if name in ("google.protobuf.Timestamp", "google.protobuf.Duration"):
        message.seconds = draw.choice(SECONDS) if draw.integer(0, 3) else draw.integer(-(2**40), 2**40)
        message.nanos = draw.choice(NANOS)
        return
    for field in message.DESCRIPTOR.fields:
        if draw.integer(0, 2) == 0:  # a third of the fields stay unset
            continue
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            target = getattr(message, field.name)
            for _ in range(draw.integer(0, REPEATED_MAX)):
                key, value = field.message_type.fields_by_name["key"], field.message_type.fields_by_name["value"]
                if value.message_type is not None:
                    _fill(target[_scalar(key, draw)], draw, depth + 1)
                else:
                    target[_scalar(key, draw)] = _scalar(value, draw)
        elif field.is_repeated:
            _fill_repeated(message, field, draw, depth)
        elif field.message_type is not None:
            if depth < DEPTH_MAX:
                _fill(getattr(message, field.name), draw, depth + 1)
        else:
            setattr(message, field.name, _scalar(field, draw))


def _fill_repeated(message, field: FieldDescriptor, draw: Draw, depth: int) -> None:
    target = getattr(message, field.name)
    count = draw.integer(0, REPEATED_MAX)
    if field.message_type is not None:
        if depth < DEPTH_MAX:
            for _ in range(count):
                _fill(target.add(), draw, depth + 1)
        return
    target.extend(_scalar(field, draw) for _ in range(count))


def _scalar(field: FieldDescriptor, draw: Draw) -> object:
    kind = field.type
    if kind == FieldDescriptor.TYPE_STRING:
        return draw.choice(STRINGS) if draw.integer(0, 3) else draw.data(40).decode("utf-8", "replace")
    if kind == FieldDescriptor.TYPE_BYTES:
        return draw.data(64)
    if kind == FieldDescriptor.TYPE_BOOL:
        return bool(draw.integer(0, 1))
    if kind == FieldDescriptor.TYPE_ENUM:
        return draw.integer(-1, len(field.enum_type.values) + 1)
    if kind in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return draw.choice(FLOATS)
    low, high = _int_range(kind)
    pool = tuple(v for v in INTS + UINTS if low <= v <= high)
    return draw.choice(pool) if draw.integer(0, 2) else draw.integer(low, high)


def _int_range(kind: int) -> tuple[int, int]:
    if kind in (FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_SINT32, FieldDescriptor.TYPE_SFIXED32):
        return -(2**31), 2**31 - 1
    if kind in (FieldDescriptor.TYPE_UINT32, FieldDescriptor.TYPE_FIXED32):
        return 0, 2**32 - 1
    if kind in (FieldDescriptor.TYPE_UINT64, FieldDescriptor.TYPE_FIXED64):
        return 0, 2**64 - 1
    return -(2**63), 2**63 - 1


def damaged(encoded: bytes, draw: Draw) -> bytes:
    """A valid encoding cut short, with a byte flipped, or with random bytes appended."""
    if not encoded:
        return draw.data(16)
    how = draw.integer(0, 2)
    if how == 0:
        return encoded[: draw.integer(0, len(encoded) - 1)]
    if how == 1:
        at = draw.integer(0, len(encoded) - 1)
        return encoded[:at] + bytes([encoded[at] ^ (1 << draw.integer(0, 7))]) + encoded[at + 1 :]
    return encoded + draw.data(16)


def request_bytes(method: Method, draw: Draw) -> bytes:
    kind = draw.integer(0, 3)
    if kind == 0:
        return draw.data(64)  # random bytes: most do not decode
    if kind == 1:
        return damaged(random_message(method.request, draw), draw)
    return random_message(method.request, draw)


def send(channel: grpc.Channel, method: Method, payloads: list[bytes]) -> grpc.StatusCode:
    """Sends the payload(s) as the method's request(s); the status code (OK for a stream that answered)."""
    try:
        if method.client_streaming:
            call = channel.stream_unary(method.path)
            call(iter(payloads), timeout=CALL_TIMEOUT_SECONDS)
        elif method.server_streaming:
            stream = channel.unary_stream(method.path)(payloads[0], timeout=STREAM_WAIT_SECONDS)
            next(iter(stream), None)
            stream.cancel()
        else:
            channel.unary_unary(method.path)(payloads[0], timeout=CALL_TIMEOUT_SECONDS)
    except grpc.RpcError as error:
        code = error.code()
        if method.server_streaming and code in (grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED):
            return grpc.StatusCode.OK  # a good watch request waits for changes
        return code
    return grpc.StatusCode.OK


class LogCounter(logging.Handler):
    """Counts the server's log records by level, and those with a traceback; keeps the first few faults."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.levels: Counter[str] = Counter()
        self.tracebacks = 0
        self.errors: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.levels[record.levelname] += 1
        if record.exc_info:
            self.tracebacks += 1
        if record.levelno >= logging.ERROR and len(self.errors) < 20:
            self.errors.append(self.format(record) if not record.exc_info else logging.Formatter().format(record))


@dataclasses.dataclass
class Figures:
    requests: int = 0
    codes: Counter[str] = dataclasses.field(default_factory=Counter)
    faults: list[tuple[str, str, bytes]] = dataclasses.field(default_factory=list)  # (method, code, payload)

    def record(self, method: Method, code: grpc.StatusCode, payloads: list[bytes]) -> None:
        self.requests += 1
        self.codes[code.name] += 1
        if code in SERVER_FAULTS and len(self.faults) < 50:
            self.faults.append((method.path, code.name, b"".join(payloads)))


class RandomDraw:
    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)

    def integer(self, low: int, high: int) -> int:
        return self._random.randint(low, high)

    def choice(self, values: tuple[object, ...]) -> object:
        return self._random.choice(values)

    def data(self, size_max: int) -> bytes:
        return self._random.randbytes(self._random.randint(0, size_max))


def attack(channel: grpc.Channel, per_method: int, seed: int = 0) -> Figures:
    """`per_method` malformed requests to every RPC (seeded), counted by status."""
    figures, draw = Figures(), RandomDraw(seed)
    for method in methods():
        for _ in range(per_method):
            count = draw.integer(1, 3) if method.client_streaming else 1
            payloads = [request_bytes(method, draw) for _ in range(count)]
            figures.record(method, send(channel, method, payloads), payloads)
    return figures


def _served(run: Callable[[grpc.Channel], Figures]) -> tuple[Figures, LogCounter]:
    """Runs `run` against a real server on the scenario network (port 0), counting the server's log."""
    tests = Path(__file__).resolve().parent.parent
    sys.path[:0] = [str(tests), str(tests / "promise")]
    from conftest import ServerThread  # noqa: PLC0415  (a script run: tests/ is not on the path before)
    from scenario_network import network, stock_records  # noqa: PLC0415

    from dompromise.inventory.engine import Engine  # noqa: PLC0415
    from dompromise.log import MemoryLog  # noqa: PLC0415
    from dompromise.replica.local import Replica  # noqa: PLC0415

    replica = Replica(Engine(network()), MemoryLog())
    replica.bootstrap(stock_records({("PAD", "DC"): 40, ("OIL", "DC"): 20, ("BULB", "SUP"): 50}))
    counter = LogCounter()
    logging.getLogger().addHandler(counter)
    logging.getLogger().setLevel(logging.INFO)
    server = ServerThread(replica)
    try:
        with grpc.insecure_channel(server.target) as channel:
            return run(channel), counter
    finally:
        server.stop()
        logging.getLogger().removeHandler(counter)


def main(argv: list[str]) -> int:
    per_method = int(argv[1]) if len(argv) > 1 else 20
    seed = int(argv[2]) if len(argv) > 2 else 0
    figures, counter = _served(lambda channel: attack(channel, per_method, seed))
    faults = sum(figures.codes[code.name] for code in SERVER_FAULTS)
    print(f"{figures.requests} malformed requests over {len(methods())} RPCs: {dict(figures.codes)}")
    print(f"UNKNOWN/INTERNAL: {faults}; log records {dict(counter.levels)}; with a traceback: {counter.tracebacks}")
    for path, code, payload in figures.faults[:10]:
        print(f"  {code} {path} {payload[:80]!r}")
    for text in counter.errors[:5]:
        print("  log:", text[-600:])
    return 1 if faults or counter.tracebacks else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
