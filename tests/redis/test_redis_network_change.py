"""Two instances of one Redis log switch to a changed network at the same position."""

from __future__ import annotations

import asyncio
import dataclasses

from redis_server import needs_redis_server

from dompromise.demo import network as demo
from dompromise.internal.v1 import log_pb2
from dompromise.model.network import Node, NodeType, Sku
from dompromise.replica.bootstrap import LogOptions, open_shared_replica

pytestmark = needs_redis_server


def test_two_instances_switch_to_a_changed_config_together_with_equal_state_digests(redis_server):
    network = demo.demo_network()
    rows = demo.demo_stock(network)[:50]
    options = LogOptions(redis_url=redis_server.url, network_source="a.yaml")
    changed = dataclasses.replace(
        network,
        nodes=network.nodes + (Node("WH-NEW", NodeType.WAREHOUSE),),
        skus=network.skus + tuple(Sku(f"NEW-{i}", brand="Acme") for i in range(20)),
    )

    async def run() -> None:
        first = open_shared_replica(network, rows, options)
        await first.start()
        try:
            row = rows[0]
            reserve = log_pb2.Reserve(sku_ids=[row.sku_id], node_ids=[row.node_id], quantities=[1], ttl_ns=10**15)
            held = await first.submit(log_pb2.LogRecord(reserve=reserve))
            assert held.reservation is not None
            loop = asyncio.get_running_loop()
            # The second instance starts on the changed config: its start-up logs the change.
            second = await loop.run_in_executor(
                None, open_shared_replica, changed, rows, dataclasses.replace(options, network_source="b.yaml")
            )
            await second.start()
            try:
                head = second.log_position
                for _ in range(200):
                    if first.log_position >= head:
                        break
                    await asyncio.sleep(0.02)
                assert first.log_position == second.log_position == head
                assert first.engine.sku("NEW-19") == Sku("NEW-19", brand="Acme")
                assert first.engine.node("WH-NEW") is not None
                assert first.engine.state_digest() == second.engine.state_digest()
                assert second.engine.reservation(held.reservation.reservation_id) == held.reservation
                # Writes after the switch, through either instance, keep them equal.
                update = log_pb2.UpdateOnHand(sku_ids=["NEW-3"], node_ids=["WH-NEW"], ops=[1], quantities=[9])
                done = await first.submit(log_pb2.LogRecord(update_on_hand=update))
                for _ in range(200):
                    if second.log_position >= done.log_position:
                        break
                    await asyncio.sleep(0.02)
                assert first.engine.state_digest() == second.engine.state_digest()
            finally:
                await second.stop()
                second.close()
        finally:
            await first.stop()
            first.close()

    asyncio.run(run())
