"""The Redis log: Redis Streams as the shared sequencer of many replicas.

Keys, all under one prefix (`dompromise` unless told otherwise):

    <prefix>:log              the stream; entry id `<position>-1`, fields
                              r = LogRecord payload, t = log time (ns, decimal),
                              k = the writer's token (instance id : counter),
                              e = the new log id (only on the Tick a log id
                              bump appends: see "Epochs" below)
    <prefix>:head             hash: format, network (fingerprint), position (last
                              appended), time_ns (last log time), log_id
                              (the log's identity: random when the hash is
                              set, `<base>.<generation>.<random>` once an
                              instance noticed a loss: see "Epochs" below)
    <prefix>:snapshots        sorted set of snapshot positions (score = member)
    <prefix>:snapshot:<pos>   the snapshot's bytes (the arrays of log/snapshot.py in the raw
                              layout, encode_snapshot), as a hash of chunks "0", "1", ...
                              of at most SNAPSHOT_CHUNK_BYTES (npz bytes, and a string,
                              from older builds are still read)
    <prefix>:snapshot-partial the snapshot being written (renamed into place when whole)
    <prefix>:snapshot-lock    who is writing a snapshot now (redis-py's Lock: a random token per holder)

Positions are decided by Redis, not by the writer: one Lua script per batch
reads the head position, XADDs each record with the next one as its id and
stores the new head, atomically. So positions are dense (1, 2, 3, ...) and a
reader sees a gap as an id that is not its position + 1 (the stream was
trimmed past it, or Redis lost what it had applied): it resyncs, never
silently diverges.

Log time never goes backwards along the stream: the script stores
`max(writer's stamp, last time)` in `t` (compared as decimal strings: ns times
do not fit Lua's doubles), and replicas apply the record with that time.

Durability is Redis's: the script's reply is sent after the AOF write, and
after its fsync only with `appendfsync always` (see docs/redis.md).

Epochs. Positions and the log id are promised to clients (watch versions,
x-dompromise-position): (log id, position) must name one state forever. A
Redis that lost acknowledged records (`appendfsync everysec` and a crash, a
restore from an older backup) reuses their positions for new writes. The
instance that notices it applied records Redis no longer holds bumps the log
id with BUMP_SCRIPT: a compare-and-set on the id it read from Redis (so
instances noticing the same loss bump it once), which also appends a Tick
carrying the new id, so every replica meets the change in stream order and
adopts it at that position. The new id is `<base>.<generation>.<random>`:
the generation orders bumps (an instance that sees a higher one than its own
knows somebody bumped already), the random part keeps ids unique when a
restore brings an older generation back.
"""

from __future__ import annotations

import io
import json
import logging
import math
import os
import struct
import zipfile
import zlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Literal, overload

import numpy as np
import redis
import redis.asyncio
import redis.asyncio.lock
import redis.lock
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.commands.core import AsyncScript

from dompromise import limits
from dompromise.errors import RedisLogError
from dompromise.log.snapshot import FORMAT_VERSION as SNAPSHOT_FORMAT_VERSION

# Version of the key layout above; an instance refuses a Redis holding another.
FORMAT_VERSION = 1
# Snapshots kept (the newest and one to fall back on); the stream is trimmed
# only below the oldest kept.
SNAPSHOTS_KEPT = 2
# Entries per XRANGE while replaying, per XREAD while tailing.
READ_ENTRIES_MAX = 4_096
# How long a tailing XREAD blocks before it asks again, in milliseconds.
READ_BLOCK_MS = 1_000
# Socket bounds, in seconds: a dead Redis is noticed within these.
CONNECT_TIMEOUT_SECONDS = 0.5
SOCKET_TIMEOUT_SECONDS = 5.0
# Snapshot bytes per Redis value: each chunk is one round trip well inside
# SOCKET_TIMEOUT_SECONDS, and a snapshot may outgrow Redis's 512 MB string
# limit (10M positions make ~760 MB).
SNAPSHOT_CHUNK_BYTES = 16 * 1024 * 1024

log = logging.getLogger(__name__)

# (position, payload, log time in ns, the writer's token) of one stream entry.
Entry = tuple[int, bytes, int, bytes]
# An Entry and the log id it was appended under ('' on every entry but a bump's Tick: see "Epochs").
EpochEntry = tuple[int, bytes, int, bytes, str]

