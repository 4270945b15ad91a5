"""Feed ordering in the core: per (source, position) sequence numbers skip stale updates."""

import numpy as np

from dompromise._core import COMMAND_KIND, FEED_SOURCES_MAX, ITEM_STATUS, ON_HAND_OP, Command, Core

SET, ADJUST = ON_HAND_OP["SET"], ON_HAND_OP["ADJUST"]
OK, STALE = ITEM_STATUS["OK"], ITEM_STATUS["STALE"]


def feed(core, time_ns, items, all_or_nothing=False):
    """items: (sku, node, op, quantity, source, sequence)."""
    sku, node, op, quantity, source, sequence = (list(column) for column in zip(*items))
    command = Command(
        COMMAND_KIND["UPDATE_ON_HAND"],
        time_ns,
        sku,
        node,
        quantity,
        op,
        all_or_nothing=all_or_nothing,
        ref=source,
        time_ns=sequence,
    )
    core.apply(command)
    core.check_invariants()
    return command


def on_hand(core, sku=0, node=0):
    return int(core.bucket_array("on_hand")[sku, node])


def test_an_older_or_repeated_update_from_a_source_is_skipped():
    core = Core(2, 2)
    assert feed(core, 1, [(0, 0, SET, 50, 0, 10)]).status.tolist() == [OK]
    late = feed(core, 2, [(0, 0, SET, 40, 0, 9), (0, 0, ADJUST, 5, 0, 10), (0, 0, SET, 45, 0, 11)])
    assert late.status.tolist() == [STALE, STALE, OK]
    assert late.applied_count == 1
    assert on_hand(core) == 45


def test_sequences_are_per_source_and_per_position():
    core = Core(2, 2)
    feed(core, 1, [(0, 0, SET, 50, 0, 10)])
    other = feed(core, 2, [(0, 0, SET, 30, 1, 3), (0, 1, SET, 7, 0, 1), (1, 0, SET, 8, -1, 0)])
    assert other.status.tolist() == [OK, OK, OK]  # another source, another position, unsequenced
    assert (on_hand(core), on_hand(core, 0, 1), on_hand(core, 1, 0)) == (30, 7, 8)


def test_all_or_nothing_undo_also_undoes_the_sequence():
    core = Core(2, 2)
    failed = feed(core, 1, [(0, 0, SET, 5, 0, 10), (0, 1, ADJUST, -1, 0, 1)], all_or_nothing=True)
    assert failed.status.tolist() == [ITEM_STATUS["NOT_APPLIED"], ITEM_STATUS["NEGATIVE_QUANTITY"]]
    # Sequence 10 was not applied, so it is not stale.
    assert feed(core, 2, [(0, 0, SET, 5, 0, 10)]).status.tolist() == [OK]


def test_stale_items_do_not_fail_an_all_or_nothing_batch():
    core = Core(2, 2)
    feed(core, 1, [(0, 0, SET, 5, 0, 10)])
    batch = feed(core, 2, [(0, 0, SET, 1, 0, 3), (0, 1, SET, 2, 0, 3)], all_or_nothing=True)
    assert batch.status.tolist() == [STALE, OK]
    assert on_hand(core, 0, 1) == 2


def test_a_source_beyond_the_limit_is_malformed_and_the_state_round_trips():
    core = Core(2, 2)
    feed(core, 1, [(0, 0, SET, 5, 3, 10)])
    beyond = feed(core, 2, [(0, 0, SET, 6, FEED_SOURCES_MAX, 11)])
    assert beyond.status.tolist() == [ITEM_STATUS["MALFORMED"]]
    copy = Core.from_state(core.export_state())
    assert copy.digest() == core.digest()
    assert feed(copy, 3, [(0, 0, SET, 1, 3, 10)]).status.tolist() == [STALE]
    assert np.array_equal(copy.bucket_array("on_hand"), core.bucket_array("on_hand"))
