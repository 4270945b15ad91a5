"""The embedded demo network: a French automotive-parts distributor.

This is the reference scenario: garages and dealers look up live stock of
parts across a national DC, regional warehouses, stores, supplier drop-ship
nodes and an overflow 3PL. It lets the service start with no files and gives
benchmarks and tests a realistic shape (3,000 SKUs over 13 nodes, stock
concentrated upstream, stores carrying only fast movers), and its transport
(routes, trunks, carriers, calendars: demo_transport.py).

Everything is generated from `random.Random(DEMO_SEED)`, never the global
random, so every call on every machine gives the same network and stock.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from dompromise.demo.transport import demo_transport
from dompromise.model.network import (
    BaseUnit,
    Location,
    Network,
    Node,
    NodeType,
    Sku,
    StockRow,
)

DEMO_SEED = 20261123

SKU_COUNT = 3_000

# --------------------------------------------------------------------------
# Nodes

_PARIS = "Europe/Paris"


# Promise ranking priority per node type (lower is preferred; it weighs only
# where a network's ranking sets per_priority_step): the DC and warehouses
# first, then the suppliers shipping direct, the overflow 3PL, and last the
# stores, whose shelves serve walk-in customers.
_PRIORITIES = {
    NodeType.DISTRIBUTION_CENTER: 0,
    NodeType.WAREHOUSE: 0,
    NodeType.SUPPLIER_DROP_SHIP: 1,
    NodeType.THIRD_PARTY_LOGISTICS: 2,
    NodeType.STORE: 3,
}


def _node(
    node_id: str,
    node_type: NodeType,
    name: str,
    timezone: str,
    latitude: float,
    longitude: float,
    postal_code: str,
    country: str,
    tags: list[str],
) -> Node:
    return Node(
        node_id=node_id,
        node_type=node_type,
        name=name,
        timezone=timezone,
        location=Location(latitude, longitude, postal_code, country),
        tags=tuple(tags),
        priority=_PRIORITIES[node_type],
    )


# Upstream first, then stores, then the outside partners: this is core index order.
_NODES = (
    _node(
        "DC-NAT",
        NodeType.DISTRIBUTION_CENTER,
        "National Distribution Centre Lyon Saint-Quentin-Fallavier",
        _PARIS,
        45.6434,
        5.1126,
        "38070",
        "FR",
        ["national"],
    ),
    _node(
        "WH-NORTH",
        NodeType.WAREHOUSE,
        "Regional Warehouse North, Lesquin",
        _PARIS,
        50.5889,
        3.1117,
        "59810",
        "FR",
        ["regional", "north"],
    ),
    _node(
        "WH-SOUTH",
        NodeType.WAREHOUSE,
        "Regional Warehouse South, Vitrolles",
        _PARIS,
        43.4602,
        5.2486,
        "13127",
        "FR",
        ["regional", "south"],
    ),
    _node(
        "WH-WEST",
        NodeType.WAREHOUSE,
        "Regional Warehouse West, Carquefou",
        _PARIS,
        47.2977,
        -1.4912,
        "44470",
        "FR",
        ["regional", "west"],
    ),
    _node(
        "ST-PARIS",
        NodeType.STORE,
        "AutoPièces Paris Bastille",
        _PARIS,
        48.8532,
        2.3692,
        "75011",
        "FR",
        ["store", "north"],
    ),
    _node(
        "ST-LILLE",
        NodeType.STORE,
        "AutoPièces Lille Centre",
        _PARIS,
        50.6292,
        3.0573,
        "59000",
        "FR",
        ["store", "north"],
    ),
    _node(
        "ST-MARSEILLE",
        NodeType.STORE,
        "AutoPièces Marseille Vieux-Port",
        _PARIS,
        43.2951,
        5.3745,
        "13001",
        "FR",
        ["store", "south"],
    ),
    _node(
        "ST-TOULOUSE",
        NodeType.STORE,
        "Garage Partenaire Toulouse (franchise hub)",
        _PARIS,
        43.6045,
        1.4440,
        "31000",
        "FR",
        ["store", "franchise", "south"],
    ),
    _node(
        "ST-NANTES",
        NodeType.STORE,
        "AutoPièces Nantes Île de Nantes",
        _PARIS,
        47.2065,
        -1.5557,
        "44200",
        "FR",
        ["store", "west"],
    ),
    _node(
        "ST-BORDEAUX",
        NodeType.STORE,
        "Garage Partenaire Bordeaux (franchise hub)",
        _PARIS,
        44.8412,
        -0.5800,
        "33000",
        "FR",
        ["store", "franchise", "west"],
    ),
    _node(
        "SUP-BREMSTAL",
        NodeType.SUPPLIER_DROP_SHIP,
        "Bremstal Bremsen GmbH, Stuttgart (drop-ship)",
        "Europe/Berlin",
        48.7758,
        9.1829,
        "70173",
        "DE",
        ["drop_ship"],
    ),
    _node(
        "SUP-LUBRINOR",
        NodeType.SUPPLIER_DROP_SHIP,
        "Lubrinor Lubricants NV, Antwerp (drop-ship)",
        "Europe/Brussels",
        51.2213,
        4.4051,
        "2000",
        "BE",
        ["drop_ship"],
    ),
    _node(
        "3PL-ORLEANS",
        NodeType.THIRD_PARTY_LOGISTICS,
        "LogiCentre Orléans Saran (overflow 3PL)",
        _PARIS,
        47.9502,
        1.8763,
        "45770",
        "FR",
        ["overflow"],
    ),
)

# Which part families each supplier ships direct (SKU id prefixes).
_SUPPLIER_FAMILIES = {
    "SUP-BREMSTAL": ("BRK-PAD", "BRK-DSC", "FLD-BRK"),
    "SUP-LUBRINOR": ("OIL-MOT", "FLD-ATF", "GRS-BLK"),
}


# --------------------------------------------------------------------------
# Part descriptions, one small vocabulary per category


def _brake_pads(rng: random.Random) -> str:
    position = rng.choice(["Front", "Rear"])
    material = rng.choice(["ceramic", "semi-metallic", "low-metallic", "organic"])
    text = f"{position} brake pad set, {material}, {rng.randint(14, 19)}in"
    if rng.random() < 0.3:
        text += ", with wear sensor"
    return text


def _brake_discs(rng: random.Random) -> str:
    position = rng.choice(["Front", "Rear"])
    kind = rng.choice(["vented", "solid", "drilled and vented"])
    diameter_mm = rng.choice([240, 256, 266, 280, 288, 300, 312, 320, 330, 345])
    return f"{position} brake disc, {kind}, {diameter_mm}mm"


def _oil_filters(rng: random.Random) -> str:
    if rng.random() < 0.5:
        thread = rng.choice(["M20x1.5", "M22x1.5", "M18x1.5", "3/4-16 UNF"])
        return f"Oil filter, spin-on, {thread} thread"
    return f"Oil filter element, cartridge, {rng.choice([52, 58, 65, 72, 83])}mm"


def _air_filters(rng: random.Random) -> str:
    if rng.random() < 0.7:
        return f"Air filter, panel, {rng.randrange(180, 360, 5)}x{rng.randrange(120, 260, 5)}mm"
    return f"Air filter, round, {rng.randrange(120, 260, 5)}mm"


def _cabin_filters(rng: random.Random) -> str:
    media = rng.choice(["pollen", "activated carbon", "antibacterial"])
    return f"Cabin filter, {media}, {rng.randrange(180, 300, 5)}x{rng.randrange(150, 250, 5)}mm"


def _fuel_filters(rng: random.Random) -> str:
    fuel = rng.choice(["diesel", "petrol"])
    kind = rng.choice(["inline 8mm", "inline 10mm", "cartridge", "with water sensor"])
    return f"Fuel filter, {fuel}, {kind}"


def _spark_plugs(rng: random.Random) -> str:
    electrode = rng.choice(["iridium", "platinum", "nickel", "double platinum"])
    thread = rng.choice(["M12", "M14"])
    hex_mm = rng.choice([14, 16, 21])
    gap_mm = rng.choice(["0.7", "0.8", "0.9", "1.1"])
    return f"Spark plug, {electrode}, {thread}, {hex_mm}mm hex, gap {gap_mm}mm"


def _wiper_blades(rng: random.Random) -> str:
    position = rng.choice(["Front", "Front", "Rear"])
    kind = rng.choice(["flat", "conventional", "hybrid"])
    return f"{position} wiper blade, {kind}, {rng.randrange(280, 725, 25)}mm"


_BULB_TYPES = [
    ("Headlamp", "H7", 55),
    ("Headlamp", "H4", 60),
    ("Headlamp", "H1", 55),
    ("Fog lamp", "H11", 55),
    ("Fog lamp", "HB4", 51),
    ("Indicator", "PY21W", 21),
    ("Brake light", "P21/5W", 21),
    ("Side light", "W5W", 5),
    ("Interior", "C5W", 5),
]


def _bulbs(rng: random.Random) -> str:
    position, code, watts = rng.choice(_BULB_TYPES)
    technology = rng.choice(["halogen", "long life", "LED retrofit"])
    return f"{position} bulb, {code}, 12V {watts}W, {technology}"


def _batteries(rng: random.Random) -> str:
    technology = rng.choice(["AGM", "EFB", "lead-acid"])
    capacity_ah = rng.choice([44, 52, 60, 70, 74, 80, 95, 110])
    cranking_a = round(capacity_ah * rng.uniform(8.0, 9.5), -1)
    return f"Starter battery, {technology}, 12V {capacity_ah}Ah {cranking_a:.0f}A"


def _belts(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.6:
        return f"Poly-V belt, {rng.randint(4, 8)}PK{rng.randrange(800, 2500, 5)}"
    teeth = rng.randint(104, 160)
    if kind < 0.8:
        return f"Timing belt, {teeth} teeth"
    return f"Timing belt kit, {teeth} teeth, with water pump"


def _shock_absorbers(rng: random.Random) -> str:
    position = rng.choice(["Front", "Rear"])
    kind = rng.choice(["gas", "twin-tube oil", "mono-tube gas"])
    side = rng.choice(["left", "right", "pair"])
    return f"{position} shock absorber, {kind}, {side}"


def _bearings(rng: random.Random) -> str:
    position = rng.choice(["front", "rear"])
    return f"Wheel bearing kit, {position}, {rng.randint(55, 90)}mm OD"


def _gaskets(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.4:
        return f"Cylinder head gasket, multi-layer steel, {rng.randint(720, 860) / 10:.1f}mm bore"
    return rng.choice(
        [
            "Valve cover gasket, rubber",
            "Exhaust manifold gasket, graphite",
            "Oil sump gasket, cork",
            "Intake manifold gasket set",
            "Thermostat housing gasket",
        ]
    )


def _sensors(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.35:
        return f"ABS wheel speed sensor, {rng.choice(['front', 'rear'])} {rng.choice(['left', 'right'])}"
    if kind < 0.6:
        return f"Oxygen sensor, {rng.choice([4, 5])}-wire, {rng.choice(['upstream', 'downstream'])}"
    return rng.choice(
        [
            "Coolant temperature sensor, M12x1.5",
            "Crankshaft position sensor",
            "Camshaft position sensor",
            "Tyre pressure sensor, 433MHz",
            "Parking sensor, rear, paintable",
        ]
    )


def _motor_oils(rng: random.Random) -> str:
    base = rng.choice(["fully synthetic", "synthetic blend", "mineral"])
    grade = rng.choice(["0W-20", "0W-30", "5W-30", "5W-40", "10W-40", "15W-40"])
    spec = rng.choice(["ACEA C3", "ACEA A3/B4", "API SP", "VW 504.00/507.00", "RN17"])
    return f"Engine oil, {base}, {grade}, {spec}"


def _brake_fluids(rng: random.Random) -> str:
    return f"Brake fluid, {rng.choice(['DOT 3', 'DOT 4', 'DOT 4 LV', 'DOT 5.1'])}"


def _transmission_fluids(rng: random.Random) -> str:
    return f"Automatic transmission fluid, {rng.choice(['Dexron VI', 'ATF+4', 'CVT', 'DSG', 'Mercon LV'])}"


def _cables(rng: random.Random) -> str:
    section = rng.choice(["0.35", "0.5", "0.75", "1.0", "1.5", "2.5", "4.0", "6.0"])
    colour = rng.choice(["red", "black", "blue", "yellow", "green", "brown", "white", "grey"])
    return f"Automotive cable, FLRY-B, {section}mm2, {colour}"


def _hoses(rng: random.Random) -> str:
    use = rng.choice(["Fuel", "Coolant", "Vacuum", "Windscreen washer", "Heater"])
    material = rng.choice(["NBR", "silicone", "EPDM"])
    return f"{use} hose, {rng.choice([4, 6, 8, 10, 13, 16, 19, 25, 32, 38])}mm ID, {material}"


def _greases(rng: random.Random) -> str:
    kind = rng.choice(["Lithium", "Calcium", "Copper anti-seize", "Molybdenum", "Silicone"])
    return f"{kind} grease, {rng.choice(['EP2', 'EP3', 'NLGI 2'])}"


def _wheel_weights(rng: random.Random) -> str:
    kind = rng.choice(["adhesive steel", "adhesive zinc", "clip-on for alloy rims", "clip-on for steel rims"])
    return f"Wheel weights, {kind}, {rng.choice([5, 10])}g segments"


# --------------------------------------------------------------------------
# Pack sizes


def _small_part_packs(rng: random.Random) -> dict[str, int]:
    carton = rng.choice([12, 24, 50])
    return {"carton": carton, "pallet": carton * rng.choice([40, 50, 80, 100])}


def _bulky_part_packs(rng: random.Random) -> dict[str, int]:
    return {"pallet": rng.choice([24, 36, 48, 60])}


def _liquid_packs(rng: random.Random) -> dict[str, int]:
    return {"litre": 1000, "can_5l": 5000}


def _length_packs(rng: random.Random) -> dict[str, int]:
    return {"metre": 1000, "reel_50m": 50_000}


def _weight_packs(rng: random.Random) -> dict[str, int]:
    return {"kg": 1000}


# --------------------------------------------------------------------------
# Categories


@dataclass(frozen=True)
class _Category:
    """One part family: how many SKUs, their unit, packs and description."""

    prefix: str
    sku_count: int
    base_unit: BaseUnit
    describe: Callable[[random.Random], str]
    packs: Callable[[random.Random], dict[str, int]]
    # Base units in one "stock unit" the quantity ranges below count in:
    # 1 part, 1 litre (1000 ml), 10 metres (10000 mm) or 1 kg (1000 g).
    stock_unit_size: int = 1


_EACH, _MM, _G, _ML = BaseUnit.EACH, BaseUnit.MILLIMETRE, BaseUnit.GRAM, BaseUnit.MILLILITRE

_CATEGORIES = (
    _Category("BRK-PAD", 300, _EACH, _brake_pads, _small_part_packs),
    _Category("BRK-DSC", 200, _EACH, _brake_discs, _bulky_part_packs),
    _Category("FLT-OIL", 200, _EACH, _oil_filters, _small_part_packs),
    _Category("FLT-AIR", 160, _EACH, _air_filters, _small_part_packs),
    _Category("FLT-CAB", 140, _EACH, _cabin_filters, _small_part_packs),
    _Category("FLT-FUE", 120, _EACH, _fuel_filters, _small_part_packs),
    _Category("IGN-PLG", 220, _EACH, _spark_plugs, _small_part_packs),
    _Category("WIP-BLD", 160, _EACH, _wiper_blades, _small_part_packs),
    _Category("LMP-BLB", 200, _EACH, _bulbs, _small_part_packs),
    _Category("BAT-STR", 120, _EACH, _batteries, _bulky_part_packs),
    _Category("BLT-DRV", 150, _EACH, _belts, _small_part_packs),
    _Category("SUS-SHK", 160, _EACH, _shock_absorbers, _bulky_part_packs),
    _Category("BRG-WHL", 140, _EACH, _bearings, _small_part_packs),
    _Category("GSK-ENG", 170, _EACH, _gaskets, _small_part_packs),
    _Category("SNS-ELC", 180, _EACH, _sensors, _small_part_packs),
    _Category("OIL-MOT", 120, _ML, _motor_oils, _liquid_packs, stock_unit_size=1000),
    _Category("FLD-BRK", 40, _ML, _brake_fluids, _liquid_packs, stock_unit_size=1000),
    _Category("FLD-ATF", 40, _ML, _transmission_fluids, _liquid_packs, stock_unit_size=1000),
    _Category("ELC-CBL", 60, _MM, _cables, _length_packs, stock_unit_size=10_000),
    _Category("HSE-FLX", 60, _MM, _hoses, _length_packs, stock_unit_size=10_000),
    _Category("GRS-BLK", 30, _G, _greases, _weight_packs, stock_unit_size=1000),
    _Category("WHL-WGT", 30, _G, _wheel_weights, _weight_packs, stock_unit_size=1000),
)
assert sum(category.sku_count for category in _CATEGORIES) == SKU_COUNT

_CATEGORIES_BY_PREFIX = {category.prefix: category for category in _CATEGORIES}


def demo_network() -> Network:
    """The demo distributor: 13 nodes, 3,000 SKUs and its transport, the same on every call."""
    rng = random.Random(DEMO_SEED)
    skus = [sku for category in _CATEGORIES for sku in _category_skus(category, rng)]
    skus.sort(key=lambda sku: sku.sku_id)
    return Network(nodes=_NODES, skus=tuple(skus), transport=demo_transport())


def _category_skus(category: _Category, rng: random.Random) -> list[Sku]:
    # Sampling without replacement keeps part numbers unique in a category;
    # the prefix keeps them unique across categories.
    part_numbers = rng.sample(range(10_000, 100_000), category.sku_count)
    return [
        Sku(
            sku_id=f"{category.prefix}-{part_number}",
            description=category.describe(rng),
            base_unit=category.base_unit,
            pack_sizes=category.packs(rng),
        )
        for part_number in part_numbers
    ]


# --------------------------------------------------------------------------
# Stock

# How fast a SKU sells decides where it is held and how much of it.
_VELOCITIES = ("fast", "medium", "slow")
_VELOCITY_WEIGHTS = (0.2, 0.4, 0.4)
_VELOCITY_QUANTITY_FACTORS = {"fast": 1.0, "medium": 0.4, "slow": 0.15}

# Chance a node of each type holds a SKU of each velocity. Stores carry the
# fast movers only (about a fifth of the catalogue), regional warehouses about
# 60%, the 3PL about 20% as overflow, the DC nearly everything.
_HOLD_PROBABILITIES = {
    NodeType.DISTRIBUTION_CENTER: {"fast": 1.0, "medium": 0.97, "slow": 0.9},
    NodeType.WAREHOUSE: {"fast": 0.95, "medium": 0.65, "slow": 0.35},
    NodeType.STORE: {"fast": 0.85, "medium": 0.05, "slow": 0.0},
    NodeType.THIRD_PARTY_LOGISTICS: {"fast": 0.3, "medium": 0.2, "slow": 0.15},
}

# On-hand range of a fast mover, in stock units (parts, litres, 10 m, kg).
_QUANTITY_RANGES = {
    NodeType.DISTRIBUTION_CENTER: (300, 3000),
    NodeType.WAREHOUSE: (40, 400),
    NodeType.STORE: (2, 24),
    NodeType.SUPPLIER_DROP_SHIP: (2000, 20_000),
    NodeType.THIRD_PARTY_LOGISTICS: (100, 1500),
}

# Rows that exist but are sold out, as in any live stock file.
_ZERO_STOCK_PROBABILITY = 0.04


def demo_stock(network: Network) -> list[StockRow]:
    """On-hand stock for the demo network, sorted by (SKU, node) network order.

    Meant for `demo_network()`; SKUs of other networks count as plain
    parts and supplier nodes not in the demo hold nothing.
    """
    rng = random.Random(DEMO_SEED)
    rows: list[StockRow] = []
    for sku in network.skus:
        category = _CATEGORIES_BY_PREFIX.get(sku.sku_id.rsplit("-", 1)[0])
        velocity = rng.choices(_VELOCITIES, weights=_VELOCITY_WEIGHTS)[0]
        for node in network.nodes:
            if not _holds(node, category, velocity, rng):
                continue
            quantity = _on_hand_quantity(node, category, velocity, rng)
            rows.append(StockRow(sku.sku_id, node.node_id, quantity))
    return rows


def _holds(node: Node, category: _Category | None, velocity: str, rng: random.Random) -> bool:
    if node.node_type == NodeType.SUPPLIER_DROP_SHIP:
        families = _SUPPLIER_FAMILIES.get(node.node_id, ())
        return category is not None and category.prefix in families
    return rng.random() < _HOLD_PROBABILITIES[node.node_type][velocity]


def _on_hand_quantity(node: Node, category: _Category | None, velocity: str, rng: random.Random) -> int:
    """A quantity in base units: a stock-unit count scaled by the SKU's unit."""
    if rng.random() < _ZERO_STOCK_PROBABILITY:
        return 0
    low, high = _QUANTITY_RANGES[node.node_type]
    factor = _VELOCITY_QUANTITY_FACTORS[velocity]
    stock_units = max(1, round(rng.randint(low, high) * factor))
    stock_unit_size = category.stock_unit_size if category is not None else 1
    return stock_units * stock_unit_size