# KEYS: stream, head. ARGV: expected head position (-1: any), record count,
# then per record: payload, writer's time (ns, decimal), token.
# Returns {appended count, head position after}; appends nothing (count 0)
# when the head is not at the expected position.
APPEND_SCRIPT = """
local position = tonumber(redis.call('HGET', KEYS[2], 'position') or '0')
local expected = tonumber(ARGV[1])
if expected >= 0 and position ~= expected then
  return {0, position}
end
local last_time = redis.call('HGET', KEYS[2], 'time_ns') or '0'
local count = tonumber(ARGV[2])
local i = 3
for _ = 1, count do
  position = position + 1
  local t = ARGV[i + 1]
  if #t < #last_time or (#t == #last_time and t < last_time) then
    t = last_time
  end
  last_time = t
  redis.call('XADD', KEYS[1], string.format('%d-1', position), 'r', ARGV[i], 't', t, 'k', ARGV[i + 2])
  i = i + 3
end
redis.call('HSET', KEYS[2], 'position', string.format('%d', position), 'time_ns', last_time)
return {count, position}
"""


# KEYS: stream, head. ARGV: the log id the caller read from Redis, the new log
# id, the marker's payload (a Tick), writer's time (ns, decimal), token.
# Returns {1, new id, marker position} after setting the id and appending the
# marker carrying it; {0, id found, 0} (nothing changed) when Redis no longer
# holds the expected id (another instance bumped it first).
BUMP_SCRIPT = """
local current = redis.call('HGET', KEYS[2], 'log_id') or ''
if current ~= ARGV[1] then
  return {0, current, 0}
end
local position = tonumber(redis.call('HGET', KEYS[2], 'position') or '0') + 1
local last_time = redis.call('HGET', KEYS[2], 'time_ns') or '0'
local t = ARGV[4]
if #t < #last_time or (#t == #last_time and t < last_time) then
  t = last_time
end
redis.call('XADD', KEYS[1], string.format('%d-1', position), 'r', ARGV[3], 't', t, 'k', ARGV[5], 'e', ARGV[2])
redis.call('HSET', KEYS[2], 'log_id', ARGV[2], 'position', string.format('%d', position), 'time_ns', t)
return {1, ARGV[2], position}
"""


def log_id_generation(log_id: str) -> int:
    """How many times the log's history was found rewritten: 0 for a base id, else its middle part."""
    parts = log_id.split(".")
    return int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else 0


def next_log_id(found: str, own: str) -> str:
    """The id after a loss: the base of the id Redis holds (a new one if it holds none: wiped), a generation
    above both ids seen, a random part."""
    generation = max(log_id_generation(found), log_id_generation(own)) + 1
    base = found.split(".", 1)[0] or os.urandom(8).hex()
    return f"{base}.{generation}.{os.urandom(4).hex()}"


# A stream entry's fields as the clients answer them.
Fields = Mapping[bytes | str, bytes | str]


def entry_epoch(fields: Fields) -> str:
    """The log id a bump's Tick entry names ('' for every other entry)."""
    return as_text(fields.get(b"e"))


def parse_entry(entry_id: bytes | str | None, fields: Fields | None) -> Entry:
    """(position, payload, time_ns, token) of one stream entry."""
    assert fields is not None, entry_id  # an entry XRANGE or XREAD found has its fields
    position = int(as_bytes(entry_id).split(b"-", 1)[0])
    return position, as_bytes(fields[b"r"]), int(fields[b"t"]), as_bytes(fields.get(b"k", b""))


def parse_epoch_entry(entry_id: bytes | str | None, fields: Fields | None) -> EpochEntry:
    """parse_entry's tuple and the log id the entry was appended under."""
    assert fields is not None, entry_id
    return parse_entry(entry_id, fields) + (entry_epoch(fields),)


def as_bytes(value: object) -> bytes:
    """A value Redis answered: bytes, as the clients keep decode_responses off."""
    assert isinstance(value, bytes), type(value)
    return value


def as_int(value: object) -> int:
    """An integer Redis answered (its digits, or a script's integer); 0 when absent."""
    if not value:
        return 0
    assert isinstance(value, bytes | str | int), type(value)
    return int(value)


def as_text(value: object) -> str:
    """A string Redis answered, decoded; '' when absent."""
    return as_bytes(value).decode() if value else ""


def stream_id(position: int) -> str:
    return f"{position}-1"


