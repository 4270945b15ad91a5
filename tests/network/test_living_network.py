"""The catalog and the network change while the state lives on: real `dompromise serve`
processes on one data dir, a config edited between them, SIGHUP, the admin RPC."""

from __future__ import annotations

import dataclasses
import signal
import threading

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration
from processes import Serving, dompromise, until

from dompromise import config
from dompromise.model.network import Node, NodeType, Sku
from dompromise.v1 import (
    availability_pb2,
    availability_pb2_grpc,
    network_pb2,
    network_pb2_grpc,
    reservation_pb2,
    reservation_pb2_grpc,
)

FULL = availability_pb2.AVAILABILITY_VIEW_FULL


@pytest.fixture
def files(tmp_path):
    assert dompromise("demo-config", str(tmp_path)).returncode == 0
    return tmp_path / "network.yaml", tmp_path / "stock.csv", tmp_path / "data"


def serve(files):
    network, stock, data = files
    return Serving("--config", str(network), "--stock", str(stock), "--data-dir", str(data))


def figures(target: str, sku_ids: list[str]) -> dict:
    """Every bucket of every (SKU, node): on hand, held, allocated, unavailable, safety stock, available."""
    with grpc.insecure_channel(target) as channel:
        stub = availability_pb2_grpc.AvailabilityServiceStub(channel)
        answer = stub.GetAvailability(availability_pb2.GetAvailabilityRequest(sku_ids=sku_ids, view=FULL))
    result = {}
    for item in answer.items:
        for i, node in enumerate(answer.node_ids):
            result[(item.sku_id, node)] = (
                item.node_on_hand_quantities[i],
                item.node_held_quantities[i],
                item.node_allocated_quantities[i],
                item.node_available_quantities[i],
            )
    return result


def reservations(target: str, customer: str) -> list:
    with grpc.insecure_channel(target) as channel:
        stub = reservation_pb2_grpc.ReservationServiceStub(channel)
        answer = stub.ListReservations(reservation_pb2.ListReservationsRequest(customer_id=customer, page_size=1000))
    return sorted(
        (r.reservation_id, r.state, tuple((line.sku_id, line.node_id, line.quantity) for line in r.lines))
        for r in answer.reservations
    )


def reserve(target: str, sku: str, node: str, quantity: int, request_id: str, customer: str = "c"):
    with grpc.insecure_channel(target) as channel:
        stub = reservation_pb2_grpc.ReservationServiceStub(channel)
        return stub.ReserveInventory(
            reservation_pb2.ReserveInventoryRequest(
                request_id=request_id,
                lines=[reservation_pb2.ReservationLine(sku_id=sku, node_id=node, quantity=quantity)],
                ttl=Duration(seconds=3600),
                customer_id=customer,
            )
        )


def grown(path, sku_count: int, node_id: str | None = None) -> None:
    """The config file with `sku_count` more SKUs and, if named, one more node with a lane like the first's."""
    network = config.load_network(path)
    skus = network.skus + tuple(Sku(f"NEW-{i}", f"new part {i}", brand="Acme", tags=("new",)) for i in range(sku_count))
    network = dataclasses.replace(network, skus=skus)
    if node_id is not None:
        transport = network.transport
        assert transport is not None
        first = transport.lanes[0]
        shipping = next(s for s in transport.node_shipping if s.node_id == first.from_node_id)
        transport = dataclasses.replace(
            transport,
            node_shipping=transport.node_shipping + (dataclasses.replace(shipping, node_id=node_id),),
            lanes=transport.lanes + (dataclasses.replace(first, from_node_id=node_id),),
        )
        node = Node(node_id, NodeType.WAREHOUSE, timezone=network.nodes[0].timezone)
        network = dataclasses.replace(network, nodes=network.nodes + (node,), transport=transport)
    path.write_text(config.dump_network(network))


def sku_and_node(files) -> tuple[list[str], str, str]:
    network = config.load_network(files[0])
    stock = config.load_stock_csv(files[1], network)
    row = stock[0]
    return [sku.sku_id for sku in network.skus], row.sku_id, row.node_id


