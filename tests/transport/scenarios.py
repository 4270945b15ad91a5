"""A small transport network for scenario tables, and local-time helpers.

Times in tests are Europe/Paris wall-clock strings, "2026-06-10 13:46",
so a table reads like the timetable it checks.
"""

from __future__ import annotations

import datetime as dt
import textwrap

from dompromise.config import parse_network
from dompromise.promise.edt import EdtCalculator
from dompromise.promise.edt_tables import instant_ns, local_datetime

PARIS = "Europe/Paris"

# 2026 dates used below: Wed 06-10, Fri 06-12, Fri 05-01 and 05-08 (holidays),
# Thu 05-14 (Ascension), Sun 03-29 (summer time starts), Sun 10-25 (ends).
FRENCH_HOLIDAYS_2026 = (
    "[2026-01-01, 2026-04-06, 2026-05-01, 2026-05-08, 2026-05-14, 2026-05-25, "
    "2026-07-14, 2026-08-15, 2026-11-01, 2026-11-11, 2026-12-25]"
)

NETWORK_YAML = textwrap.dedent(f"""\
    version: 1
    nodes:
      - {{id: DC-NAT, type: dc, timezone: Europe/Paris}}
      - {{id: WH-NORTH, type: warehouse, timezone: Europe/Paris}}
      - {{id: ST-LILLE, type: store, timezone: Europe/Paris}}
      - {{id: SUP-DE, type: supplier_drop_ship, timezone: Europe/Berlin}}
    skus:
      - id: PAD-1
    transport:
      calendars:
        - id: fr-dc
          hours: {{opens: "06:00", closes: "22:00"}}
          holidays: {FRENCH_HOLIDAYS_2026}
        - id: fr-warehouse
          hours: {{opens: "07:00", closes: "19:00"}}
          holidays: {FRENCH_HOLIDAYS_2026}
        - id: fr-store
          weekdays: [mon, tue, wed, thu, fri, sat]
          hours: {{opens: "08:30", closes: "19:00"}}
          holidays: {FRENCH_HOLIDAYS_2026}
        - id: garage                       # no deliveries on Saturday
          hours: {{opens: "08:00", closes: "18:00"}}
          holidays: {FRENCH_HOLIDAYS_2026}
        - id: home                         # every day, all day
          weekdays: [mon, tue, wed, thu, fri, sat, sun]
        - id: de-supplier
          hours: {{opens: "07:00", closes: "16:00"}}
          holidays: [2026-06-04]           # Corpus Christi in Baden-Wuerttemberg
      zones:
        - {{id: FR-59, country: FR, timezone: Europe/Paris, calendar: garage, postal_prefixes: ["59"]}}
        - {{id: FR-62, country: FR, timezone: Europe/Paris, calendar: home, postal_prefixes: ["62"],
           regions: [Pas-de-Calais]}}
        - id: FR-REST
          country: FR
          timezone: Europe/Paris
          calendar: garage
          postal_ranges: [{{from: "01000", to: "95999"}}]
      node_shipping:
        - {{node: DC-NAT, calendar: fr-dc, processing_minutes: 30, cutoffs: {{trunk: "19:30"}}}}
        - {{node: WH-NORTH, calendar: fr-warehouse, processing_minutes: 10, cutoffs: {{parcel: "16:00"}}}}
        - {{node: ST-LILLE, calendar: fr-store, processing_minutes: 20, cutoffs: {{collect: "18:00"}},
           click_and_collect: true}}
        - {{node: SUP-DE, calendar: de-supplier, processing_minutes: 120, cutoffs: {{dropship: "12:00"}}}}
      lanes:
        - from: WH-NORTH                   # route 7: two runs, both delivered next morning
          to_zone: FR-59
          service: route7
          departures:
            - {{days: [mon, tue, wed, thu, fri], leaves: "14:00", cutoff: "13:45", arrives: "08:00",
               arrival_day_offset: 1}}
            - {{days: [mon, tue, wed, thu, fri], leaves: "18:00", cutoff: "17:45", arrives: "08:00",
               arrival_day_offset: 1}}
        - from: WH-NORTH                   # the same route with the 14:00 run only
          to_zone: FR-59
          service: route7-once
          departures:
            - {{days: [mon, tue, wed, thu, fri], leaves: "14:00", cutoff: "13:45", arrives: "08:00",
               arrival_day_offset: 1}}
        - {{from: WH-NORTH, to_zone: FR-59, service: parcel, pickup: "17:00", transit_working_days: 1,
           arrives: "09:00", transit_spread_hours: 9}}
        - {{from: WH-NORTH, to_zone: FR-59, service: van, transit_hours: 48}}
        - {{from: WH-NORTH, to_zone: FR-62, service: van, transit_hours: 48}}
        - from: DC-NAT
          to_node: WH-NORTH
          service: trunk
          departures:
            - {{days: [mon, tue, wed, thu, fri], leaves: "21:00", cutoff: "19:30", arrives: "07:00",
               arrival_day_offset: 1}}
        - from: WH-NORTH
          to_node: ST-LILLE
          service: shuttle
          departures:
            - {{days: [mon, tue, wed, thu, fri], leaves: "05:30", arrives: "06:30"}}
        - {{from: SUP-DE, to_zone: FR-59, service: dropship, pickup: "15:00", transit_working_days: 2,
           arrives: "09:00", transit_spread_hours: 9}}
    """)


def scenario_network():
    return parse_network(NETWORK_YAML, "scenario.yaml")


def scenario_calculator() -> EdtCalculator:
    return EdtCalculator(scenario_network())


def when(text: str, timezone: str = PARIS) -> int:
    """UTC ns of a local "YYYY-MM-DD HH:MM"."""
    moment = dt.datetime.fromisoformat(text)
    return instant_ns(moment.date(), moment.hour * 60 + moment.minute, timezone)


def local(at_ns: int | None, timezone: str = PARIS) -> str | None:
    """The local "YYYY-MM-DD HH:MM" of a UTC ns instant."""
    if at_ns is None:
        return None
    return local_datetime(at_ns, timezone).strftime("%Y-%m-%d %H:%M")
