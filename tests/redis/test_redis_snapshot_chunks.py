"""Redis snapshots stored in chunks: round trip, whole-or-nothing, and the older whole-string form still read."""

from __future__ import annotations

import pytest
import redis
from conftest import small_network, stock_record
from redis_server import needs_redis_server

from dompromise.inventory.engine import Engine, network_fingerprint
from dompromise.log.redis import log as redis_log
from dompromise.log.redis.log import RedisLog, encode_snapshot
from dompromise.replica.shared import SharedReplica

pytestmark = needs_redis_server


def stocked(url: str) -> SharedReplica:
    replica = SharedReplica(Engine(small_network()), RedisLog(url))
    replica.recover()
    replica.bootstrap([stock_record(replica.engine)])
    return replica


def test_a_snapshot_is_stored_in_chunks_and_read_back_whole(redis_server, monkeypatch):
    monkeypatch.setattr(redis_log, "SNAPSHOT_CHUNK_BYTES", 1024)
    writer = stocked(redis_server.url)
    position = writer.snapshot_now()
    client = redis.Redis.from_url(redis_server.url)
    key = writer.log.snapshot_key(position)
    assert client.type(key) == b"hash"
    assert client.hlen(key) > 1
    assert writer.log.snapshot_size(position) == sum(client.hstrlen(key, f) for f in client.hkeys(key)) > 1024
    assert not client.exists(writer.log.partial_snapshot_key)
    client.close()
    late = SharedReplica(Engine(small_network()), RedisLog(redis_server.url))
    late.recover()
    assert late.engine.log_position == position
    assert late.engine.core.digest() == writer.engine.core.digest()


def test_a_half_written_snapshot_is_never_listed(redis_server, monkeypatch):
    monkeypatch.setattr(redis_log, "SNAPSHOT_CHUNK_BYTES", 1024)
    writer = stocked(redis_server.url)
    pushed = []
    original = writer.log.client.hset

    def dying_hset(key, *args, **kwargs):
        pushed.append(key)
        if len(pushed) == 3:
            raise redis.ConnectionError("the writer died mid-snapshot")
        return original(key, *args, **kwargs)

    writer.log.client.hset = dying_hset
    with pytest.raises(redis.ConnectionError):
        writer.snapshot_now()
    writer.log.client.hset = original
    assert writer.log.snapshot_positions() == []
    assert writer.log.load_snapshot(network_fingerprint(writer.engine.network)) is None
    writer.snapshot_now()  # the next attempt starts the side key afresh
    assert len(writer.log.snapshot_positions()) == 1


def test_a_snapshot_stored_whole_by_an_older_build_is_still_read(redis_server):
    writer = stocked(redis_server.url)
    arrays, meta = writer.engine.export_state()
    position = writer.engine.log_position
    client = redis.Redis.from_url(redis_server.url)
    client.set(writer.log.snapshot_key(position), encode_snapshot(position, arrays, meta))
    client.zadd(writer.log.snapshots_key, {str(position): position})
    client.close()
    late = SharedReplica(Engine(small_network()), RedisLog(redis_server.url))
    late.recover()
    assert late.engine.core.digest() == writer.engine.core.digest()
    assert writer.log.snapshot_size(position) == len(encode_snapshot(position, arrays, meta))
