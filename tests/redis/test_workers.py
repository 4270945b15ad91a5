"""`dompromise serve --redis URL --workers N`: real worker processes on one port, under a real supervisor."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading

import grpc
import pytest
from google.protobuf import duration_pb2
from processes import STOP_SECONDS_MAX, Serving, dompromise, socket_inodes, until
from redis_server import RedisServer, needs_redis_server

from dompromise import limits
from dompromise.v1 import inventory_pb2, inventory_pb2_grpc, reservation_pb2, reservation_pb2_grpc

NODE = "DC-NAT"
# A channel of its own connection (grpc shares subchannels between channels by default): the kernel
# hands each new connection to one worker, so many channels reach every worker.
OWN_CONNECTION = [("grpc.use_local_subchannel_pool", 1)]

pytestmark = needs_redis_server


@pytest.fixture
def supervisors():
    """Collects `serve --workers` parents; at the end kills whatever still runs, workers first."""
    started: list[Serving] = []
    yield started
    for serving in started:
        pids = children(serving.process.pid)
        if serving.process.poll() is None:
            serving.process.kill()
            serving.process.wait(STOP_SECONDS_MAX)
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def supervise(supervisors: list, redis_url: str, *args: str) -> Serving:
    serving = Serving("--redis", redis_url, *args)
    supervisors.append(serving)
    return serving


def children(pid: int) -> set[int]:
    """Live child processes of `pid` (from /proc)."""
    found = set()
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(name))
    return found


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def registry(redis_server: RedisServer) -> dict[str, dict]:
    import redis

    client = redis.Redis(port=redis_server.port)
    try:
        return {key.decode(): json.loads(value) for key, value in client.hgetall("dompromise:instances").items()}
    finally:
        client.close()


def head(redis_server: RedisServer) -> int:
    import redis

    client = redis.Redis(port=redis_server.port)
    try:
        return int(client.hget("dompromise:head", "position") or 0)
    finally:
        client.close()


def writers(redis_server: RedisServer, after: int) -> set[str]:
    """Instance ids that appended the stream entries after position `after` (the token's prefix)."""
    import redis

    client = redis.Redis(port=redis_server.port)
    try:
        entries = client.xrange("dompromise:log", min=f"({after}-1")
    finally:
        client.close()
    return {fields[b"k"].split(b":")[0].decode() for _, fields in entries}


def registered_workers(redis_server: RedisServer, serving: Serving, count: int) -> dict[str, dict]:
    """Waits until `count` live workers of `serving` are registered at its address; returns them by id."""

    def found():
        live = children(serving.process.pid)
        entries = {
            key: entry
            for key, entry in registry(redis_server).items()
            if entry["pid"] in live and entry["address"] == serving.target
        }
        return entries if len(entries) == count else None

    return until(found, f"{count} workers registered")


def demo_skus(count: int) -> list[str]:
    from dompromise.demo import network as demo

    return [sku.sku_id for sku in demo.demo_network().skus[:count]]


def set_on_hand(channel: grpc.Channel, sku: str, quantity: int) -> int:
    response = inventory_pb2_grpc.InventoryServiceStub(channel).UpdateStock(
        inventory_pb2.UpdateStockRequest(
            updates=[inventory_pb2.StockUpdate(sku_id=sku, node_id=NODE, kind=1, quantity=quantity)]
        ),
        timeout=10,
    )
    return response.log_position


def test_two_workers_answer_on_one_port_and_the_race_has_exactly_k_winners(redis_server, supervisors):
    serving = supervise(supervisors, redis_server.url, "--workers", "2")
    workers = registered_workers(redis_server, serving, 2)
    assert len({entry["pid"] for entry in workers.values()}) == 2
    assert {entry["worker"] for entry in workers.values()} == {0, 1}
    assert children(serving.process.pid) == {entry["pid"] for entry in workers.values()}

    # Writes through many connections to the one port: both workers append (each token names its writer).
    before = head(redis_server)
    channels = [grpc.insecure_channel(serving.target, options=OWN_CONNECTION) for _ in range(16)]
    try:
        skus = demo_skus(len(channels) + 5)
        for channel, sku in zip(channels, skus):
            set_on_hand(channel, sku, 50)
        assert writers(redis_server, before) == set(workers), "not every worker answered through the one port"

        units, clients = 5, 12
        for round_number, sku in enumerate(skus[len(channels) :]):
            set_on_hand(channels[0], sku, units)
            stubs = [reservation_pb2_grpc.ReservationServiceStub(channels[i]) for i in range(clients)]
            barrier = threading.Barrier(clients)
            winners, answered = [], []

            def race(index, barrier=barrier, sku=sku, round_number=round_number, winners=winners, answered=answered):
                barrier.wait()
                response = stubs[index].ReserveInventory(
                    reservation_pb2.ReserveInventoryRequest(
                        request_id=f"race-{round_number}-{index}",
                        customer_id="workers-test",
                        ttl=duration_pb2.Duration(seconds=3600),
                        lines=[reservation_pb2.ReservationLine(sku_id=sku, node_id=NODE, quantity=1)],
                    ),
                    timeout=10,
                )
                answered.append(index)
                if response.HasField("reservation"):
                    winners.append(response.reservation.reservation_id)

            threads = [threading.Thread(target=race, args=(i,)) for i in range(clients)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(30)
            assert len(answered) == clients
            assert len(winners) == units and len(set(winners)) == units, f"round {round_number}: {winners}"
    finally:
        for channel in channels:
            channel.close()
    assert serving.stop() == 0


def test_a_killed_worker_is_restarted_and_catches_up(redis_server, supervisors):
    serving = supervise(supervisors, redis_server.url, "--workers", "2")
    workers = registered_workers(redis_server, serving, 2)
    victim_id, victim = sorted(workers.items())[0]
    os.kill(victim["pid"], signal.SIGKILL)
    # Writes go on through the port meanwhile (new connections reach the live worker).
    skus = demo_skus(20)
    for sku in skus:
        with grpc.insecure_channel(serving.target, options=OWN_CONNECTION) as channel:
            set_on_hand(channel, sku, 7)
    position = head(redis_server)

    def restarted():
        live = children(serving.process.pid)
        return [
            entry
            for key, entry in registry(redis_server).items()
            if key not in workers
            and entry["pid"] in live
            and entry["worker"] == victim["worker"]
            and entry["applied_position"] >= position
        ]

    replacement = until(restarted, "the killed worker restarted, registered and caught up")[0]
    assert replacement["pid"] != victim["pid"]
    assert alive(replacement["pid"]) and serving.process.poll() is None
    assert "restarting it in" in serving.stderr_text()

    # `check` lists the two live workers and, once the slot serves again, only warns of the gone one.
    def check_warns_of_the_gone_worker():
        result = dompromise("check", "--redis", redis_server.url, "--json", "--max-heartbeat-age", "3")
        return result if result.returncode == 0 and victim_id in result.stderr else None

    result = until(check_warns_of_the_gone_worker, "check warns of the replaced worker and passes")
    assert f"warning: instance {victim_id}: a worker the supervisor restarted" in result.stderr
    listed = {entry["pid"] for entry in json.loads(result.stdout)["instances"]}
    assert listed >= children(serving.process.pid) | {victim["pid"]}
    assert serving.stop() == 0
    assert victim_id in registry(redis_server), "a SIGKILLed worker cannot remove itself: it ages out"


def test_sigterm_to_the_supervisor_drains_and_stops_every_worker(redis_server, supervisors):
    serving = supervise(supervisors, redis_server.url, "--workers", "2")
    workers = registered_workers(redis_server, serving, 2)
    assert serving.stop() == 0
    for entry in workers.values():
        assert not alive(entry["pid"])
    assert registry(redis_server) == {}, "a clean stop removes the registry entries"
    stderr = serving.stderr_text()
    assert stderr.count("shutting down: NOT_SERVING") == 2
    assert "every worker stopped; exiting with 0" in stderr


def test_workers_die_with_a_sigkilled_supervisor(redis_server, supervisors):
    serving = supervise(supervisors, redis_server.url, "--workers", "2")
    workers = registered_workers(redis_server, serving, 2)
    serving.kill()
    until(lambda: not any(alive(entry["pid"]) for entry in workers.values()), "workers gone with their supervisor")


def test_a_crash_looping_worker_makes_the_supervisor_give_up(redis_server, supervisors):
    serving = supervise(supervisors, redis_server.url, "--workers", "1")
    killed = set()

    def gave_up():
        for pid in children(serving.process.pid) - killed:
            os.kill(pid, signal.SIGKILL)
            killed.add(pid)
        return serving.process.poll() is not None

    until(gave_up, "the supervisor gives up", 60)
    assert serving.process.returncode == 1
    assert len(killed) == limits.WORKER_RESTARTS_MAX + 1
    assert "crash loop, giving up" in serving.stderr_text()


def test_a_worker_that_cannot_start_stops_the_supervisor(redis_server, tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "dompromise",
            "serve",
            "--port",
            "0",
            "--redis",
            redis_server.url,
            "--workers",
            "2",
            "--config",
            str(tmp_path / "missing.yaml"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "before every worker served; stopping" in result.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (("--workers", "2", "--in-memory"), "--workers with --in-memory"),
        (("--workers", "0", "--redis", "redis://127.0.0.1:1/0"), f"1 to {limits.WORKERS_MAX}"),
        (("--workers", str(limits.WORKERS_MAX + 1), "--redis", "redis://127.0.0.1:1/0"), f"1 to {limits.WORKERS_MAX}"),
    ],
)
def test_workers_refused_on_the_memory_log_or_beyond_the_limit(args, message):
    result = dompromise("serve", "--port", "0", *args)
    assert result.returncode == 2
    assert message in result.stderr


def test_a_plain_server_cannot_join_the_workers_port(redis_server, supervisors):
    """Workers share the port by SO_REUSEPORT; a plain `serve` sets grpc.so_reuseport 0 and is refused."""
    serving = supervise(supervisors, redis_server.url, "--workers", "2")
    port = serving.target.rsplit(":", 1)[1]
    result = subprocess.run(
        [sys.executable, "-m", "dompromise", "serve", "--in-memory", "--port", port],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "cannot serve on" in result.stderr, result.stderr
    assert serving.stop() == 0


def client_ports_of(pid: int, server_port: int) -> set[int]:
    """The client ports of the TCP connections process `pid` holds on `server_port` (from /proc)."""
    inodes = socket_inodes(pid)
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as rows:
            for row in list(rows)[1:]:
                fields = row.split()
                local_port = int(fields[1].rsplit(":", 1)[1], 16)
                if fields[9] in inodes and local_port == server_port and fields[3] == "01":  # ESTABLISHED
                    ports.add(int(fields[2].rsplit(":", 1)[1], 16))
    return ports


def test_a_worker_crash_resets_only_its_own_connections(redis_server, supervisors):
    """Measured: SIGKILL one of two workers; of 12 open connections only those it held fail (once)."""
    serving = supervise(supervisors, redis_server.url, "--workers", "2")
    workers = registered_workers(redis_server, serving, 2)
    port = int(serving.target.rsplit(":", 1)[1])
    channels = [grpc.insecure_channel(serving.target, options=OWN_CONNECTION) for _ in range(12)]
    try:
        for channel in channels:
            set_on_hand(channel, demo_skus(1)[0], 5)  # each channel connected, to one worker
        held = {entry["pid"]: client_ports_of(entry["pid"], port) for entry in workers.values()}
        assert sum(len(ports) for ports in held.values()) == 12, held
        victim = max(held, key=lambda pid: len(held[pid]))  # the busier one: a crash that costs something
        os.kill(victim, signal.SIGKILL)
        failed = 0
        for channel in channels:
            try:
                set_on_hand(channel, demo_skus(1)[0], 6)
            except grpc.RpcError as error:
                assert error.code() == grpc.StatusCode.UNAVAILABLE, error
                failed += 1
        # Only the victim's connections can fail; gRPC may already have reconnected some of them.
        assert failed <= len(held[victim]), (failed, {pid: len(ports) for pid, ports in held.items()})
        for channel in channels:  # and a retry succeeds on every channel
            set_on_hand(channel, demo_skus(1)[0], 7)
        print(
            f"connections: {[len(ports) for ports in held.values()]}, victim held {len(held[victim])}, failed {failed}"
        )
    finally:
        for channel in channels:
            channel.close()
