"""The simulated demand and supply: orders by hour, weekday and postal code; purchase orders, slips, outages.

Everything is drawn from one `random.Random(seed)` in a fixed order, so the same
seed and options give the same orders and the same events on every machine, and
every policy (ours and the baselines) is run against the very same world.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from dompromise.model.network import Network, NodeType, StockRow

NS_PER_HOUR = 3_600 * 10**9
NS_PER_DAY = 24 * NS_PER_HOUR

# Share of a day's orders placed in each local hour (0..23): quiet nights, a
# morning peak when garages open, a second one after lunch.
HOUR_WEIGHTS = (1, 1, 1, 1, 1, 2, 4, 8, 12, 12, 11, 9, 7, 9, 10, 9, 8, 6, 5, 4, 3, 2, 2, 1)
# Orders on each weekday (Monday first) relative to --orders-per-day.
WEEKDAY_FACTORS = (1.15, 1.1, 1.05, 1.05, 1.0, 0.45, 0.2)
# Order kinds and their shares: single-line consumer orders, multi-line trade orders, click-and-collect.
KIND_SHARES = (("b2c", 0.6), ("b2b", 0.3), ("collect", 0.1))
# Zipf exponent of SKU popularity: a few fast movers, a long tail.
POPULARITY_EXPONENT = 0.9


@dataclass(frozen=True)
class Order:
    order_id: str
    time_ns: int
    kind: str  # "b2c" | "b2b" | "collect"
    postal_code: str  # where it goes (ship); the store's for click-and-collect
    pickup_node_id: str  # click-and-collect store, "" to ship
    sku_ids: tuple[str, ...]
    quantities: tuple[int, ...]
    abandoned: bool  # the checkout is left: the hold is never committed and expires


@dataclass(frozen=True)
class PurchaseOrder:
    supply_id: str
    sku_id: str
    node_id: str
    quantity: int
    eta_ns: int  # as first announced
    arrival_ns: int  # when it really arrives (later than eta_ns when it slips)
    notice_ns: int  # when a slip is announced (UpsertSupply with the new ETA); 0 when it does not slip


@dataclass(frozen=True)
class Outage:
    node_id: str
    start_ns: int
    end_ns: int


@dataclass(frozen=True)
class World:
    orders: tuple[Order, ...]
    purchase_orders: tuple[PurchaseOrder, ...]
    outages: tuple[Outage, ...]
    start_ns: int
    end_ns: int  # the last order's day ends here; deliveries are followed after it


@dataclass(frozen=True)
class DemandOptions:
    days: int = 7
    orders_per_day: int = 5_000
    seed: int = 1
    slip_rate: float = 0.0  # share of purchase orders that arrive late
    abandon_rate: float = 0.03  # share of checkouts left with their hold
    outages: int = 1  # nodes drained for a few hours, one each on a random day
    purchase_orders_per_day: int = 40


def zone_postal_prefixes(network: Network) -> list[tuple[str, str]]:
    """(zone id, postal prefix) of every zone with postal prefixes: where demand can come from."""
    assert network.transport is not None, "a network without transport has nowhere to ship"
    return [(zone.zone_id, prefix) for zone in network.transport.zones for prefix in zone.postal_prefixes]


def generate(network: Network, stock: list[StockRow], start_ns: int, options: DemandOptions) -> World:
    rng = random.Random(options.seed)
    stocked = sorted({row.sku_id for row in stock if row.on_hand_quantity > 0})
    assert stocked, "no SKU has stock: nothing to sell"
    rng.shuffle(stocked)  # popularity rank: not the catalogue order
    weights = [1.0 / (rank + 1) ** POPULARITY_EXPONENT for rank in range(len(stocked))]
    prefixes = zone_postal_prefixes(network)
    assert prefixes, "no zone has postal prefixes: nowhere to send orders"
    stores = _collect_stores(network)
    orders: list[Order] = []
    for day in range(options.days):
        day_start_ns = start_ns + day * NS_PER_DAY
        # The weekday at noon UTC: the local weekday of the day for any zone within 12 hours of UTC.
        weekday = dt.datetime.fromtimestamp((day_start_ns + 12 * NS_PER_HOUR) / 1e9, dt.UTC).weekday()
        count = round(options.orders_per_day * WEEKDAY_FACTORS[weekday])
        hours = rng.choices(range(24), weights=HOUR_WEIGHTS, k=count)
        offsets_ns = sorted(hour * NS_PER_HOUR + rng.randrange(NS_PER_HOUR) for hour in hours)
        for offset_ns in offsets_ns:
            orders.append(
                _order(rng, len(orders), day_start_ns + offset_ns, stocked, weights, prefixes, stores, options)
            )
    end_ns = start_ns + options.days * NS_PER_DAY
    return World(
        tuple(orders),
        tuple(_purchase_orders(rng, network, stocked, weights, start_ns, options)),
        tuple(_outages(rng, network, start_ns, options)),
        start_ns,
        end_ns,
    )


def _collect_stores(network: Network) -> list[str]:
    if network.transport is None:
        return []
    return [shipping.node_id for shipping in network.transport.node_shipping if shipping.click_and_collect]


def _order(
    rng: random.Random,
    number: int,
    time_ns: int,
    stocked: list[str],
    weights: list[float],
    prefixes: list[tuple[str, str]],
    stores: list[str],
    options: DemandOptions,
) -> Order:
    kind = rng.choices([k for k, _ in KIND_SHARES], weights=[s for _, s in KIND_SHARES])[0]
    if kind == "collect" and not stores:
        kind = "b2c"
    line_count = rng.randint(3, 8) if kind == "b2b" else (rng.randint(1, 2) if kind == "collect" else 1)
    sku_ids = tuple(dict.fromkeys(rng.choices(stocked, weights=weights, k=line_count)))
    quantities = tuple(rng.randint(1, 6) if kind == "b2b" else rng.randint(1, 2) for _ in sku_ids)
    _, prefix = prefixes[rng.randrange(len(prefixes))]
    postal_code = (prefix + "".join(str(rng.randrange(10)) for _ in range(5)))[:5]
    pickup = stores[rng.randrange(len(stores))] if kind == "collect" else ""
    abandoned = rng.random() < options.abandon_rate
    return Order(f"O{number:07d}", time_ns, kind, postal_code, pickup, sku_ids, quantities, abandoned)


def _purchase_orders(
    rng: random.Random,
    network: Network,
    stocked: list[str],
    weights: list[float],
    start_ns: int,
    options: DemandOptions,
) -> list[PurchaseOrder]:
    """Replenishment at the upstream nodes, due 06:00 UTC on each day; some slip 1-3 days."""
    upstream = [n.node_id for n in network.nodes if n.node_type in (NodeType.DISTRIBUTION_CENTER, NodeType.WAREHOUSE)]
    placed: list[PurchaseOrder] = []
    for day in range(1, options.days + 1):
        eta_ns = start_ns + day * NS_PER_DAY + 6 * NS_PER_HOUR
        for sku_id in rng.choices(stocked, weights=weights, k=options.purchase_orders_per_day):
            quantity = rng.randint(20, 200)
            node_id = upstream[rng.randrange(len(upstream))]
            slips = rng.random() < options.slip_rate
            arrival_ns = eta_ns + rng.randint(1, 3) * NS_PER_DAY if slips else eta_ns
            notice_ns = eta_ns - 12 * NS_PER_HOUR if slips else 0
            placed.append(
                PurchaseOrder(f"PO{len(placed):06d}", sku_id, node_id, quantity, eta_ns, arrival_ns, notice_ns)
            )
    return placed


def _outages(rng: random.Random, network: Network, start_ns: int, options: DemandOptions) -> list[Outage]:
    """Nodes drained 10:00-16:00 UTC on a random day: no new demand there, what they hold still ships."""
    candidates = [n.node_id for n in network.nodes if n.node_type != NodeType.DISTRIBUTION_CENTER]
    outages = []
    for _ in range(min(options.outages, len(candidates))):
        day = rng.randrange(options.days)
        node_id = candidates[rng.randrange(len(candidates))]
        begin_ns = start_ns + day * NS_PER_DAY + 10 * NS_PER_HOUR
        outages.append(Outage(node_id, begin_ns, begin_ns + 6 * NS_PER_HOUR))
    return outages
