"""The raw layout of Redis snapshots: exact round trip, arrays of one value stored as
that value, damage detected (the older snapshot used instead), npz from older builds
still read, and a core that adopts the read buffer without copying it."""

from __future__ import annotations

import json
import logging
import struct

import numpy as np
import pytest
import redis
from conftest import small_network, stock_record
from redis_server import needs_redis_server

from dompromise.internal.v1 import log_pb2
from dompromise.inventory.engine import Engine, network_fingerprint
from dompromise.log.redis import log as redis_log
from dompromise.log.redis.log import RedisLog, decode_snapshot, encode_npz_snapshot, encode_snapshot
from dompromise.replica.shared import SharedReplica


def sample_arrays() -> dict[str, np.ndarray]:
    return {
        "minus_ones": np.full(5_000, -1, dtype=np.int64),  # one value: stored as it
        "zeros": np.zeros(9_000, dtype=np.uint8),
        "nans": np.full(5_000, np.nan),  # NaN != NaN: never "one value", stored
        "counting": np.arange(10_000, dtype=np.int32),
        "short_constant": np.full(10, 7, dtype=np.int64),  # under CONSTANT_ELEMENTS_MIN: stored
        "empty": np.zeros(0, dtype=np.int32),
        "matrix": np.arange(20).reshape(4, 5)[:, ::2],  # not contiguous
        "flags": np.ones((100, 100), dtype=bool),
        "scalar": np.array(5, dtype=np.int64),
    }


def test_the_raw_layout_round_trips_every_array_exactly():
    arrays = sample_arrays()
    data = encode_snapshot(7, arrays, {"network": "n"})
    stored_bytes = arrays["counting"].nbytes + arrays["nans"].nbytes
    assert stored_bytes < len(data) < stored_bytes + 3_000, "the constant arrays took no room"
    for given in (bytes(data), np.frombuffer(bytes(data), dtype=np.uint8).copy()):
        meta, decoded = decode_snapshot(given)
        assert meta["position"] == 7 and meta["network"] == "n"
        assert decoded.keys() == arrays.keys()
        for name, array in arrays.items():
            assert decoded[name].dtype == array.dtype and decoded[name].shape == array.shape, name
            assert np.array_equal(decoded[name], array, equal_nan=True), name
            assert decoded[name].flags.writeable and decoded[name].flags.c_contiguous, name


@pytest.mark.parametrize("where", ["header", "array", "truncated", "magic"])
def test_a_damaged_raw_snapshot_is_refused(where):
    data = bytearray(encode_snapshot(7, sample_arrays(), {"network": "n"}))
    if where == "header":
        data[40] ^= 1
    elif where == "array":  # a byte of the stored arrays (the padding after them is not data)
        data[len(data) // 2] ^= 1
    elif where == "truncated":
        data = data[:-100]
    else:
        data[0] ^= 1
    with pytest.raises(ValueError):
        decode_snapshot(bytes(data))


def stocked(url: str) -> SharedReplica:
    replica = SharedReplica(Engine(small_network()), RedisLog(url))
    replica.recover()
    replica.bootstrap([stock_record(replica.engine)])
    return replica


def reserve(replica: SharedReplica, n: int) -> None:
    sku, node = replica.engine.network.skus[0].sku_id, replica.engine.network.nodes[0].node_id
    replica.bootstrap(
        [
            log_pb2.LogRecord(
                request_id=f"r{n}",
                reserve=log_pb2.Reserve(sku_ids=[sku], node_ids=[node], quantities=[1], ttl_ns=3600 * 10**9),
            )
        ]
    )


@needs_redis_server
def test_constant_arrays_come_back_and_the_adopted_core_follows_the_log(redis_server, monkeypatch):
    monkeypatch.setattr(redis_log, "CONSTANT_ELEMENTS_MIN", 1)  # the small network's unused tables too
    monkeypatch.setattr(redis_log, "SNAPSHOT_CHUNK_BYTES", 1024)
    writer = stocked(redis_server.url)
    reserve(writer, 1)
    writer.snapshot_now()
    reserve(writer, 2)
    late = SharedReplica(Engine(small_network()), RedisLog(redis_server.url))
    late.recover()
    assert late.engine.core.digest() == writer.engine.core.digest()
    for n in (3, 4):  # both go on from there alike: the adopted arrays are the core's own
        reserve(writer, n)
        late._catch_up()
    assert late.engine.core.digest() == writer.engine.core.digest()


def on_hand_byte(data: bytes) -> int:
    """Where the first byte of the stored on_hand array is in a raw snapshot."""
    prefix = len(redis_log.RAW_MAGIC) + 16
    header_bytes = struct.unpack("<Q", data[len(redis_log.RAW_MAGIC) : len(redis_log.RAW_MAGIC) + 8])[0]
    entries = json.loads(data[prefix : prefix + header_bytes])["arrays"]
    offset = next(entry["offset"] for entry in entries if entry["name"] == "on_hand")
    return redis_log._aligned(prefix + header_bytes) + offset


@needs_redis_server
def test_a_damaged_chunk_makes_the_older_snapshot_used(redis_server, monkeypatch, caplog):
    monkeypatch.setattr(redis_log, "SNAPSHOT_CHUNK_BYTES", 1024)
    writer = stocked(redis_server.url)
    older = writer.snapshot_now()
    reserve(writer, 1)
    newest = writer.snapshot_now()
    client = redis.Redis.from_url(redis_server.url)
    key = writer.log.snapshot_key(newest)
    whole = b"".join(client.hget(key, str(i)) for i in range(client.hlen(key)))
    at = on_hand_byte(whole)
    chunk = bytearray(client.hget(key, str(at // 1024)))
    chunk[at % 1024] ^= 0xFF
    client.hset(key, str(at // 1024), bytes(chunk))
    client.close()
    late = SharedReplica(Engine(small_network()), RedisLog(redis_server.url))
    with caplog.at_level(logging.WARNING):
        late.recover()
    assert f"Redis snapshot at {newest} unreadable" in caplog.text
    assert late.loaded_snapshot_position == older
    assert late.engine.core.digest() == writer.engine.core.digest()


@needs_redis_server
def test_npz_chunks_of_an_older_build_are_still_read(redis_server):
    writer = stocked(redis_server.url)
    reserve(writer, 1)
    arrays, meta = writer.engine.export_state()
    position = writer.engine.log_position
    data = encode_npz_snapshot(position, arrays, meta)
    client = redis.Redis.from_url(redis_server.url)
    key = writer.log.snapshot_key(position)
    for index, start in enumerate(range(0, len(data), 1000)):
        client.hset(key, str(index), data[start : start + 1000])
    client.zadd(writer.log.snapshots_key, {str(position): position})
    client.close()
    late = SharedReplica(Engine(small_network()), RedisLog(redis_server.url))
    late.recover()
    assert late.loaded_snapshot_position == position
    assert late.engine.core.digest() == writer.engine.core.digest()
    assert late.log.load_snapshot(network_fingerprint(late.engine.network))[0]["position"] == position
