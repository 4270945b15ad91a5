"""`dompromise check` and `dompromise snapshot` against real instances over a real redis-server."""

from __future__ import annotations

import json
import signal

import grpc
import pytest
from processes import Serving, dompromise, until
from redis_server import needs_redis_server

from dompromise import limits
from dompromise.v1 import availability_pb2, availability_pb2_grpc, inventory_pb2, inventory_pb2_grpc

NODE = "DC-NAT"

pytestmark = needs_redis_server


@pytest.fixture
def redis_client(redis_server):
    import redis

    client = redis.Redis(port=redis_server.port)
    yield client
    client.close()


def serve(instances: list, redis_url: str, *args: str) -> Serving:
    serving = Serving("--redis", redis_url, *args)
    instances.append(serving)
    return serving


def check(redis_url: str, *args: str):
    """(exit code, JSON document, problem lines) of `dompromise check --json`."""
    result = dompromise("check", "--redis", redis_url, "--json", *args)
    assert result.returncode in (0, 1), result.stderr
    return (
        result.returncode,
        json.loads(result.stdout),
        [line for line in result.stderr.splitlines() if line.startswith("dompromise check: ")],
    )


def until_check(redis_url: str, code: int, what: str, *args: str, also=lambda status: True):
    """Polls `check` until it exits with `code` and its status satisfies `also`; the last
    problems are in the failure message."""
    last = [None]

    def probe():
        last[0] = check(redis_url, *args)
        return last[0] if last[0][0] == code and also(last[0][1]) else None

    try:
        return until(probe, what)
    except AssertionError as error:
        raise AssertionError(f"{error}; last check: {last[0]}") from None


def registered(redis_client, count: int) -> dict[str, dict]:
    def found():
        entries = {k.decode(): json.loads(v) for k, v in redis_client.hgetall("dompromise:instances").items()}
        return entries if len(entries) == count else None

    return until(found, f"{count} instances registered")


def demo_skus(count: int) -> list[str]:
    from dompromise.demo import network as demo

    return [sku.sku_id for sku in demo.demo_network().skus[:count]]


def set_on_hand(target: str, sku: str, quantity: int) -> int:
    with grpc.insecure_channel(target) as channel:
        return (
            inventory_pb2_grpc.InventoryServiceStub(channel)
            .UpdateStock(
                inventory_pb2.UpdateStockRequest(
                    updates=[inventory_pb2.StockUpdate(sku_id=sku, node_id=NODE, kind=1, quantity=quantity)]
                ),
                timeout=10,
            )
            .log_position
        )


def on_hand(target: str, skus: list[str]) -> list[int]:
    with grpc.insecure_channel(target) as channel:
        answer = availability_pb2_grpc.AvailabilityServiceStub(channel).GetAvailability(
            availability_pb2.GetAvailabilityRequest(
                sku_ids=skus, node_ids=[NODE], view=availability_pb2.AVAILABILITY_VIEW_FULL
            ),
            timeout=10,
        )
    return [item.node_on_hand_quantities[0] for item in answer.items]


def test_check_passes_on_a_healthy_cluster_and_fails_on_a_stopped_or_gone_instance(
    redis_server, redis_client, instances
):
    first, second = serve(instances, redis_server.url), serve(instances, redis_server.url)
    entries = registered(redis_client, 2)
    for index, sku in enumerate(demo_skus(10)):
        set_on_hand((first, second)[index % 2].target, sku, 10 + index)
    code, status, found = until_check(redis_server.url, 0, "a fresh cluster before its first snapshot is healthy")
    # Before its first snapshot a fresh cluster is healthy: a warning, not a failure.
    assert status["healthy"] and any("no snapshot in Redis yet" in line for line in status["warnings"]), status
    assert any("warning: no snapshot" in line for line in found), found
    assert dompromise("snapshot", "--redis", redis_server.url).returncode == 0

    # Positions are as of each instance's last heartbeat (every second): wait for both to report the head.
    code, status, found = until_check(
        redis_server.url,
        0,
        "check healthy once both instances applied the head",
        also=lambda status: all(
            entry["applied_position"] == status["stream"]["head_position"] for entry in status["instances"]
        ),
    )
    assert status["healthy"] and found == []
    assert {entry["instance_id"] for entry in status["instances"]} == set(entries)
    assert {entry["address"] for entry in status["instances"]} == {first.target, second.target}
    for entry in status["instances"]:
        assert entry["applied_position"] == status["stream"]["head_position"]
        assert entry["lag_records"] == 0 and entry["heartbeat_age_seconds"] < 5 and entry["writable"]
    assert status["newest_snapshot"]["position"] == status["stream"]["head_position"]
    assert status["stream"]["first_entry"]["position"] == 1
    table = dompromise("check", "--redis", redis_server.url)
    assert table.returncode == 0, table.stderr
    assert "healthy" in table.stdout and all(instance_id in table.stdout for instance_id in entries)

    # Stopped (SIGSTOP): its heartbeat goes stale; check names it, and passes again once it runs.
    second_id = next(k for k, v in entries.items() if v["address"] == second.target)
    second.process.send_signal(signal.SIGSTOP)
    try:
        code, status, found = until_check(
            redis_server.url, 1, "check fails on a stopped instance", "--max-heartbeat-age", "3"
        )
        assert len(found) == 1 and second_id in found[0] and "heartbeat" in found[0], found
    finally:
        second.process.send_signal(signal.SIGCONT)
    until_check(redis_server.url, 0, "healthy again after SIGCONT", "--max-heartbeat-age", "3")

    # Gone (SIGKILL): its entry stays, stale, until it ages out.
    second.kill()
    code, status, found = until_check(redis_server.url, 1, "check fails on a gone instance", "--max-heartbeat-age", "3")
    assert any(second_id in line and "stopped, hung or gone" in line for line in found), found


