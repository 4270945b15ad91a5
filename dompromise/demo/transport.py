"""Transport of the demo distributor: French calendars, zones, routes and carriers.

The reference scenario (shared/seeds/000): garages order parts for delivery
on fixed routes. Route 7 leaves the northern warehouse at 14:00 (cut-off
13:45) for the afternoon round and at 18:00 (cut-off 17:45) for delivery at
08:00 the next working day, so an order at 13:55 lands the next morning
instead of this afternoon. Night trunks bring stock from the national DC
to the regional warehouses by 07:00; a parcel carrier covers every zone in
one or two working days; suppliers drop-ship in two working days; stores
offer click-and-collect.

Plain data, no randomness: the same network on every call.
"""

from __future__ import annotations

import datetime as dt

from dompromise.model.transport import (
    WORKWEEK,
    Calendar,
    Centroid,
    Departure,
    Lane,
    NodeShipping,
    PostalRange,
    TransportNetwork,
    Zone,
    at,
)

_PARIS = "Europe/Paris"
_YEARS = (2026, 2027)
_MON_SAT = (0, 1, 2, 3, 4, 5)


# --------------------------------------------------------------------------
# Public holidays


def easter_sunday(year: int) -> dt.date:
    """Gregorian Easter (the anonymous algorithm, as in Meeus)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    l = (32 + 2 * e + 2 * i - h - k) % 7  # noqa: E741 (the algorithm's own name)
    m = (a + 11 * h + 22 * l) // 451
    month, day = divmod(h + l - 7 * m + 114, 31)
    return dt.date(year, month, day + 1)


def _holidays(fixed: tuple[tuple[int, int], ...], easter_offsets_days: tuple[int, ...]) -> tuple[dt.date, ...]:
    days: set[dt.date] = set()
    for year in _YEARS:
        easter = easter_sunday(year)
        days.update(dt.date(year, month, day) for month, day in fixed)
        days.update(easter + dt.timedelta(days=offset) for offset in easter_offsets_days)
    return tuple(sorted(days))


# New Year, Labour Day, Victory 1945, Bastille Day, Assumption, All Saints,
# Armistice, Christmas; Easter Monday, Ascension, Whit Monday.
FRENCH_HOLIDAYS = _holidays(((1, 1), (5, 1), (5, 8), (7, 14), (8, 15), (11, 1), (11, 11), (12, 25)), (1, 39, 50))
# Baden-Württemberg (Stuttgart): Epiphany, Good Friday, Corpus Christi, Unity Day, St Stephen.
BADEN_WURTTEMBERG_HOLIDAYS = _holidays(
    ((1, 1), (1, 6), (5, 1), (10, 3), (11, 1), (12, 25), (12, 26)), (-2, 1, 39, 50, 60)
)
# Belgium (Antwerp): National Day 21 July.
BELGIAN_HOLIDAYS = _holidays(((1, 1), (5, 1), (7, 21), (8, 15), (11, 1), (11, 11), (12, 25)), (1, 39, 50))

_CALENDARS = (
    Calendar("fr-dc", WORKWEEK, FRENCH_HOLIDAYS, at("06:00"), at("22:00"), "French DC, two shifts"),
    Calendar("fr-warehouse", WORKWEEK, FRENCH_HOLIDAYS, at("06:30"), at("20:00"), "French regional warehouse"),
    Calendar("fr-store", _MON_SAT, FRENCH_HOLIDAYS, at("08:30"), at("19:00"), "French store opening hours"),
    # Garages take deliveries on weekdays in working hours: none on Saturday.
    Calendar("fr-garage", WORKWEEK, FRENCH_HOLIDAYS, at("08:00"), at("18:00"), "Garage receiving hours"),
    Calendar("de-bw-supplier", WORKWEEK, BADEN_WURTTEMBERG_HOLIDAYS, at("07:00"), at("16:00"), "Stuttgart supplier"),
    Calendar("be-supplier", WORKWEEK, BELGIAN_HOLIDAYS, at("08:00"), at("17:00"), "Antwerp supplier"),
)


# --------------------------------------------------------------------------
# Delivery zones: French departments (the first two digits of a postal code)


def _zone(
    zone_id: str, name: str, prefixes: tuple[str, ...], centre: tuple[float, float], regions: tuple[str, ...] = ()
) -> Zone:
    return Zone(zone_id, _PARIS, "fr-garage", name, "FR", prefixes, (), regions, Centroid(*centre))


# Each zone's centroid (ranking by distance) is where most of its garages are:
# the main city, or between the two for a zone of two departments.
_ZONES = (
    _zone("FR-59", "Nord (Lille)", ("59",), (50.6292, 3.0573)),
    _zone("FR-62", "Pas-de-Calais", ("62",), (50.4600, 2.5500)),
    _zone(
        "FR-IDF",
        "Ile-de-France",
        ("75", "77", "78", "91", "92", "93", "94", "95"),
        (48.8566, 2.3522),
        ("Île-de-France",),
    ),
    _zone("FR-LYON", "Rhône and Isère (Lyon)", ("69", "38"), (45.7640, 4.8357)),
    _zone("FR-13", "Bouches-du-Rhône (Marseille)", ("13",), (43.2965, 5.3698)),
    _zone("FR-83-84", "Var and Vaucluse", ("83", "84"), (43.6000, 5.7500)),
    _zone("FR-31", "Haute-Garonne (Toulouse)", ("31",), (43.6047, 1.4442)),
    _zone("FR-44", "Loire-Atlantique (Nantes)", ("44",), (47.2184, -1.5536)),
    _zone("FR-33", "Gironde (Bordeaux)", ("33",), (44.8378, -0.5792)),
    # Everything else in metropolitan France (Corsica's 20xxx included); its
    # centroid is the country's geographic centre.
    Zone(
        "FR-REST",
        _PARIS,
        "fr-garage",
        "Rest of metropolitan France",
        "FR",
        (),
        (PostalRange("01000", "95999"),),
        location=Centroid(46.5396, 2.4302),
    ),
)
_ALL_ZONES = tuple(zone.zone_id for zone in _ZONES)


# --------------------------------------------------------------------------
# Node shipping settings

_STORES = ("ST-PARIS", "ST-LILLE", "ST-MARSEILLE", "ST-TOULOUSE", "ST-NANTES", "ST-BORDEAUX")

_NODE_SHIPPING = (
    NodeShipping("DC-NAT", "fr-dc", 45, {"trunk": at("19:30"), "parcel": at("17:00"), "route1": at("18:30")}, 25_000),
    *(
        NodeShipping(warehouse, "fr-warehouse", 10, {"parcel": at("16:30")}, 6_000)
        for warehouse in ("WH-NORTH", "WH-SOUTH", "WH-WEST")
    ),
    # Stores pick for click-and-collect until 18:30; later orders are ready next morning.
    *(NodeShipping(store, "fr-store", 20, {"collect": at("18:30")}, 300, click_and_collect=True) for store in _STORES),
    NodeShipping("SUP-BREMSTAL", "de-bw-supplier", 120, {"dropship": at("12:00")}, 800),
    NodeShipping("SUP-LUBRINOR", "be-supplier", 120, {"dropship": at("13:00")}, 800),
    NodeShipping("3PL-ORLEANS", "fr-dc", 60, {"parcel": at("15:00")}, 4_000),
)


# --------------------------------------------------------------------------
# Lanes


def _route(
    node_id: str, zone_id: str, service: str, name: str, cost_minor: int, departures: tuple[Departure, ...]
) -> Lane:
    return Lane(node_id, service, to_zone_id=zone_id, name=name, cost_minor=cost_minor, departures=departures)


def _afternoon_and_night(
    leaves: str, cutoff: str, arrives: str, night_leaves: str, night_cutoff: str, night_arrives: str
) -> tuple[Departure, ...]:
    """A same-day afternoon round and a night run delivered the next working morning."""
    return (
        Departure(WORKWEEK, at(leaves), at(arrives), 0, at(cutoff)),
        Departure(WORKWEEK, at(night_leaves), at(night_arrives), 1, at(night_cutoff)),
    )


_FIXED_ROUTES = (
    _route(
        "WH-NORTH",
        "FR-59",
        "route7",
        "Route 7 Lille metropole",
        450,
        _afternoon_and_night("14:00", "13:45", "16:30", "18:00", "17:45", "08:00"),
    ),
    _route(
        "WH-NORTH",
        "FR-62",
        "route8",
        "Route 8 Artois",
        520,
        (Departure(WORKWEEK, at("14:30"), at("17:30"), 0, at("14:00")),),
    ),
    _route(
        "WH-SOUTH",
        "FR-13",
        "route3",
        "Route 3 Marseille",
        450,
        _afternoon_and_night("13:30", "13:15", "16:00", "17:30", "17:15", "08:30"),
    ),
    _route(
        "WH-WEST",
        "FR-44",
        "route2",
        "Route 2 Nantes",
        450,
        _afternoon_and_night("14:00", "13:45", "16:30", "18:00", "17:45", "08:00"),
    ),
    _route(
        "DC-NAT",
        "FR-LYON",
        "route1",
        "Route 1 Lyon",
        400,
        _afternoon_and_night("14:00", "13:30", "16:30", "19:00", "18:30", "08:00"),
    ),
)

# The DC's night trunks: leave 21:00, at the regional warehouse at 07:00.
_TRUNKS = tuple(
    Lane(
        "DC-NAT",
        "trunk",
        to_node_id=warehouse,
        name=f"Night trunk to {warehouse}",
        cost_minor=1_800,
        departures=(Departure(WORKWEEK, at("21:00"), at("07:00"), 1, at("19:30")),),
    )
    for warehouse in ("WH-NORTH", "WH-SOUTH", "WH-WEST")
)

# Early shuttles restock stores for click-and-collect: (warehouse, store, leaves, arrives).
_SHUTTLE_TIMES = (
    ("WH-NORTH", "ST-LILLE", "05:30", "06:30"),
    ("WH-NORTH", "ST-PARIS", "04:00", "07:30"),
    ("WH-SOUTH", "ST-MARSEILLE", "05:30", "06:30"),
    ("WH-SOUTH", "ST-TOULOUSE", "03:00", "07:30"),
    ("WH-WEST", "ST-NANTES", "05:30", "06:30"),
    ("WH-WEST", "ST-BORDEAUX", "03:30", "07:30"),
)
_SHUTTLES = tuple(
    Lane(
        warehouse,
        "shuttle",
        to_node_id=store,
        name=f"Store shuttle {warehouse} to {store}",
        cost_minor=600,
        departures=(Departure(WORKWEEK, at(leaves), at(arrives)),),
    )
    for warehouse, store, leaves, arrives in _SHUTTLE_TIMES
)

# The parcel carrier: (node, pickup time, zones in one working day; the rest take two).
_PARCEL_PICKUPS = (
    ("DC-NAT", "18:00", ("FR-LYON", "FR-13", "FR-83-84", "FR-IDF", "FR-31", "FR-33", "FR-44", "FR-59", "FR-62")),
    ("WH-NORTH", "17:30", ("FR-59", "FR-62", "FR-IDF")),
    ("WH-SOUTH", "17:30", ("FR-13", "FR-83-84", "FR-31", "FR-LYON")),
    ("WH-WEST", "17:30", ("FR-44", "FR-33")),
    ("3PL-ORLEANS", "16:00", ("FR-IDF", "FR-44", "FR-LYON")),
)


def _parcel_lanes() -> tuple[Lane, ...]:
    lanes = []
    for node_id, pickup, next_day_zones in _PARCEL_PICKUPS:
        for zone_id in _ALL_ZONES:
            days = 1 if zone_id in next_day_zones else 2
            lanes.append(
                Lane(
                    node_id,
                    "parcel",
                    to_zone_id=zone_id,
                    name=f"Parcel J+{days}",
                    cost_minor=890 if days == 1 else 1_190,
                    pickup=at(pickup),
                    transit_working_days=days,
                    arrives=at("09:00"),
                    transit_spread_hours=9,
                )
            )
    return tuple(lanes)


def _drop_ship_lanes() -> tuple[Lane, ...]:
    """Suppliers ship straight to the garage: two working days, delivered in the day."""
    return tuple(
        Lane(
            supplier,
            "dropship",
            to_zone_id=zone_id,
            name="Supplier drop-ship J+2",
            cost_minor=1_490,
            pickup=at(pickup),
            transit_working_days=2,
            arrives=at("09:00"),
            transit_spread_hours=9,
        )
        for supplier, pickup in (("SUP-BREMSTAL", "15:00"), ("SUP-LUBRINOR", "16:00"))
        for zone_id in _ALL_ZONES
    )


# On demand: a courier van from the DC into Lyon, three hours after the goods are ready.
_COURIER = Lane(
    "DC-NAT", "courier", to_zone_id="FR-LYON", name="Express courier Lyon", cost_minor=4_500, transit_hours=3
)


def demo_transport() -> TransportNetwork:
    """The demo distributor's transport network."""
    return TransportNetwork(
        calendars=_CALENDARS,
        zones=_ZONES,
        node_shipping=_NODE_SHIPPING,
        lanes=_TRUNKS + _SHUTTLES + _FIXED_ROUTES + (_COURIER,) + _parcel_lanes() + _drop_ship_lanes(),
        currency="EUR",
    )
