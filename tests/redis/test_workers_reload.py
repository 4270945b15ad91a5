"""SIGHUP to `serve --workers N --config F`: the supervisor hands it to one worker, which applies
the edited config as log commands; every worker switches at the same position, once."""

from __future__ import annotations

import dataclasses
import os
import signal

import grpc
from processes import dompromise, until
from redis_server import needs_redis_server
from test_workers import OWN_CONNECTION, children, head, registered_workers, supervise, supervisors  # noqa: F401

from dompromise import config
from dompromise.model.network import Sku
from dompromise.v1 import availability_pb2, availability_pb2_grpc

pytestmark = needs_redis_server


def catalog_records(redis_server, after: int) -> list[bytes]:
    """The stream entries after `after` that carry SKU documents (an UpsertSkus record names them)."""
    import redis

    client = redis.Redis(port=redis_server.port)
    try:
        entries = client.xrange("dompromise:log", min=f"({after}-1")
    finally:
        client.close()
    return [fields[b"r"] for _, fields in entries if b"HUP-" in fields[b"r"]]


def knows(target: str, sku_ids: list[str]) -> bool:
    """Whether the worker this new connection reaches knows every SKU (unknown ones: NOT_FOUND)."""
    with grpc.insecure_channel(target, options=OWN_CONNECTION) as channel:
        stub = availability_pb2_grpc.AvailabilityServiceStub(channel)
        try:
            answer = stub.GetAvailability(availability_pb2.GetAvailabilityRequest(sku_ids=sku_ids), timeout=10)
        except grpc.RpcError as error:
            assert error.code() == grpc.StatusCode.NOT_FOUND, error
            return False
    return [item.sku_id for item in answer.items] == sku_ids


def test_sighup_reaches_one_worker_and_every_worker_switches(redis_server, supervisors, tmp_path):  # noqa: F811
    assert dompromise("demo-config", str(tmp_path)).returncode == 0
    path = tmp_path / "network.yaml"
    serving = supervise(supervisors, redis_server.url, "--workers", "2", "--config", str(path))
    workers = registered_workers(redis_server, serving, 2)
    pids = {entry["pid"] for entry in workers.values()}
    network = config.load_network(path)
    added = [f"HUP-{i}" for i in range(30)]
    path.write_text(
        config.dump_network(
            dataclasses.replace(network, skus=network.skus + tuple(Sku(s, brand="Acme") for s in added))
        )
    )
    before = head(redis_server)
    serving.process.send_signal(signal.SIGHUP)
    until(lambda: head(redis_server) > before, "the change appended to the shared log")
    # Both workers serve the new SKUs (many connections: the kernel spreads them over both).
    for _ in range(12):
        until(lambda: knows(serving.target, added), "a worker knows the new SKUs")
    # One worker applied it: the SKUs travelled in the log once, not once per worker.
    records = catalog_records(redis_server, before)
    assert len(records) == 1, f"{len(records)} catalog records for one SIGHUP"
    # Nobody died or restarted: the supervisor and the same two workers serve on.
    assert serving.process.poll() is None and children(serving.process.pid) == pids
    assert "SIGHUP forwarded to worker 0" in serving.stderr_text()
    assert serving.stop() == 0


def test_sighup_without_a_config_leaves_the_workers_alone(redis_server, supervisors):  # noqa: F811
    serving = supervise(supervisors, redis_server.url, "--workers", "2")
    workers = registered_workers(redis_server, serving, 2)
    before = head(redis_server)
    os.kill(serving.process.pid, signal.SIGHUP)
    until(lambda: "SIGHUP ignored" in serving.stderr_text(), "the supervisor says why it did nothing")
    assert serving.process.poll() is None
    assert children(serving.process.pid) == {entry["pid"] for entry in workers.values()}
    assert head(redis_server) == before
    assert serving.stop() == 0
