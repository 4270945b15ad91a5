"""Properties of every EDT, on the demo network and the scenario network.

- earliest >= as of and >= supply ETA; latest >= earliest;
- monotone: a later ready time never gives an earlier delivery;
- the answer does not depend on where the precomputed window starts;
- the batch call answers exactly as the single one.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scenarios import scenario_network, when

from dompromise.demo.network import demo_network
from dompromise.limits import TRANSPORT_HORIZON_DAYS, TRANSPORT_WINDOW_DAYS
from dompromise.promise.edt import EdtCalculator, EdtStatus
from dompromise.promise.edt_tables import NS_PER_DAY, build_tables

DEMO = EdtCalculator(demo_network())
SCENARIO_NETWORK = scenario_network()
SCENARIO = EdtCalculator(SCENARIO_NETWORK)
CALCULATORS = {"demo": DEMO, "scenario": SCENARIO}

# Both networks list holidays for 2026 (and the demo 2027): stay inside.
FIRST_NS = when("2026-01-01 00:00")
LAST_NS = when("2026-12-31 23:59")

as_of_ns = st.integers(FIRST_NS, LAST_NS)
offset_ns = st.integers(0, 20 * NS_PER_DAY)


@st.composite
def lane_of(draw):
    name = draw(st.sampled_from(sorted(CALCULATORS)))
    calculator = CALCULATORS[name]
    return calculator, draw(st.integers(0, len(calculator.lanes) - 1))


@settings(max_examples=300, deadline=None)
@given(lane=lane_of(), as_of=as_of_ns, eta_offset=st.none() | st.integers(-5 * NS_PER_DAY, 20 * NS_PER_DAY))
def test_delivery_is_after_as_of_and_eta(lane, as_of, eta_offset):
    calculator, lane_index = lane
    eta = None if eta_offset is None else as_of + eta_offset

    edt = calculator.edt_lane(lane_index, as_of_ns=as_of, supply_eta_ns=eta)

    assert edt.status == EdtStatus.OK  # every lane of both networks delivers within the horizon
    assert edt.earliest_ns >= as_of
    assert eta is None or edt.earliest_ns >= eta
    assert edt.latest_ns >= edt.earliest_ns
    assert edt.ready_ns <= edt.accepted_ns <= edt.departure_ns <= edt.earliest_ns


@settings(max_examples=300, deadline=None)
@given(lane=lane_of(), as_of=as_of_ns, later_by=offset_ns)
def test_later_ready_time_never_delivers_earlier(lane, as_of, later_by):
    calculator, lane_index = lane

    sooner = calculator.edt_lane(lane_index, as_of_ns=as_of)
    later = calculator.edt_lane(lane_index, as_of_ns=as_of + later_by)

    assert later.earliest_ns >= sooner.earliest_ns
    assert later.latest_ns >= sooner.latest_ns
    assert later.departure_ns >= sooner.departure_ns


@settings(max_examples=300, deadline=None)
@given(lane=lane_of(), as_of=as_of_ns, later_by=st.integers(0, 3 * 60 * 10**9))
def test_monotone_within_minutes(lane, as_of, later_by):
    # Cut-offs and closing times sit on minute boundaries: probe right around them.
    calculator, lane_index = lane
    as_of -= as_of % (60 * 10**9)

    sooner = calculator.edt_lane(lane_index, as_of_ns=as_of)
    later = calculator.edt_lane(lane_index, as_of_ns=as_of + later_by)

    assert later.earliest_ns >= sooner.earliest_ns


@settings(max_examples=25, deadline=None)
@given(
    lane_index=st.integers(0, len(SCENARIO.lanes) - 1),
    as_of=as_of_ns,
    days_before=st.integers(0, TRANSPORT_WINDOW_DAYS - TRANSPORT_HORIZON_DAYS - 1),
)
def test_answer_does_not_depend_on_the_window_start(lane_index, as_of, days_before):
    ready_day = dt.datetime.fromtimestamp(as_of // 10**9, dt.UTC).date()
    tables = build_tables(SCENARIO_NETWORK, ready_day - dt.timedelta(days=days_before))

    answer = tables.edt(lane_index, as_of)

    assert answer == SCENARIO.tables_for(as_of).edt(lane_index, as_of)


@settings(max_examples=50, deadline=None)
@given(data=st.data(), as_of=as_of_ns)
def test_batch_answers_like_single_calls(data, as_of):
    calculator = CALCULATORS[data.draw(st.sampled_from(sorted(CALCULATORS)))]
    count = data.draw(st.integers(1, 20))
    lanes = np.array(
        data.draw(st.lists(st.integers(0, len(calculator.lanes) - 1), min_size=count, max_size=count)), dtype=np.int32
    )
    # Some ETAs far enough out to need a second window.
    etas = (
        np.array(data.draw(st.lists(st.integers(0, 400 * NS_PER_DAY), min_size=count, max_size=count)), dtype=np.int64)
        + as_of
    )

    batch = calculator.edt_many(lanes, as_of, etas)

    for i, lane_index in enumerate(lanes):
        single = calculator.edt_lane(int(lane_index), as_of_ns=as_of, supply_eta_ns=int(etas[i]))
        assert batch.status[i] == single.status
        assert batch.earliest_ns[i] == single.earliest_ns
        assert batch.latest_ns[i] == single.latest_ns
        assert batch.departure_ns[i] == single.departure_ns
