"""RedisLog and SharedReplica in-process over a real redis-server: positions, time, bootstrap, snapshots."""

from __future__ import annotations

import itertools

import pytest
import redis
from conftest import small_network, stock_record
from redis_server import needs_redis_server

from dompromise.internal.v1 import log_pb2
from dompromise.inventory.engine import ON_HAND_ADJUST, Engine
from dompromise.log.redis.log import RedisLog
from dompromise.replica.shared import LogGap, SharedReplica

pytestmark = needs_redis_server


def replica_of(url: str, clock_ns=None) -> SharedReplica:
    replica = SharedReplica(Engine(small_network()), RedisLog(url), **({"clock_ns": clock_ns} if clock_ns else {}))
    replica.recover()
    return replica


def adjust(sku: str, node: str, delta: int) -> log_pb2.LogRecord:
    return log_pb2.LogRecord(
        update_on_hand=log_pb2.UpdateOnHand(sku_ids=[sku], node_ids=[node], ops=[ON_HAND_ADJUST], quantities=[delta])
    )


def some_records(count: int, seed: int) -> list[log_pb2.LogRecord]:
    skus, nodes = ("PAD-1", "CABLE-1", "OIL-1", "GREASE-1"), ("DC-1", "WH-N", "ST-1")
    return [adjust(skus[(i + seed) % 4], nodes[i % 3], 1 + (i * seed) % 7) for i in range(count)]


def test_only_one_of_two_starting_instances_bootstraps(redis_server):
    first, second = replica_of(redis_server.url), replica_of(redis_server.url)
    assert len(first.bootstrap([stock_record(first.engine)])) == 1
    assert second.bootstrap([stock_record(second.engine)]) == []  # the head was no longer at 0
    assert first.log.last_position == second.engine.log_position == first.engine.log_position == 1
    assert first.engine.core.digest() == second.engine.core.digest()


def test_positions_are_dense_and_log_time_never_goes_back(redis_server):
    backwards = itertools.count(2_000_000_000_000_000_000, -1_000)  # a clock running backwards
    first = replica_of(redis_server.url, clock_ns=lambda: next(backwards))
    first.bootstrap([stock_record(first.engine)])
    late_clock = replica_of(redis_server.url, clock_ns=lambda: 1_000)
    for _ in range(3):
        first.bootstrap(some_records(5, 1))
        late_clock.bootstrap(some_records(5, 2))
    entries = list(RedisLog(redis_server.url).records())
    assert [position for position, *_ in entries] == list(range(1, 32))
    times = [time_ns for _, _, time_ns, _ in entries]
    assert times == sorted(times)
    assert min(times) == 2_000_000_000_000_000_000  # clamped to the first stamp, never earlier
    assert first.engine.core.log_time_ns == late_clock.engine.core.log_time_ns == times[-1]


def test_snapshot_recovery_and_full_replay_agree_byte_for_byte(redis_server):
    writer = replica_of(redis_server.url)
    writer.bootstrap([stock_record(writer.engine)])
    replayer = replica_of(redis_server.url)  # follows by replaying every record, never a snapshot
    left_behind = replica_of(redis_server.url)  # stays at position 1 while the stream is trimmed
    for round_number in range(3):
        writer.bootstrap(some_records(40, round_number + 1))
        replayer._catch_up()
        writer.snapshot_now()
    writer.bootstrap(some_records(25, 9))
    replayer._catch_up()
    client = redis.Redis.from_url(redis_server.url)
    assert client.zrange("dompromise:snapshots", 0, -1) == [b"81", b"121"]  # the newest two kept
    first_kept = int(client.xrange("dompromise:log", count=1)[0][0].split(b"-")[0])
    client.close()
    assert first_kept == 82, "trimmed to just after the older kept snapshot, no further"
    late = replica_of(redis_server.url)  # newest snapshot, then the tail
    assert late.engine.log_position == replayer.engine.log_position == writer.engine.log_position == 146
    with pytest.raises(LogGap):
        left_behind._catch_up()  # entries 2..81 are gone: noticed, never skipped
    left_behind._resync()
    assert left_behind.engine.log_position == 146
    digests = {r.engine.core.digest() for r in (writer, replayer, late, left_behind)}
    assert len(digests) == 1
