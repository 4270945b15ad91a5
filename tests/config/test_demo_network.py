"""The embedded demo network: deterministic, realistic in shape, valid as config."""

import collections
import csv
import io
import random
import re
import zoneinfo

from dompromise.config import dump_network, parse_network, parse_stock_csv
from dompromise.demo.network import DEMO_SEED, demo_network, demo_stock
from dompromise.limits import (
    ID_LENGTH_MAX,
    PACK_SIZES_PER_SKU_MAX,
    QUANTITY_MAX,
    TAGS_PER_NODE_MAX,
)
from dompromise.model.network import BaseUnit, NodeStatus, NodeType

ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/-]*")


def nodes_of_type(network, node_type):
    return [node for node in network.nodes if node.node_type == node_type]


def held_fraction(network, rows, node_id):
    """Share of the catalogue a node has a stock row for."""
    held = sum(1 for row in rows if row.node_id == node_id)
    return held / len(network.skus)


# --------------------------------------------------------------------------
# Determinism


def test_seed_is_the_documented_one():
    assert DEMO_SEED == 20261123


def test_two_calls_give_equal_networks_and_stock():
    first_network, second_network = demo_network(), demo_network()

    assert first_network == second_network
    assert demo_stock(first_network) == demo_stock(second_network)


def test_global_random_is_left_alone():
    state = random.getstate()

    demo_stock(demo_network())

    assert random.getstate() == state


def test_output_is_pinned():
    # A canary for "same on every machine": if this fails after a deliberate
    # change to the demo, update the numbers (benchmarks compare against them).
    network = demo_network()
    rows = demo_stock(network)

    assert [sku.sku_id for sku in network.skus[:3]] == ["BAT-STR-10948", "BAT-STR-11030", "BAT-STR-11280"]
    assert len(rows) == 13_131


# --------------------------------------------------------------------------
# Nodes


def test_node_mix():
    network = demo_network()

    counts = collections.Counter(node.node_type for node in network.nodes)

    assert len(network.nodes) == 13
    assert counts == {
        NodeType.DISTRIBUTION_CENTER: 1,
        NodeType.WAREHOUSE: 3,
        NodeType.STORE: 6,
        NodeType.SUPPLIER_DROP_SHIP: 2,
        NodeType.THIRD_PARTY_LOGISTICS: 1,
    }


def test_node_ids_tags_and_names():
    network = demo_network()
    by_id = {node.node_id: node for node in network.nodes}

    assert by_id["DC-NAT"].node_type == NodeType.DISTRIBUTION_CENTER
    assert "national" in by_id["DC-NAT"].tags
    assert {node.node_id for node in nodes_of_type(network, NodeType.WAREHOUSE)} == {"WH-NORTH", "WH-SOUTH", "WH-WEST"}
    for warehouse in nodes_of_type(network, NodeType.WAREHOUSE):
        region = warehouse.node_id.removeprefix("WH-").lower()
        assert set(warehouse.tags) == {"regional", region}
    stores = nodes_of_type(network, NodeType.STORE)
    assert all(node.node_id.startswith("ST-") and "store" in node.tags for node in stores)
    assert sum("franchise" in node.tags for node in stores) == 2
    assert all(set(node.tags) & {"north", "south", "west"} for node in stores)
    suppliers = nodes_of_type(network, NodeType.SUPPLIER_DROP_SHIP)
    assert all(node.node_id.startswith("SUP-") and "drop_ship" in node.tags for node in suppliers)
    (third_party,) = nodes_of_type(network, NodeType.THIRD_PARTY_LOGISTICS)
    assert third_party.node_id.startswith("3PL-") and "overflow" in third_party.tags
    assert all(node.name for node in network.nodes)


