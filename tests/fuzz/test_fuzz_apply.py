"""Hypothesis over the core's apply: random command sequences through the engine's record path.

Each example is a sequence of log records (tests/fuzz/apply_ops.py: on-hand sets and adjusts, reserves
whole, partial and on backorder, with and without a promise token, commits, releases, extends, ships,
line cancels, returns, supply upserts and receipts, ticks; some under a reused request_id) applied to two
engines; after every record: nothing negative, the core's invariants, no claim past what a position has,
each hold resolved once, the same digest on both engines (and after a snapshot at the end).

Bounded: FUZZ_APPLY_EXAMPLES examples (default 200: about 3,000 records, under 20 s). The sequences in
tests/fuzz/corpus/apply/*.json replay on every run; hypothesis's own finds are kept in
tests/fuzz/corpus/hypothesis/ (written only with FUZZ_SAVE=1).
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from pathlib import Path

import pytest
from apply_ops import run_ops
from conftest import small_network
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.database import DirectoryBasedExampleDatabase, ReadOnlyDatabase

from dompromise.model.network import NodeStatus

CORPUS = Path(__file__).resolve().parent / "corpus"
FUZZ_APPLY_EXAMPLES = int(os.environ.get("FUZZ_APPLY_EXAMPLES", "200"))
_database = DirectoryBasedExampleDatabase(str(CORPUS / "hypothesis"))
DATABASE = _database if os.environ.get("FUZZ_SAVE") == "1" else ReadOnlyDatabase(_database)
SEQUENCES = sorted((CORPUS / "apply").glob("*.json"))
NETWORK = small_network()
SKUS, NODES = len(NETWORK.skus), len(NETWORK.nodes)


def mostly(common: st.SearchStrategy, rare: st.SearchStrategy) -> st.SearchStrategy:
    """`common` seven times in eight: a record with one bad item fails whole, so bad items stay rare."""
    return st.integers(0, 7).flatmap(lambda k: rare if k == 0 else common)


# Indices one past each end name nothing; quantities mostly small (so holds meet and run short), a few at
# the edges where arithmetic breaks.
sku = mostly(st.integers(0, SKUS - 1), st.sampled_from([-1, SKUS]))
node = mostly(st.integers(0, NODES - 1), st.sampled_from([-1, NODES]))
quantity = mostly(st.integers(1, 12), st.sampled_from([0, -1, 10**15, 10**15 + 1, 2**63 - 1]))
delta = mostly(st.integers(-20, 20), st.sampled_from([-(2**63), 10**15]))
pick = mostly(st.integers(0, 12), st.just(-1))  # a reservation by its number among those issued; -1: never issued
# A reserve line mostly at a node that sells (the small network drains ST-2 and disables SUP-1): with up to
# three lines held all or nothing, a line at either fails the whole reserve.
selling = [i for i, n in enumerate(NETWORK.nodes) if n.status == NodeStatus.ENABLED]
line_node = mostly(st.sampled_from(selling), st.integers(-1, NODES))
# Lines from stock (due 0), and lines on backorder (due in 1 or 3 days) mostly larger than a position's
# stock, so they reach future supply.
# Backorders and supplies mostly meet at four positions, so a backorder finds supply due in time.
hot_sku, hot_node = mostly(st.integers(0, 1), sku), mostly(st.integers(0, 1), line_node)
line = st.one_of(
    st.tuples(sku, line_node, quantity, st.just(0)),
    st.tuples(hot_sku, hot_node, mostly(st.integers(8, 40), quantity), st.sampled_from([1, 3])),
)

reserve = st.tuples(
    st.just("reserve"),
    st.lists(line, min_size=1, max_size=3),
    st.booleans(),
    mostly(st.integers(600, 7_200), st.integers(1, 60)),  # ttl seconds: most holds live through a few steps
    st.sampled_from(["", "", "", "a", "b"]),  # a promise token (it reserves once)
)
# The reservation lifecycle twice as often as the rest: a hold has to exist before it can be committed,
# shipped or cancelled.
resolve = st.tuples(st.sampled_from(["commit", "commit", "release"]), pick)
change_lines = st.tuples(st.sampled_from(["ship", "cancel_lines"]), pick, st.integers(-1, 3), st.integers(-1, 12))
eta_days = st.integers(-1, 5)
ops = st.one_of(
    st.tuples(st.just("on_hand"), sku, node, st.just("set"), st.integers(0, 40)),
    st.tuples(st.just("on_hand"), sku, node, st.just("adjust"), delta),
    reserve,
    reserve,
    reserve,
    resolve,
    resolve,
    st.tuples(st.just("extend"), pick, st.integers(-5, 7_200)),
    change_lines,
    change_lines,
    st.tuples(st.just("return"), sku, node, st.integers(-1, 20), st.integers(0, 3)),
    # supply: PO number, SKU, node, kind, quantity, ETA in days
    st.tuples(st.just("supply"), st.integers(0, 5), hot_sku, hot_node, st.integers(0, 4), st.integers(0, 40), eta_days),
    st.tuples(st.just("receive"), st.integers(0, 4), st.integers(-1, 30), st.integers(0, 3)),
    st.tuples(st.just("tick")),
).map(list)
steps = st.lists(
    st.tuples(ops, st.sampled_from([0, 0, 1, 1, 60, 3_600, 86_400]), st.sampled_from([""] * 8 + ["k1", "k2"])),
    min_size=8,
    max_size=40,
)
FIGURES: Counter[str] = Counter()


@settings(
    max_examples=FUZZ_APPLY_EXAMPLES,
    deadline=None,
    database=DATABASE,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(steps)
def test_random_command_sequences_keep_the_core_invariants(sequence):
    run = run_ops(NETWORK, sequence)
    FIGURES["examples"] += 1
    FIGURES["records"] += run.records
    FIGURES.update(run.reached)


@pytest.mark.parametrize("path", SEQUENCES, ids=[path.stem for path in SEQUENCES])
def test_corpus_sequence_replays(path):
    """A kept sequence (a past find, or a case worth keeping) still applies cleanly."""
    kept = json.loads(path.read_text())
    sequence = [(op, step, request_id) for op, step, request_id in kept["steps"]]
    run = run_ops(NETWORK, sequence)
    assert run.records == len(sequence)
    for path_reached in kept.get("reaches", ()):  # what the sequence is kept for still happens
        assert run.reached[path_reached] > 0, (path_reached, dict(run.reached))


def test_the_apply_corpus_is_there():
    assert len(SEQUENCES) >= 3, "tests/fuzz/corpus/apply/ holds the sequences every run replays"


@pytest.fixture(scope="module", autouse=True)
def figures():
    """Prints how much ran (pytest -s): the figures the issue's note quotes."""
    started = time.perf_counter()
    yield
    seconds = time.perf_counter() - started
    print(f"\napply fuzz: {FIGURES['examples']} sequences, {FIGURES['records']} records, {seconds:.1f} s")
    print("  reached:", dict(sorted(FIGURES.items())))