def test_check_fails_on_a_lagging_instance(redis_server, redis_client, instances):
    serving = serve(instances, redis_server.url)
    registered(redis_client, 1)
    set_on_hand(serving.target, demo_skus(1)[0], 5)
    assert dompromise("snapshot", "--redis", redis_server.url).returncode == 0
    until_check(redis_server.url, 0, "healthy")
    # An instance that heartbeats but is 50 records behind (what a replica that stopped applying reports).
    head = int(redis_client.hget("dompromise:head", "position"))
    seconds, micros = redis_client.time()
    lagging = {
        "heartbeat_ms": seconds * 1000 + micros // 1000,
        "head_position": head + 50,
        "host": "elsewhere",
        "pid": 1,
        "worker": None,
        "address": "10.0.0.9:50051",
        "applied_position": head,
        "log_time_ns": 0,
        "started_ms": 0,
        "snapshot_position": 0,
        "writable": True,
        "write_problem": "",
        "resyncs": 0,
    }
    redis_client.hset("dompromise:instances", "lagging00000", json.dumps(lagging))
    code, status, found = check(redis_server.url, "--max-lag", "10")
    assert code == 1
    assert found == [
        "dompromise check: instance lagging00000 (elsewhere pid 1): 50 records behind the stream head (> 10)"
    ], found
    assert check(redis_server.url, "--max-lag", "100")[0] == 0


def test_check_fails_without_instances_and_without_a_log(redis_server, instances):
    code, status, found = check(redis_server.url)
    assert code == 1 and not status["healthy"]
    assert any("no log at" in line for line in found) and any("no instances registered" in line for line in found)
    unreachable = dompromise("check", "--redis", "redis://127.0.0.1:1/0")
    assert unreachable.returncode == 2 and "cannot read" in unreachable.stderr


def test_a_crashed_instances_entry_ages_out(redis_server, redis_client, instances):
    serve(instances, redis_server.url)
    registered(redis_client, 1)
    seconds, _ = redis_client.time()
    expired = {
        "heartbeat_ms": (seconds - limits.INSTANCE_EXPIRY_SECONDS - 1) * 1000,
        "head_position": 0,
        "host": "gone",
        "pid": 1,
        "applied_position": 0,
    }
    redis_client.hset("dompromise:instances", "crashed00000", json.dumps(expired))
    until(
        lambda: not redis_client.hexists("dompromise:instances", "crashed00000"),
        "a live instance's heartbeat removes the expired entry",
        5,
    )
    assert redis_client.hlen("dompromise:instances") == 1


def test_snapshot_with_no_instance_running_then_a_new_instance_starts_from_it(redis_server, redis_client, instances):
    first = serve(instances, redis_server.url)
    skus = demo_skus(30)
    for index, sku in enumerate(skus):
        set_on_hand(first.target, sku, 200 + index)
    assert first.stop() == 0
    head = int(redis_client.hget("dompromise:head", "position"))
    assert redis_client.zrange("dompromise:snapshots", 0, -1) == []

    made = dompromise("snapshot", "--redis", redis_server.url)
    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith(f"snapshot at log position {head} (") and "stored in Redis" in made.stdout
    assert [int(p) for p in redis_client.zrange("dompromise:snapshots", 0, -1)] == [head]
    again = dompromise("snapshot", "--redis", redis_server.url)
    assert again.returncode == 0 and "already in Redis: it covers the head" in again.stdout

    late = serve(instances, redis_server.url)
    assert f"loaded Redis snapshot at log position {head}" in late.stderr_text()
    assert "(0 records applied)" in late.stderr_text()
    assert on_hand(late.target, skus) == [200 + index for index in range(len(skus))]

    # With an instance running: a second snapshot at the new head; two kept, the stream trimmed below the older.
    for sku in skus[:5]:
        set_on_hand(late.target, sku, 1)
    newer = dompromise("snapshot", "--redis", redis_server.url)
    assert newer.returncode == 0, newer.stderr
    assert [int(p) for p in redis_client.zrange("dompromise:snapshots", 0, -1)] == [head, head + 5]
    assert int(redis_client.xrange("dompromise:log", count=1)[0][0].split(b"-")[0]) == head + 1


def test_snapshot_refuses_an_empty_log_and_another_network(redis_server, tmp_path, instances):
    empty = dompromise("snapshot", "--redis", redis_server.url)
    assert empty.returncode == 1 and "nothing to snapshot" in empty.stderr
    serving = serve(instances, redis_server.url)
    assert serving.stop() == 0
    other = tmp_path / "other.yaml"
    other.write_text("nodes:\n  - node_id: ONLY\n    type: dc\nskus:\n  - sku_id: ONE\n")
    refused = dompromise("snapshot", "--redis", redis_server.url, "--config", str(other))
    assert refused.returncode in (1, 2) and ("another network" in refused.stderr or "bad config" in refused.stderr)