def test_nodes_are_enabled_and_located_in_europe():
    for node in demo_network().nodes:
        assert node.status == NodeStatus.ENABLED
        assert node.timezone.startswith("Europe/")
        zoneinfo.ZoneInfo(node.timezone)
        assert 41.0 <= node.location.latitude_degrees <= 55.0, node.node_id
        assert -5.0 <= node.location.longitude_degrees <= 10.0, node.node_id
        assert node.location.postal_code.isdigit()
        assert node.location.country_code in {"FR", "DE", "BE"}
        assert len(node.tags) <= TAGS_PER_NODE_MAX


def test_national_dc_is_near_lyon():
    dc = next(node for node in demo_network().nodes if node.node_id == "DC-NAT")

    assert abs(dc.location.latitude_degrees - 45.76) < 0.5
    assert abs(dc.location.longitude_degrees - 4.84) < 0.5


# --------------------------------------------------------------------------
# SKUs


def test_three_thousand_unique_well_formed_skus():
    skus = demo_network().skus

    ids = [sku.sku_id for sku in skus]
    assert len(ids) == 3000
    assert len(set(ids)) == 3000
    for sku in skus:
        assert ID_PATTERN.fullmatch(sku.sku_id) and len(sku.sku_id) <= ID_LENGTH_MAX
        assert re.fullmatch(r"[A-Z]{3}-[A-Z]{3}-\d{5}", sku.sku_id), sku.sku_id
        assert sku.description
        assert 0 < len(sku.pack_sizes) <= PACK_SIZES_PER_SKU_MAX
        assert all(0 < size <= QUANTITY_MAX for size in sku.pack_sizes.values())


def test_every_unit_kind_is_present_with_its_packs():
    skus = demo_network().skus
    units = collections.Counter(sku.base_unit for sku in skus)

    assert set(units) == set(BaseUnit)
    for sku in skus:
        if sku.base_unit == BaseUnit.MILLILITRE:
            assert sku.pack_sizes == {"litre": 1000, "can_5l": 5000}
        elif sku.base_unit == BaseUnit.MILLIMETRE:
            assert sku.pack_sizes == {"metre": 1000, "reel_50m": 50_000}
        elif sku.base_unit == BaseUnit.GRAM:
            assert sku.pack_sizes == {"kg": 1000}
        elif "carton" in sku.pack_sizes:
            assert sku.pack_sizes["carton"] in (12, 24, 50)
            assert sku.pack_sizes["pallet"] % sku.pack_sizes["carton"] == 0


def test_catalogue_covers_the_part_families():
    families = {sku.sku_id.rsplit("-", 1)[0] for sku in demo_network().skus}

    for family in (
        "BRK-PAD",
        "BRK-DSC",
        "FLT-OIL",
        "FLT-AIR",
        "FLT-CAB",
        "FLT-FUE",
        "IGN-PLG",
        "WIP-BLD",
        "LMP-BLB",
        "BAT-STR",
        "BLT-DRV",
        "SUS-SHK",
        "BRG-WHL",
        "GSK-ENG",
        "SNS-ELC",
        "OIL-MOT",
        "FLD-BRK",
        "FLD-ATF",
        "ELC-CBL",
        "HSE-FLX",
        "GRS-BLK",
        "WHL-WGT",
    ):
        assert family in families


def test_descriptions_read_like_parts():
    descriptions = {sku.sku_id.rsplit("-", 1)[0]: sku.description for sku in demo_network().skus}

    assert re.fullmatch(r"(Front|Rear) brake pad set, [a-z-]+, \d\din(, with wear sensor)?", descriptions["BRK-PAD"])
    assert descriptions["OIL-MOT"].startswith("Engine oil, ")
    assert descriptions["ELC-CBL"].startswith("Automotive cable, ")


# --------------------------------------------------------------------------
# Stock


def test_stock_rows_reference_the_network_and_are_within_limits():
    network = demo_network()
    rows = demo_stock(network)
    sku_ids = {sku.sku_id for sku in network.skus}
    node_ids = {node.node_id for node in network.nodes}

    assert rows
    for row in rows:
        assert row.sku_id in sku_ids and row.node_id in node_ids
        assert 0 <= row.on_hand_quantity <= QUANTITY_MAX
    assert len({(row.sku_id, row.node_id) for row in rows}) == len(rows)