@pytest.mark.parametrize("stop", ["sigterm", "sigkill"])
def test_restart_after_adding_skus_nodes_and_lanes_keeps_every_reservation_and_stock_figure(files, stop):
    sku_ids, sku, node = sku_and_node(files)
    first = serve(files)
    try:
        held = [reserve(first.target, sku, node, 1 + i, f"r{i}").reservation.reservation_id for i in range(5)]
        before = figures(first.target, sku_ids)
        booked = reservations(first.target, "c")
    finally:
        first.stop() if stop == "sigterm" else first.kill()
    assert len(held) == 5 and all(held)
    grown(files[0], 3, "WH-NEW")
    second = serve(files)
    try:
        assert "taken on another network" not in second.stderr_text()
        after = figures(second.target, sku_ids)
        assert {key: value for key, value in after.items() if key[1] != "WH-NEW"} == before
        assert reservations(second.target, "c") == booked
        # The new SKUs and the new node are served, and stock can be set there.
        new = figures(second.target, ["NEW-0", "NEW-2"])
        assert ("NEW-0", "WH-NEW") in new and new[("NEW-0", "WH-NEW")] == (0, 0, 0, 0)
        with grpc.insecure_channel(second.target) as channel:
            got = network_pb2_grpc.NetworkServiceStub(channel).GetSku(network_pb2.GetSkuRequest(sku_id="NEW-1"))
        assert got.sku.brand == "Acme" and list(got.sku.tags) == ["new"]
        assert reserve(second.target, sku, node, 1, "r-after").reservation.reservation_id
    finally:
        second.stop()
    # A third start on the unchanged config reconciles nothing and keeps it all.
    third = serve(files)
    try:
        assert reservations(third.target, "c") == reservations(third.target, "c")
        assert len(reservations(third.target, "c")) == 6
        assert ("NEW-2", "WH-NEW") in figures(third.target, ["NEW-2"])
    finally:
        third.stop()


def test_a_sighup_reload_during_racing_reserves_loses_nothing_and_oversells_nothing(files):
    sku_ids, sku, node = sku_and_node(files)
    first = serve(files)
    try:
        stock = figures(first.target, [sku])[(sku, node)][0]
        assert stock > 0
        acknowledged: list[str] = []
        lock = threading.Lock()
        stop = threading.Event()

        def client(number: int) -> None:
            i = 0
            while not stop.is_set() and i < 400:
                try:
                    answer = reserve(first.target, sku, node, 1, f"c{number}-{i}")
                    if answer.reservation.reservation_id:
                        with lock:
                            acknowledged.append(answer.reservation.reservation_id)
                except grpc.RpcError:
                    pass  # out of stock: refused, not oversold
                i += 1

        threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        until(lambda: len(acknowledged) >= 5, "some reserves acknowledged")
        grown(files[0], 50, "WH-HUP")
        first.process.send_signal(signal.SIGHUP)
        # The server logs "SIGHUP: reloading" at once; the network reload says "applied (network changed" when done.
        until(lambda: "applied (network changed" in first.stderr_text(), "the reload applied")
        stop.set()
        for thread in threads:
            thread.join(60)
        assert "not applied" not in first.stderr_text(), first.stderr_text()
        after = figures(first.target, [sku, "NEW-49"])
        on_hand, held, allocated, available = after[(sku, node)]
        assert on_hand == stock
        assert held == len(acknowledged) <= stock  # every acknowledged hold, nothing oversold
        assert ("NEW-49", "WH-HUP") in after
    finally:
        first.stop()