class RedisLog:
    """One instance's view of the shared log: a blocking client for start-up and ops, an asyncio one for serving."""

    def __init__(self, url: str, prefix: str = "dompromise"):
        self.url = url
        self.prefix = prefix
        self.stream_key = f"{prefix}:log"
        self.head_key = f"{prefix}:head"
        self.snapshots_key = f"{prefix}:snapshots"
        self.lock_key = f"{prefix}:snapshot-lock"
        self.partial_snapshot_key = f"{prefix}:snapshot-partial"
        self.client = redis.Redis.from_url(
            url, socket_connect_timeout=CONNECT_TIMEOUT_SECONDS, socket_timeout=SOCKET_TIMEOUT_SECONDS
        )
        self._async: redis.asyncio.Redis | None = None
        self._append = self.client.register_script(APPEND_SCRIPT)
        self._append_async: AsyncScript | None = None
        self._bump_async: AsyncScript | None = None
        self.log_id = ""  # the log's identity, read (or set, on a new Redis) by claim

    def snapshot_key(self, position: int) -> str:
        return f"{self.prefix}:snapshot:{position:020d}"

    # ---- layout and identity -------------------------------------------------

    def claim(self, network_fingerprint: str) -> str:
        """Checks (or, on a new Redis, records) the layout version and the network this log started on;
        returns the latter's fingerprint. A changed network is no refusal: snapshots carry their network
        and a changed config becomes log commands (replica/bootstrap.py)."""
        self.client.hsetnx(self.head_key, "format", FORMAT_VERSION)
        self.client.hsetnx(self.head_key, "network", network_fingerprint)
        self.client.hsetnx(self.head_key, "log_id", os.urandom(8).hex())
        found_format, found_network, log_id = self.client.hmget(self.head_key, "format", "network", "log_id")
        self.log_id = as_text(log_id)
        if as_int(found_format) != FORMAT_VERSION:
            raise RedisLogError(
                f"{self.url} {self.prefix}: log format {as_int(found_format)}, this build reads {FORMAT_VERSION}"
            )
        try:
            policy = self.client.config_get("maxmemory-policy").get("maxmemory-policy", "noeviction")
        except redis.ResponseError:  # CONFIG may be renamed away on managed Redis
            policy = "noeviction"
        if policy != "noeviction":
            log.warning("Redis maxmemory-policy is %s: it may evict the log; set noeviction (docs/redis.md)", policy)
        return as_text(found_network)

    # ---- positions -----------------------------------------------------------

    @property
    def last_position(self) -> int:
        return as_int(self.client.hget(self.head_key, "position"))

    @property
    def first_position(self) -> int:
        """The oldest position still in the stream (last + 1 when it is empty)."""
        first = self.client.xrange(self.stream_key, count=1)
        return parse_entry(*first[0])[0] if first else self.last_position + 1

    # ---- appending -------------------------------------------------------------

    def write(
        self, payloads: Sequence[bytes], times_ns: Sequence[int], tokens: Sequence[bytes], expected_position: int = -1
    ) -> int:
        """Appends records atomically (all or none); returns how many (0: head not at expected_position)."""
        count, _ = self._append(
            keys=[self.stream_key, self.head_key], args=_append_args(payloads, times_ns, tokens, expected_position)
        )
        return as_int(count)

    async def write_async(self, payloads: Sequence[bytes], times_ns: Sequence[int], tokens: Sequence[bytes]) -> int:
        """Appends records atomically; returns the head position after them."""
        if self._append_async is None:
            self._append_async = self.async_client().register_script(APPEND_SCRIPT)
        _, position = await self._append_async(
            keys=[self.stream_key, self.head_key], args=_append_args(payloads, times_ns, tokens, -1)
        )
        return as_int(position)

    # ---- reading ----------------------------------------------------------------

    @overload
    def records(self, after_position: int = 0, with_epoch: Literal[False] = False) -> Iterator[Entry]: ...

    @overload
    def records(self, after_position: int = 0, *, with_epoch: Literal[True]) -> Iterator[EpochEntry]: ...

    def records(self, after_position: int = 0, with_epoch: bool = False) -> Iterator[Entry | EpochEntry]:
        """(position, payload, time_ns, token) of every entry after `after_position`, in order, to the head now;
        with_epoch: (position, payload, time_ns, token, log id it was appended under)."""
        start: str | bytes = f"({stream_id(after_position)}" if after_position else "-"
        while True:
            entries = self.client.xrange(self.stream_key, min=start, count=READ_ENTRIES_MAX)
            if not entries:
                return
            for entry_id, fields in entries:
                yield parse_epoch_entry(entry_id, fields) if with_epoch else parse_entry(entry_id, fields)
            start = b"(" + as_bytes(entries[-1][0])

    def entry(self, position: int) -> Entry | None:
        found = self.client.xrange(self.stream_key, min=stream_id(position), max=stream_id(position))
        return parse_entry(*found[0]) if found else None

    @overload
    async def read_async(
        self, after_position: int, block_ms: int = READ_BLOCK_MS, with_epoch: Literal[False] = False
    ) -> list[Entry]: ...

    @overload
    async def read_async(
        self, after_position: int, block_ms: int = READ_BLOCK_MS, *, with_epoch: Literal[True]
    ) -> list[EpochEntry]: ...

    async def read_async(
        self, after_position: int, block_ms: int = READ_BLOCK_MS, with_epoch: bool = False
    ) -> list[Entry] | list[EpochEntry]:
        """Entries after `after_position`, waiting up to block_ms for the first; [] if none came
        (with_epoch: each with the log id it was appended under, as records())."""
        answer = await self.async_client().xread(
            {self.stream_key: stream_id(after_position)}, count=READ_ENTRIES_MAX, block=block_ms
        )
        if not answer:
            return []
        assert isinstance(answer, list), type(answer)  # RESP2: [[stream key, entries]]
        entries: list[tuple[bytes, Fields]] = answer[0][1]
        if with_epoch:
            return [parse_epoch_entry(entry_id, fields) for entry_id, fields in entries]
        return [parse_entry(entry_id, fields) for entry_id, fields in entries]

    async def head_async(self) -> int:
        """The head position (last appended), for reconnect checks."""
        return as_int(await self.async_client().hget(self.head_key, "position"))

    async def head_and_id_async(self) -> tuple[int, str]:
        """(head position, log id) read together, for reconnect checks."""
        position, log_id = await self.async_client().hmget(self.head_key, "position", "log_id")
        return as_int(position), as_text(log_id)

    def read_log_id(self) -> str:
        """The log id Redis holds now (resync re-reads it)."""
        return as_text(self.client.hget(self.head_key, "log_id"))

    async def bump_log_id_async(self, found: str, marker: bytes, time_ns: int, token: bytes) -> tuple[bool, str, int]:
        """After a loss: replaces the log id if Redis still holds `found` (the one this instance read), appending
        `marker` (a Tick) with the new id. Returns (bumped, the id Redis holds now, the marker's position or 0)."""
        if self._bump_async is None:
            self._bump_async = self.async_client().register_script(BUMP_SCRIPT)
        new_id = next_log_id(found, self.log_id)
        bumped, log_id, position = await self._bump_async(
            keys=[self.stream_key, self.head_key], args=[found, new_id, marker, str(int(time_ns)), token]
        )
        return bool(bumped), log_id.decode() if isinstance(log_id, bytes) else str(log_id), int(position)

    async def entry_async(self, position: int) -> Entry | None:
        found = await self.async_client().xrange(self.stream_key, min=stream_id(position), max=stream_id(position))
        return parse_entry(*found[0]) if found else None

    def async_client(self) -> redis.asyncio.Redis:
        """The asyncio client (created on first use, inside the serving event loop)."""
        if self._async is None:
            # No retries by redis-py, pinned: the tail must see every lost connection, to check
            # on reconnect that Redis still holds what it applied (a restarted Redis may have
            # lost records), and an append script sent twice would append its batch twice.
            # (redis-py 8.1's default Retry has 10 attempts; probed over a real restart, a dead
            # pooled connection and a blocked XREAD raised with it too: this keeps it so.)
            self._async = redis.asyncio.Redis.from_url(
                self.url,
                retry=Retry(NoBackoff(), 0),
                socket_connect_timeout=CONNECT_TIMEOUT_SECONDS,
                socket_timeout=SOCKET_TIMEOUT_SECONDS,
            )
        return self._async

    # ---- snapshots ----------------------------------------------------------------

    def snapshot_positions(self) -> list[int]:
        """Positions of the stored snapshots, oldest first."""
        return [as_int(member) for member in self.client.zrange(self.snapshots_key, 0, -1)]

    def snapshot_lock(self) -> redis.lock.Lock:
        """The lock one snapshot writer holds (`dompromise snapshot`, or one instance per interval): redis-py's
        Lock, whose release deletes the key only while it still holds this holder's random token (a writer
        slower than the expiry never frees another's lock). A writer that died frees it after
        REDIS_SNAPSHOT_LOCK_SECONDS."""
        return redis.lock.Lock(
            self.client, self.lock_key, timeout=limits.REDIS_SNAPSHOT_LOCK_SECONDS, thread_local=False
        )

    def snapshot_lock_async(self) -> redis.asyncio.lock.Lock:
        """snapshot_lock, for the event loop (the instances' periodic snapshots)."""
        return redis.asyncio.lock.Lock(self.async_client(), self.lock_key, timeout=limits.REDIS_SNAPSHOT_LOCK_SECONDS)

    def write_snapshot(self, position: int, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        """Stores a snapshot, keeps the newest SNAPSHOTS_KEPT, trims the stream below the oldest kept."""
        data = memoryview(encode_snapshot(position, arrays, meta))
        # Chunk by chunk into a side key, then renamed into place and listed at
        # once: a reader never sees half a snapshot, a writer that dies leaves
        # only the side key (the next writer starts it afresh).
        self.client.delete(self.partial_snapshot_key)
        for index, start in enumerate(range(0, len(data), SNAPSHOT_CHUNK_BYTES)):
            self.client.hset(self.partial_snapshot_key, str(index), data[start : start + SNAPSHOT_CHUNK_BYTES])
        with self.client.pipeline(transaction=True) as pipe:
            pipe.rename(self.partial_snapshot_key, self.snapshot_key(position))
            pipe.zadd(self.snapshots_key, {str(position): position})
            pipe.execute()
        positions = self.snapshot_positions()
        for old in positions[:-SNAPSHOTS_KEPT]:
            with self.client.pipeline(transaction=True) as pipe:
                pipe.zrem(self.snapshots_key, str(old))
                pipe.delete(self.snapshot_key(old))
                pipe.execute()
        kept = positions[-SNAPSHOTS_KEPT:]
        if len(kept) == SNAPSHOTS_KEPT:
            # Entries at or below the oldest kept snapshot are covered twice over.
            self.client.xtrim(self.stream_key, minid=f"{kept[0] + 1}-0", approximate=False)

    def load_snapshot(self, network_fingerprint: str) -> tuple[dict[str, Any], dict[str, np.ndarray]] | None:
        """(meta, arrays) of the newest readable snapshot (one that carries its network, or else one of
        the network `network_fingerprint` names), or None.

        The arrays of a raw snapshot are views into one buffer the chunks were
        read into (writable, owned by nobody else): Engine.from_state(...,
        adopt=True) takes them as they are."""
        for position in reversed(self.snapshot_positions()):
            data = self._snapshot_buffer(self.snapshot_key(position))
            if data is None:
                continue  # removed between the listing and now
            try:
                meta, arrays = decode_snapshot(data)
            except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
                log.warning("Redis snapshot at %d unreadable (%s); trying an older one", position, error)
                continue
            finally:
                del data
            if meta.get("format_version") != SNAPSHOT_FORMAT_VERSION or meta.get("position") != position:
                log.warning(
                    "Redis snapshot at %d has format %s, not %s; skipped",
                    position,
                    meta.get("format_version"),
                    SNAPSHOT_FORMAT_VERSION,
                )
                continue
            if "network_document" not in meta and meta.get("network") != network_fingerprint:
                # From before snapshots carried their network: only for the network it names.
                log.warning("Redis snapshot at %d is for another network; skipped", position)
                continue
            return meta, arrays
        return None

    def _snapshot_buffer(self, key: str) -> np.ndarray | bytes | None:
        """A stored snapshot's bytes (None if it is gone): the chunks, a round trip
        each, copied into one buffer sized by their HSTRLENs (no join)."""
        kind = self.client.type(key)
        if kind == b"none":
            return None
        if kind == b"string":  # written whole by a build before the chunks
            whole = self.client.get(key)
            return None if whole is None else as_bytes(whole)
        count = self.client.hlen(key)
        with self.client.pipeline(transaction=False) as pipe:
            for index in range(count):
                pipe.hstrlen(key, str(index))
            sizes = pipe.execute()
        buffer = np.empty(sum(sizes), dtype=np.uint8)
        start = 0
        for index, size in enumerate(sizes):
            chunk = self.client.hget(key, str(index))
            if chunk is None or len(chunk) != size:
                return None  # removed (or replaced) while we read it
            buffer[start : start + size] = np.frombuffer(as_bytes(chunk), dtype=np.uint8)
            start += size
            del chunk
        return buffer

    def snapshot_size(self, position: int) -> int:
        """Bytes of the snapshot stored at `position` (0 if there is none), without reading it."""
        key = self.snapshot_key(position)
        kind = self.client.type(key)
        if kind == b"string":
            return self.client.strlen(key)
        if kind != b"hash":
            return 0
        with self.client.pipeline(transaction=False) as pipe:
            for field in self.client.hkeys(key):
                pipe.hstrlen(key, field)
            return sum(pipe.execute())

    def close(self) -> None:
        self.client.close()

    async def aclose(self) -> None:
        if self._async is not None:
            await self._async.aclose()
            self._async = None
            self._append_async = None
            self._bump_async = None


def _append_args(
    payloads: Sequence[bytes], times_ns: Sequence[int], tokens: Sequence[bytes], expected_position: int
) -> list[int | bytes | str]:
    assert len(payloads) == len(times_ns) == len(tokens), "one time and one token per record"
    args: list[int | bytes | str] = [expected_position, len(payloads)]
    for payload, time_ns, token in zip(payloads, times_ns, tokens):
        assert payload, "records are never empty"
        args.extend((payload, str(int(time_ns)), token))
    return args


# The raw layout of a Redis snapshot (builds before it stored numpy's npz,
# still read): RAW_MAGIC, then the header's length and CRC-32 (two little-endian
# uint64), the header (JSON: meta, then per array its name, dtype, shape and
# either its offset, byte count and CRC-32, or the one value all its elements
# have), then the arrays' bytes, each at an offset that is a multiple of
# RAW_ALIGN_BYTES. Read back as views into the one buffer the chunks land in:
# no decompression, no copy; every array's CRC-32 is checked, as npz's are.
# An array of CONSTANT_ELEMENTS_MIN elements or more that holds one value
# throughout (features a deployment does not use: reasons, safety-stock rules,
# backorders, supply) is stored as that value and rebuilt with np.full.
RAW_MAGIC = b"DPSNAP\x00\x01"
# What a snapshot's bytes come as: read whole, or the chunks copied into one array.
SnapshotBytes = bytes | bytearray | memoryview | np.ndarray
RAW_ALIGN_BYTES = 64
CONSTANT_ELEMENTS_MIN = 4_096
_RAW_PREFIX_BYTES = len(RAW_MAGIC) + 16
_NPZ_MAGIC = b"PK\x03\x04"


def _aligned(size: int) -> int:
    return -(-size // RAW_ALIGN_BYTES) * RAW_ALIGN_BYTES


def _constant(array: np.ndarray) -> bool:
    return array.size >= CONSTANT_ELEMENTS_MIN and bool((array == array.flat[0]).all())


def encode_snapshot(position: int, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> bytearray:
    """A snapshot's bytes in the raw layout (the same members as a snapshot file)."""
    assert "meta" not in arrays, "'meta' is reserved"
    document = dict(meta, format_version=SNAPSHOT_FORMAT_VERSION, position=position)
    entries: list[dict[str, Any]] = []
    stored: list[tuple[int, memoryview | bytes]] = []
    offset = 0
    for name, array in arrays.items():
        array = np.asarray(array)
        if not array.flags.c_contiguous:
            array = array.copy()
        assert not array.dtype.hasobject, f"{name}: object arrays cannot be stored"
        entry: dict[str, Any] = {"name": name, "dtype": array.dtype.str, "shape": list(array.shape)}
        if _constant(array):
            entry["fill"] = array.flat[0:1].tobytes().hex()  # bytes: exact for any dtype
        else:
            raw = array.data.cast("B") if array.nbytes else b""
            entry.update(offset=offset, nbytes=array.nbytes, crc32=zlib.crc32(raw))
            stored.append((offset, raw))
            offset += _aligned(array.nbytes)
        entries.append(entry)
    # Offsets count from the data start, itself aligned after the header.
    header = json.dumps({"meta": document, "arrays": entries}).encode()
    data_start = _aligned(_RAW_PREFIX_BYTES + len(header))
    out = bytearray(data_start + offset)
    out[:_RAW_PREFIX_BYTES] = RAW_MAGIC + struct.pack("<QQ", len(header), zlib.crc32(header))
    out[_RAW_PREFIX_BYTES : _RAW_PREFIX_BYTES + len(header)] = header
    view = memoryview(out)
    for start, raw in stored:
        view[data_start + start : data_start + start + len(raw)] = raw
    return out


def encode_npz_snapshot(position: int, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> bytes:
    """The npz bytes of a snapshot, as builds before the raw layout stored it (tests of the old layout)."""
    assert "meta" not in arrays, "'meta' is reserved"
    document = dict(meta, format_version=SNAPSHOT_FORMAT_VERSION, position=position)
    # Any: numpy's stub checks a **mapping's values against savez's allow_pickle flag too.
    members: dict[str, Any] = {"meta": np.frombuffer(json.dumps(document).encode(), dtype=np.uint8), **arrays}
    buffer = io.BytesIO()
    np.savez(buffer, **members)
    return buffer.getvalue()


def decode_snapshot(data: SnapshotBytes) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(meta, arrays) of a snapshot's bytes, raw layout or npz. Raises ValueError
    (or zipfile.BadZipFile) when it is damaged: a CRC-32 that does not match,
    a truncated buffer, an unknown layout."""
    head = bytes(memoryview(_buffer(data))[: len(RAW_MAGIC)])
    if head == RAW_MAGIC:
        try:
            return _decode_raw(data)
        except (TypeError, KeyError, AttributeError) as error:  # a header of another shape
            raise ValueError(f"snapshot header malformed: {error!r}") from None
    if head.startswith(_NPZ_MAGIC):
        with np.load(io.BytesIO(_buffer(data)), allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
        meta = json.loads(arrays.pop("meta").tobytes())
        return meta, arrays
    raise ValueError("not a snapshot (unknown layout)")


def _buffer(data: SnapshotBytes) -> bytes | bytearray | memoryview:
    """`data` as a buffer the standard library takes (an array's own memory: no copy)."""
    return data.data if isinstance(data, np.ndarray) else data


def _decode_raw(data: SnapshotBytes) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Views into `data` (copied once into an owned, writable buffer if it is not one)."""
    if not (isinstance(data, np.ndarray) and data.flags.writeable and data.flags.c_contiguous):
        data = np.frombuffer(bytearray(_buffer(data)), dtype=np.uint8)
    if data.nbytes < _RAW_PREFIX_BYTES:
        raise ValueError("snapshot truncated (no header)")
    header_bytes, header_crc = struct.unpack("<QQ", data[len(RAW_MAGIC) : _RAW_PREFIX_BYTES].tobytes())
    header = data[_RAW_PREFIX_BYTES : _RAW_PREFIX_BYTES + header_bytes].tobytes()
    if len(header) != header_bytes or zlib.crc32(header) != header_crc:
        raise ValueError("snapshot header damaged (length or CRC-32)")
    document = json.loads(header)
    data_start = _aligned(_RAW_PREFIX_BYTES + header_bytes)
    arrays = {}
    for entry in document["arrays"]:
        name, dtype, shape = entry["name"], np.dtype(entry["dtype"]), tuple(entry["shape"])
        if dtype.hasobject:
            raise ValueError(f"snapshot array {name} has an object dtype")
        if "fill" in entry:
            value = np.frombuffer(bytes.fromhex(entry["fill"]), dtype=dtype)
            if value.shape != (1,):
                raise ValueError(f"snapshot array {name}: a fill value of the wrong size")
            # np.zeros for zeros: pages come from the kernel zeroed, touched when written.
            arrays[name] = np.zeros(shape, dtype) if not value.view(np.uint8).any() else np.full(shape, value[0])
            continue
        offset, nbytes = entry["offset"], entry["nbytes"]
        start = data_start + offset
        if offset < 0 or start + nbytes > data.nbytes or nbytes != dtype.itemsize * math.prod(shape):
            raise ValueError(f"snapshot array {name} truncated or of the wrong size")
        raw = data[start : start + nbytes]
        if zlib.crc32(raw.data) != entry["crc32"]:
            raise ValueError(f"snapshot array {name} damaged (CRC-32)")
        arrays[name] = raw.view(dtype).reshape(shape)
    return document["meta"], arrays
