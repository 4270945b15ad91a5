"""The compiled EDT tables on hand-made arrays: searches, edge cases, checks at the boundary."""

from __future__ import annotations

import ast
import pathlib

import numpy as np
import pytest

from dompromise._core import transport as core
from dompromise._core.transport import EDT_FLAG, EDT_STATUS, NEVER, TransportTables

H = 3_600 * 10**9  # one hour in ns; the tables below count from 0
DAY = 24 * H
OK, OUT_OF_WINDOW, NO_DELIVERY = EDT_STATUS["OK"], EDT_STATUS["OUT_OF_WINDOW"], EDT_STATUS["NO_DELIVERY"]


def day_hours(days: int, opens_h: int, closes_h: int, cutoff_h: int | None = None):
    """(open, close) of each day from 0, closing at the cut-off when it is earlier."""
    closes = closes_h if cutoff_h is None else min(closes_h, cutoff_h)
    return [(d * DAY + opens_h * H, d * DAY + closes * H) for d in range(days)]


def tables(
    lanes: list[dict], sets: list[list[tuple[int, int]]], ready_end_ns: int = 20 * DAY, horizon_ns: int = 10 * DAY
) -> TransportTables:
    """Tables from readable pieces: interval sets and lanes with their departures."""
    set_start = np.cumsum([0] + [len(s) for s in sets])
    intervals = [interval for s in sets for interval in s]
    departures = [d for lane in lanes for d in lane.get("departures", [])]
    return TransportTables(
        0,
        ready_end_ns,
        horizon_ns,
        open_ns=[i[0] for i in intervals],
        close_ns=[i[1] for i in intervals],
        set_start=set_start,
        lane_work_set=[lane.get("work", 0) for lane in lanes],
        lane_accept_set=[lane.get("accept", 0) for lane in lanes],
        lane_receive_set=[lane.get("receive", 0) for lane in lanes],
        lane_processing_ns=[lane.get("processing_ns", 0) for lane in lanes],
        lane_transit_ns=[lane.get("transit_ns", -1) for lane in lanes],
        lane_spread_ns=[lane.get("spread_ns", 0) for lane in lanes],
        departure_start=np.cumsum([0] + [len(lane.get("departures", [])) for lane in lanes]),
        departure_ns=[d[0] for d in departures],
        cutoff_ns=[d[1] for d in departures],
        arrival_ns=[d[2] for d in departures],
    )


# Set 0: works 8-18 every day. Set 1: the same, cut off at 12. Set 2: receives 9-17.
WORK, ACCEPT, RECEIVE = day_hours(15, 8, 18), day_hours(15, 8, 18, cutoff_h=12), day_hours(15, 9, 17)
SETS = [WORK, ACCEPT, RECEIVE]
# A route leaving 14:00 daily (cut-off 13:00), arriving 10:00 the next day.
ROUTE = {
    "work": 0,
    "accept": 1,
    "receive": 2,
    "processing_ns": H,
    "departures": [(d * DAY + 14 * H, d * DAY + 13 * H, (d + 1) * DAY + 10 * H) for d in range(15)],
}


def test_stub_names_what_the_module_has():
    stub = pathlib.Path(core.__file__).with_name("transport.pyi")
    missing = []
    for node in ast.parse(stub.read_text()).body:
        if isinstance(node, ast.ClassDef):
            cls = getattr(core, node.name)
            for member in node.body:
                name = member.name if isinstance(member, ast.FunctionDef) else member.target.id
                if name != "__init__" and not hasattr(cls, name):
                    missing.append(f"{node.name}.{name}")
        elif isinstance(node, ast.AnnAssign) and not hasattr(core, node.target.id):
            missing.append(node.target.id)
    assert missing == []


