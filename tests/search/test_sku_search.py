"""The catalog search index against a plain reading of its rules (every query word a prefix of
one of the SKU's words, any case; best: part number exact > part number prefix > exact words >
catalog order), over a catalog big enough for the short-prefix bitmasks, before and after changes."""

from __future__ import annotations

import random

import numpy as np
import pytest

from dompromise.inventory import search as search_module
from dompromise.inventory.search import (
    EXACT_WORD_SCORE,
    ID_EXACT_SCORE,
    ID_PREFIX_SCORE,
    SkuSearch,
    best_by_score,
    joined_id,
    sku_words,
    words_of,
)
from dompromise.model.network import Sku

WORDS = ["brake", "pad", "disc", "front", "rear", "filter", "fuel", "oil", "air", "battery", "agm", "12v", "b", "br"]


def catalog(count: int, seed: int = 3) -> list[Sku]:
    rng = random.Random(seed)
    families = ["BRK-PAD", "BRK-DSC", "FLT-FUE", "FLT-OIL", "BAT-STR", "B"]
    skus, seen = [], set()
    while len(skus) < count:
        sku_id = f"{rng.choice(families)}-{rng.randrange(1, 99_999)}"
        if sku_id not in seen:
            seen.add(sku_id)
            tags = tuple(rng.sample(["oem", "eco"], rng.randint(0, 1)))
            skus.append(Sku(sku_id, " ".join(rng.sample(WORDS, 4)), brand=rng.choice(["", "Bosch"]), tags=tags))
    return skus


def reference(skus: list[Sku], query: str, limit: int = 20) -> tuple[list[str], int]:
    words, joined = words_of(query), joined_id(query)
    scored = []
    for order, sku in enumerate(skus):
        own = sku_words(sku)
        if not all(any(w.startswith(word) for w in own) for word in words):
            continue
        score = sum(EXACT_WORD_SCORE for word in words if word in own)
        score += ID_PREFIX_SCORE if joined_id(sku.sku_id).startswith(joined) else 0
        score += ID_EXACT_SCORE if joined_id(sku.sku_id) == joined else 0
        scored.append((-score, order, sku.sku_id))
    scored.sort()
    return [sku_id for _, _, sku_id in scored[:limit]], len(scored)


QUERIES = [
    "b",
    "B",
    "br",
    "brk",
    "brake",
    "BRAKE pa",
    "brk-pad",
    "f",
    "fi o",
    "12",
    "12v",
    "bosch b",
    "oem",
    "zz",
    "b 1",
]


@pytest.fixture(autouse=True)
def small_bitmask_threshold(monkeypatch):
    # The short-prefix bitmasks must be used by these few thousand SKUs too.
    monkeypatch.setattr(search_module, "SHORT_PREFIX_POSTINGS_MIN", 64)


def test_answers_equal_the_rules_read_plainly():
    skus = catalog(3_000)
    index = SkuSearch(skus, {s.sku_id: s for s in skus}.get)
    assert index._built.short_masks, "short prefixes kept as bitmasks"
    for query in QUERIES + [skus[7].sku_id.lower(), skus[9].sku_id.split("-")[-1]]:
        answer = index.search(query)
        assert ([s.sku_id for s in answer.skus], answer.total_count) == reference(skus, query), query


def test_changes_through_the_hook_are_found_updated_and_gone():
    skus = catalog(2_000)
    current = {s.sku_id: s for s in skus}
    index = SkuSearch(skus, current.get)
    added = Sku("QQ-NEW-1", "windscreen wiper blade")
    changed = Sku(skus[5].sku_id, "wiper arm")
    retired = skus[6].sku_id
    current[added.sku_id] = added
    current[changed.sku_id] = changed
    del current[retired]
    index.on_skus_changed([added.sku_id, changed.sku_id, retired])
    now = [current[s.sku_id] for s in skus if s.sku_id in current] + [added]
    for query in QUERIES + ["wiper", "qq", retired.lower(), "windscreen w"]:
        answer = index.search(query)
        got = ([s.sku_id for s in answer.skus], answer.total_count)
        if query == "wiper":
            assert set(got[0]) == {added.sku_id, changed.sku_id}
        assert got == reference(now, query), query
    index.rebuild()
    for query in QUERIES + ["wiper"]:
        answer = index.search(query)
        assert ([s.sku_id for s in answer.skus], answer.total_count) == reference(now, query), query


def test_best_by_score_is_a_full_sort_cut_short():
    rng = np.random.default_rng(5)
    hits = np.sort(rng.choice(100_000, size=5_000, replace=False))
    scores = rng.integers(0, 6, size=len(hits)).astype(np.int32)
    for limit in (1, 7, 20, 5_000, 6_000):
        expected = sorted(zip((-scores).tolist(), hits.tolist()))[:limit]
        assert best_by_score(hits, scores, limit).tolist() == [h for _, h in expected]