def test_bad_catalog_and_network_input_is_refused_whole_or_per_item(files):
    sku_ids, sku, node = sku_and_node(files)
    first = serve(files)
    try:
        with grpc.insecure_channel(first.target) as channel:
            stub = network_pb2_grpc.NetworkServiceStub(channel)
            # Duplicate ids: the whole batch refused, naming the field; nothing applied.
            with pytest.raises(grpc.RpcError) as caught:
                stub.UpsertSkus(
                    network_pb2.UpsertSkusRequest(skus=[network_pb2.Sku(sku_id="X-1"), network_pb2.Sku(sku_id="X-1")])
                )
            assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert "skus[1].sku_id" in caught.value.details() or "skus[1]" in str(caught.value.trailing_metadata())
            with pytest.raises(grpc.RpcError):
                stub.GetSku(network_pb2.GetSkuRequest(sku_id="X-1"))
            # Upsert with a request_id: a retry answers the first result; another payload ALREADY_EXISTS.
            request = network_pb2.UpsertSkusRequest(skus=[network_pb2.Sku(sku_id="X-2", brand="B")], request_id="u1")
            once = stub.UpsertSkus(request)
            again = stub.UpsertSkus(request)
            assert once == again and once.results[0].status == network_pb2.CATALOG_ITEM_STATUS_CREATED
            with pytest.raises(grpc.RpcError) as caught:
                stub.UpsertSkus(network_pb2.UpsertSkusRequest(skus=[network_pb2.Sku(sku_id="X-3")], request_id="u1"))
            assert caught.value.code() == grpc.StatusCode.ALREADY_EXISTS
            # Retire: in use (an open hold) refused per item naming the hold; a free one retired; unknown.
            held = reserve(first.target, sku, node, 1, "hold-1").reservation.reservation_id
            answer = stub.RetireSkus(network_pb2.RetireSkusRequest(sku_ids=[sku, "X-2", "NOPE"]))
            statuses = [r.status for r in answer.results]
            assert statuses == [
                network_pb2.CATALOG_ITEM_STATUS_SKU_IN_USE,
                network_pb2.CATALOG_ITEM_STATUS_RETIRED,
                network_pb2.CATALOG_ITEM_STATUS_NOT_FOUND,
            ]
            assert held in answer.results[0].reservation_ids
            listed = stub.ListSkus(network_pb2.ListSkusRequest(page_size=1000))
            assert "X-2" not in {s.sku_id for s in listed.skus}
            # Re-added: back at its index, listed again.
            back = stub.UpsertSkus(network_pb2.UpsertSkusRequest(skus=[network_pb2.Sku(sku_id="X-2")]))
            assert back.results[0].status == network_pb2.CATALOG_ITEM_STATUS_CREATED
            # An invalid config: INVALID_ARGUMENT with file:line, the old network kept.
            text = files[0].read_text().replace("nodes:", "nodes:\n  - {id: BAD, type: spaceship}", 1)
            with pytest.raises(grpc.RpcError) as caught:
                stub.ApplyNetworkConfig(network_pb2.ApplyNetworkConfigRequest(config_text=text, source="edited.yaml"))
            assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert "edited.yaml:" in str(caught.value.trailing_metadata()) + caught.value.details()
            with pytest.raises(grpc.RpcError):
                stub.GetNode(network_pb2.GetNodeRequest(node_id="BAD"))
            # Leaving out a node with an open hold: refused whole, naming the hold.
            network = config.load_network(files[0])
            without = dataclasses.replace(network, nodes=tuple(n for n in network.nodes if n.node_id != node))
            text = config.dump_network(dataclasses.replace(without, transport=None, views=()))
            with pytest.raises(grpc.RpcError) as caught:
                stub.ApplyNetworkConfig(network_pb2.ApplyNetworkConfigRequest(config_text=text))
            assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
            assert held in caught.value.details()
            assert stub.GetNode(network_pb2.GetNodeRequest(node_id=node)).node.node_id == node
    finally:
        first.stop()


def test_load_catalog_streams_a_csv_with_progress_and_per_item_answers(files, tmp_path):
    first = serve(files)
    try:
        catalog = tmp_path / "skus.csv"
        rows = ["sku_id,description,unit,brand,category,tags,packs"]
        rows += [f"CAT-{i},part {i},each,Acme,brakes,new;hot,box=12" for i in range(2500)]
        catalog.write_text("\n".join(rows) + "\n")
        loaded = dompromise("load-catalog", str(catalog), "--target", first.target)
        assert loaded.returncode == 0, loaded.stderr
        assert "2,500 SKUs: 2,500 created" in loaded.stdout
        assert "2,500/2,500" in loaded.stderr  # the progress bar's last line
        again = dompromise("load-catalog", str(catalog), "--target", first.target, "--quiet")
        assert again.returncode == 0 and "2,500 unchanged" in again.stdout
        with grpc.insecure_channel(first.target) as channel:
            sku = network_pb2_grpc.NetworkServiceStub(channel).GetSku(network_pb2.GetSkuRequest(sku_id="CAT-2499")).sku
        assert (sku.brand, sku.category, list(sku.tags), sku.pack_sizes[0].base_unit_count) == (
            "Acme",
            "brakes",
            ["new", "hot"],
            12,
        )
        bad = tmp_path / "bad.csv"
        bad.write_text("sku_id,unit\nOK-1,each\nBAD-1,furlong\n")
        refused = dompromise("load-catalog", str(bad), "--target", first.target)
        assert refused.returncode == 1 and f"{bad}:3: unit:" in refused.stderr
    finally:
        first.stop()


def test_catalog_status_numbers_are_the_protos():
    from dompromise.inventory.engine import CATALOG_STATUS

    for name, number in CATALOG_STATUS.items():
        assert network_pb2.CatalogItemStatus.Value(f"CATALOG_ITEM_STATUS_{name}") == number
    assert len(CATALOG_STATUS) == len(network_pb2.CatalogItemStatus.keys()) - 1