def test_route_before_and_after_cutoffs():
    t = tables([ROUTE], SETS)

    # 09:00: accepted at once, at the dock 10:00, on the 14:00, received 10:00 next day.
    assert t.edt(0, 9 * H) == (OK, 0, 9 * H, 10 * H, 14 * H, DAY + 10 * H, DAY + 10 * H, DAY + 10 * H)
    # 12:30: past the node's 12:00 cut-off: taken next morning, next day's run.
    status, flags, accepted, *_, earliest, _ = t.edt(0, 12 * H + H // 2)
    assert (status, flags, accepted, earliest) == (OK, EDT_FLAG["ORDER_CUTOFF_MISSED"], DAY + 8 * H, 2 * DAY + 10 * H)


def test_departure_cutoff_missed_but_dock_in_time():
    lane = dict(ROUTE, accept=0, processing_ns=0)
    t = tables([lane], SETS)

    # 13:30: ready before 14:00 but past the run's 13:00 cut-off.
    status, flags, _, _, departure, *_ = t.edt(0, 13 * H + H // 2)
    assert (status, flags, departure) == (OK, EDT_FLAG["DEPARTURE_CUTOFF_MISSED"], DAY + 14 * H)


def test_cutoff_instant_itself_is_still_in_time():
    t = tables([dict(ROUTE, accept=0, processing_ns=0)], SETS)

    assert t.edt(0, 13 * H)[4] == 14 * H
    assert t.edt(0, 13 * H + 1)[4] == DAY + 14 * H


def test_processing_carries_over_to_the_next_working_day():
    lane = {"work": 0, "accept": 0, "receive": 0, "processing_ns": 3 * H, "transit_ns": 0}
    t = tables([lane], SETS)

    # 17:00 + 3 h of 8-18 working time = 10:00 next day.
    assert t.edt(0, 17 * H)[3] == DAY + 10 * H
    # 14 h of work spans more than one day: 1 h on day 0, 10 on day 1, 3 on day 2.
    assert tables([dict(lane, processing_ns=14 * H)], SETS).edt(0, 17 * H)[3] == 2 * DAY + 11 * H


def test_a_later_departure_that_arrives_sooner_wins():
    slow_then_fast = {
        "work": 0,
        "accept": 0,
        "receive": 0,
        "departures": [(10 * H, 10 * H, 3 * DAY), (11 * H, 11 * H, DAY + 9 * H), (12 * H, 12 * H, 2 * DAY)],
    }
    t = tables([slow_then_fast], SETS)

    _, _, _, _, departure, arrival, *_ = t.edt(0, 9 * H)

    assert (departure, arrival) == (11 * H, DAY + 9 * H)


def test_on_demand_lane_and_receiving_window():
    lane = {"work": 0, "accept": 0, "receive": 2, "transit_ns": 9 * H, "spread_ns": 2 * H}
    t = tables([lane], SETS)

    # Ready 10:00, arrives 19:00 after closing: received 09:00 next day; latest from 21:00 also then.
    assert t.edt(0, 10 * H)[5:] == (19 * H, DAY + 9 * H, DAY + 9 * H)
    # Ready 8:00, arrives 17:00 at closing time: delivered then; +2 h is tomorrow 09:00.
    assert t.edt(0, 8 * H)[6:] == (17 * H, DAY + 9 * H)


def test_out_of_window_and_no_delivery():
    empty_timetable = {"work": 0, "accept": 0, "receive": 0}
    t = tables([ROUTE, empty_timetable], SETS, ready_end_ns=5 * DAY, horizon_ns=2 * DAY)

    assert t.edt(0, 5 * DAY)[0] == OUT_OF_WINDOW
    assert t.edt(0, -1)[0] == OUT_OF_WINDOW
    assert t.edt(1, H)[:2] == (NO_DELIVERY, 0)
    assert t.edt(1, H)[6] == NEVER


def test_beyond_the_horizon_is_no_delivery():
    weekly = {"work": 0, "accept": 0, "receive": 0, "departures": [(7 * DAY + 14 * H, 7 * DAY + 14 * H, 8 * DAY)]}

    assert tables([weekly], SETS, horizon_ns=3 * DAY).edt(0, 9 * H)[0] == NO_DELIVERY
    assert tables([weekly], SETS, horizon_ns=9 * DAY).edt(0, 9 * H)[0] == OK


def test_next_departures_matches_searchsorted():
    t = tables([ROUTE], SETS)
    departures, _, _ = t.departures(0)
    at_ns = np.random.default_rng(7).integers(0, 16 * DAY, size=5_000, dtype=np.int64)
    at_ns[:3] = [departures[0], departures[-1], departures[-1] + 1]  # the edges
    out = np.empty(len(at_ns), dtype=np.int32)

    t.next_departures(0, at_ns, out)

    expected = np.searchsorted(departures, at_ns, side="left")
    assert np.array_equal(out, np.where(expected == len(departures), -1, expected))


def test_edt_many_equals_edt():
    t = tables([ROUTE, dict(ROUTE, accept=0)], SETS)
    lanes = np.array([0, 1, 0, 1], dtype=np.int32)
    ready = np.array([9 * H, 13 * H, 12 * H + 1, 3 * DAY], dtype=np.int64)
    outs = [np.empty(4, np.int8), np.empty(4, np.int8)] + [np.empty(4, np.int64) for _ in range(3)]

    t.edt_many(lanes, ready, *outs)

    for i in range(4):
        status, flags, _, _, departure, _, earliest, latest = t.edt(int(lanes[i]), int(ready[i]))
        assert [out[i] for out in outs] == [status, flags, departure, earliest, latest]


def test_boundary_checks():
    t = tables([ROUTE], SETS)
    with pytest.raises(IndexError):
        t.edt(1, 0)
    with pytest.raises(IndexError):
        t.edt_many(
            np.array([3], np.int32),
            np.zeros(1, np.int64),
            np.empty(1, np.int8),
            np.empty(1, np.int8),
            *(np.empty(1, np.int64) for _ in range(3)),
        )
    with pytest.raises(ValueError):
        t.edt_many(
            np.array([0, 0], np.int32),
            np.zeros(1, np.int64),
            np.empty(2, np.int8),
            np.empty(2, np.int8),
            *(np.empty(2, np.int64) for _ in range(3)),
        )
    with pytest.raises(ValueError):
        t.next_departures(0, np.zeros(2, np.int64), np.empty(1, np.int32))


@pytest.mark.parametrize(
    "sets, lane, message",
    [
        ([[(10, 5)]], {}, "interval 0 is empty"),
        ([[(0, 10), (5, 20)]], {}, "interval 1 overlaps"),
        ([[(0, 10)]], {"departures": [(5, 5, 4)]}, "departure 0 arrives before it leaves"),
        ([[(0, 10)]], {"departures": [(5, 6, 9)]}, "departure 0 closes to orders after it leaves"),
        ([[(0, 10)]], {"departures": [(5, 5, 9), (4, 4, 9)]}, "departure 1 leaves or closes before"),
        ([[(0, 10)]], {"receive": 3}, "lane_receive_set names an interval set that does not exist"),
        ([[(0, 10)]], {"processing_ns": -1}, "processing and spread must not be negative"),
    ],
)
def test_disordered_tables_are_refused(sets, lane, message):
    with pytest.raises(ValueError, match=message):
        tables([lane], sets)


def test_tables_are_read_only_from_python():
    departures, _, _ = tables([ROUTE], SETS).departures(0)

    with pytest.raises(ValueError):
        departures[0] = 0