def test_stock_rows_are_in_network_order():
    network = demo_network()
    rows = demo_stock(network)
    sku_index = {sku.sku_id: index for index, sku in enumerate(network.skus)}
    node_index = {node.node_id: index for index, node in enumerate(network.nodes)}

    keys = [(sku_index[row.sku_id], node_index[row.node_id]) for row in rows]

    assert keys == sorted(keys)


def test_some_rows_are_sold_out_but_most_are_not():
    rows = demo_stock(demo_network())

    zero_count = sum(row.on_hand_quantity == 0 for row in rows)

    assert 0 < zero_count < len(rows) * 0.1


def test_stock_is_concentrated_upstream():
    network = demo_network()
    rows = demo_stock(network)

    assert held_fraction(network, rows, "DC-NAT") > 0.9
    for warehouse in nodes_of_type(network, NodeType.WAREHOUSE):
        assert 0.5 <= held_fraction(network, rows, warehouse.node_id) <= 0.7
    for store in nodes_of_type(network, NodeType.STORE):
        assert 0.15 <= held_fraction(network, rows, store.node_id) <= 0.25
    (third_party,) = nodes_of_type(network, NodeType.THIRD_PARTY_LOGISTICS)
    assert 0.15 <= held_fraction(network, rows, third_party.node_id) <= 0.25


def test_stores_hold_small_quantities_and_the_dc_large_ones():
    network = demo_network()
    units = {sku.sku_id: sku.base_unit for sku in network.skus}
    rows = [row for row in demo_stock(network) if units[row.sku_id] == BaseUnit.EACH]
    store_ids = {node.node_id for node in nodes_of_type(network, NodeType.STORE)}

    store_quantities = [row.on_hand_quantity for row in rows if row.node_id in store_ids]
    dc_quantities = [row.on_hand_quantity for row in rows if row.node_id == "DC-NAT"]

    assert max(store_quantities) <= 24
    assert sum(dc_quantities) / len(dc_quantities) > 10 * sum(store_quantities) / len(store_quantities)


def test_suppliers_hold_only_their_own_families_in_bulk():
    network = demo_network()
    rows = demo_stock(network)

    for supplier in nodes_of_type(network, NodeType.SUPPLIER_DROP_SHIP):
        supplier_rows = [row for row in rows if row.node_id == supplier.node_id]
        families = {row.sku_id.rsplit("-", 1)[0] for row in supplier_rows}
        assert supplier_rows
        assert len(families) <= 3
        family_sku_count = sum(1 for sku in network.skus if sku.sku_id.rsplit("-", 1)[0] in families)
        assert len(supplier_rows) == family_sku_count  # every SKU of its families
    bremstal = {row.sku_id.rsplit("-", 1)[0] for row in rows if row.node_id == "SUP-BREMSTAL"}
    assert bremstal == {"BRK-PAD", "BRK-DSC", "FLD-BRK"}


def test_quantities_are_in_base_units():
    network = demo_network()
    units = {sku.sku_id: sku.base_unit for sku in network.skus}

    for row in demo_stock(network):
        if units[row.sku_id] != BaseUnit.EACH:
            # Litres, 10 m lengths and kilograms, counted in ml, mm and g.
            assert row.on_hand_quantity % 1000 == 0


# --------------------------------------------------------------------------
# Round trips through the config formats


def test_demo_round_trips_through_dump_and_parse():
    network = demo_network()

    assert parse_network(dump_network(network), "demo.yaml") == network


def test_demo_stock_round_trips_through_the_stock_csv():
    network = demo_network()
    rows = demo_stock(network)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["sku_id", "node_id", "on_hand_quantity"])
    writer.writerows((row.sku_id, row.node_id, row.on_hand_quantity) for row in rows)

    assert parse_stock_csv(buffer.getvalue(), network, "demo.csv") == rows
