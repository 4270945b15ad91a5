"""Shared fixtures: a small hand-made network and a real server on a free port."""

from __future__ import annotations

import asyncio
import threading

import grpc
import pytest

from dompromise.internal.v1 import log_pb2
from dompromise.inventory.engine import ON_HAND_SET, Engine
from dompromise.log import MemoryLog
from dompromise.model.network import BaseUnit, Location, Network, Node, NodeStatus, NodeType, Sku
from dompromise.replica.local import Replica
from dompromise.service.server import build_server, set_serving


def small_network() -> Network:
    """Five nodes (one drained, one disabled) and four SKUs of every unit kind."""
    nodes = (
        Node(
            "DC-1",
            NodeType.DISTRIBUTION_CENTER,
            name="Central DC",
            tags=("national",),
            location=Location(45.76, 4.84, "69007", "FR"),
            timezone="Europe/Paris",
        ),
        Node("WH-N", NodeType.WAREHOUSE, name="North", tags=("regional", "north")),
        Node("ST-1", NodeType.STORE, name="Store one", tags=("store", "north")),
        Node("ST-2", NodeType.STORE, status=NodeStatus.DRAIN, tags=("store",)),
        Node("SUP-1", NodeType.SUPPLIER_DROP_SHIP, status=NodeStatus.DISABLED, tags=("drop_ship",)),
    )
    skus = (
        Sku("PAD-1", "Brake pads"),
        Sku("CABLE-1", "Cable", BaseUnit.MILLIMETRE, {"metre": 1000}),
        Sku("OIL-1", "Oil", BaseUnit.MILLILITRE, {"litre": 1000}),
        Sku("GREASE-1", "Grease", BaseUnit.GRAM, {"kg": 1000}),
    )
    return Network(nodes=nodes, skus=skus)


def stock_record(engine: Engine) -> log_pb2.LogRecord:
    """On hand 10 * (sku + 1) + node at every position of the small network."""
    rows = [
        (sku.sku_id, node.node_id, 10 * (s + 1) + n)
        for s, sku in enumerate(engine.network.skus)
        for n, node in enumerate(engine.network.nodes)
    ]
    return log_pb2.LogRecord(
        update_on_hand=log_pb2.UpdateOnHand(
            sku_ids=[r[0] for r in rows],
            node_ids=[r[1] for r in rows],
            ops=[ON_HAND_SET] * len(rows),
            quantities=[r[2] for r in rows],
        )
    )


def stocked_replica(command_log=None) -> Replica:
    """The small network over a log (memory by default) whose first record is the stock."""
    replica = Replica(Engine(small_network()), command_log if command_log is not None else MemoryLog())
    replica.bootstrap([stock_record(replica.engine)])
    return replica


class ServerThread:
    """A real grpc.aio server on 127.0.0.1, port 0, on its own event loop thread."""

    def __init__(self, replica: Replica, token_key: bytes | None = None):
        self.token_key = token_key
        if isinstance(replica, Engine):  # a bare engine: give it an empty memory log
            replica = Replica(replica, MemoryLog())
        self.replica = replica
        self.engine = replica.engine
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.built = self._call(self._start())
        self.server, self.port, self.health, self.watches = (
            self.built.server,
            self.built.port,
            self.built.health,
            self.built.watches,
        )
        self.target = f"127.0.0.1:{self.port}"

    async def _start(self):
        built = build_server(self.replica, "127.0.0.1:0", self.token_key)
        await self.replica.start()
        await built.server.start()
        await set_serving(built.health, True)
        return built

    def _call(self, coroutine, timeout_seconds: float = 10.0):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout_seconds)

    def stop(self) -> None:
        self._call(self.server.stop(0))
        self._call(self.replica.stop())
        self.replica.close()
        self._call(self.loop.shutdown_default_executor())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.fixture
def replica() -> Replica:
    return stocked_replica()


@pytest.fixture
def engine(replica) -> Engine:
    return replica.engine


@pytest.fixture
def server(replica):
    running = ServerThread(replica)
    yield running
    running.stop()


@pytest.fixture
def channel(server):
    with grpc.insecure_channel(server.target) as open_channel:
        yield open_channel


@pytest.fixture
def redis_server(tmp_path):
    """A redis-server of the test's own (tests/redis_server.py: AOF on, appendfsync
    always, a free port, never 6379), stopped at the end."""
    from redis_server import RedisServer

    server = RedisServer(str(tmp_path))
    yield server
    server.stop()


@pytest.fixture
def instances():
    """Collects `dompromise serve` children (processes.Serving); kills whatever still
    runs at the end, continuing a stopped (SIGSTOP) one first."""
    import signal

    from processes import STOP_SECONDS_MAX

    started = []
    yield started
    for serving in started:
        if serving.process.poll() is None:
            serving.process.send_signal(signal.SIGCONT)
            serving.process.kill()
            serving.process.wait(STOP_SECONDS_MAX)
