"""Catalog search: which SKUs match what a person at a parts counter typed.

Every SKU is cut into words: its part number's parts ("flt-fue-50127" gives
"flt", "fue", "50127") and the part number run together ("fltfue50127"), its
description's words, and its brand, category and tags where the catalog has
them. A query matches a SKU when each of its words is a prefix of one of the
SKU's words, in any case. The best matches come first: the whole query a
prefix of the part number, then words matched exactly rather than as
prefixes, then catalog order.

The words live in one sorted list; each word's SKUs are a run of one flat
int32 array (CSR), so the SKUs of every word with a given prefix are one
contiguous slice, found by two binary searches: a query costs a few numpy
passes over the SKUs, not a Python loop (p99 well under 5 ms over 200k SKUs:
benchmarks/bench_search.py).

The catalog can change while serving: `on_skus_changed(sku_ids)` takes the
changed SKUs out of the built index into a small overlay searched word by
word, and rebuilds the index once the overlay outgrows OVERLAY_SKUS_MAX.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple

import numpy as np

from dompromise import limits
from dompromise.model.network import Sku

WORD = re.compile(r"[^\W_]+")
# Past every character a word can hold: the end of a prefix's range in the sorted words.
AFTER_PREFIX = "\U0010ffff"
# SKUs changed since the index was built, searched one by one; past this, the index is rebuilt.
OVERLAY_SKUS_MAX = 2_048
# Score: the whole query starts the part number, is the part number, each word matched exactly.
ID_PREFIX_SCORE = 4
ID_EXACT_SCORE = 8
EXACT_WORD_SCORE = 1
# The optional catalog fields that are searched when a SKU has them.
EXTRA_FIELDS = ("brand", "category", "tags")


class SearchAnswer(NamedTuple):
    skus: list[Sku]  # the best matches, best first
    total_count: int  # every match, of which `skus` are the best


def words_of(text: str) -> list[str]:
    """The lower-case words of `text` (letters and digits; punctuation separates)."""
    return WORD.findall(text.casefold())


def joined_id(sku_id: str) -> str:
    """The part number run together in lower case: "FLT-fue 50127" -> "fltfue50127"."""
    return "".join(words_of(sku_id))


def sku_words(sku: Sku) -> set[str]:
    """Every word a query word may be a prefix of, for this SKU."""
    found = set(words_of(sku.sku_id))
    found.add(joined_id(sku.sku_id))
    found.update(words_of(sku.description))
    for name in EXTRA_FIELDS:
        value = getattr(sku, name, None)
        if isinstance(value, str):
            found.update(words_of(value))
        elif isinstance(value, Iterable):
            for item in value:
                found.update(words_of(str(item)))
    found.discard("")
    return found


class _Built:
    """The immutable part: sorted words, each word's SKUs as a run of one flat array."""

    def __init__(self, skus: Sequence[Sku]) -> None:
        postings: dict[str, list[int]] = {}
        for index, sku in enumerate(skus):
            for word in sku_words(sku):
                postings.setdefault(word, []).append(index)
        self.words = sorted(postings)
        counts = np.fromiter((len(postings[w]) for w in self.words), dtype=np.int64, count=len(self.words))
        self.starts = np.zeros(len(self.words) + 1, dtype=np.int64)
        np.cumsum(counts, out=self.starts[1:])
        self.flat = np.fromiter(
            (index for word in self.words for index in postings[word]), dtype=np.int32, count=int(self.starts[-1])
        )
        # Part numbers run together, sorted, with their SKU index: the "query starts the part number" bonus.
        ids = sorted((joined_id(sku.sku_id), index) for index, sku in enumerate(skus))
        self.ids = [joined for joined, _ in ids]
        self.id_index = np.fromiter((index for _, index in ids), dtype=np.int32, count=len(ids))
        self.sku_count = len(skus)

    def prefix_range(self, sorted_words: list[str], prefix: str) -> tuple[int, int]:
        return bisect.bisect_left(sorted_words, prefix), bisect.bisect_left(sorted_words, prefix + AFTER_PREFIX)

    def postings(self, first: int, stop: int) -> np.ndarray:
        """The SKUs of words first..stop-1 (with repeats when a SKU has several of them)."""
        return self.flat[self.starts[first] : self.starts[stop]]


class SkuSearch:
    """The catalog's search index, kept up to date through `on_skus_changed`."""

    def __init__(self, skus: Sequence[Sku], lookup: Callable[[str], Sku | None]) -> None:
        """`skus` is the catalog in order; `lookup(sku_id)` is its current state (None: gone), for updates."""
        self._lookup = lookup
        self._skus: list[Sku | None] = list(skus)
        self._index_of = {sku.sku_id: index for index, sku in enumerate(skus)}
        self._built = _Built(skus)
        # SKUs changed since the build: index -> its words now (the built entries are masked out).
        self._overlay: dict[int, set[str]] = {}
        self._stale = np.zeros(len(skus), dtype=np.bool_)

    @property
    def sku_count(self) -> int:
        return sum(1 for sku in self._skus if sku is not None)

    def on_skus_changed(self, sku_ids: Iterable[str]) -> None:
        """The catalog changed these SKUs (added, edited or removed): search sees them as `lookup` has them now.

        Call it where the change is applied (the replica's apply path), once per batch.
        """
        for sku_id in sku_ids:
            sku = self._lookup(sku_id)
            index = self._index_of.get(sku_id)
            if index is None:
                if sku is None:
                    continue
                index = len(self._skus)
                self._skus.append(sku)
                self._index_of[sku_id] = index
            else:
                self._skus[index] = sku
            if index < self._built.sku_count:
                self._stale[index] = True
            self._overlay[index] = sku_words(sku) if sku is not None else set()
        if len(self._overlay) > OVERLAY_SKUS_MAX:
            self.rebuild()

    def rebuild(self) -> None:
        """Builds the index afresh from the current catalog (the overlay folds in)."""
        current = [sku for sku in self._skus if sku is not None]
        self._skus = list(current)
        self._index_of = {sku.sku_id: index for index, sku in enumerate(current)}
        self._built = _Built(current)
        self._overlay = {}
        self._stale = np.zeros(len(current), dtype=np.bool_)

    def search(self, query: str, limit: int = limits.SEARCH_RESULTS_MAX) -> SearchAnswer:
        """The best `limit` SKUs for `query` (callers check its length and words first), and how many matched."""
        words = words_of(query)
        assert 0 < len(words) <= limits.SEARCH_QUERY_WORDS_MAX, "callers check the query's words"
        assert 0 < limit <= limits.SEARCH_RESULTS_MAX, limit
        scored, built_count = self._search_built(words, joined_id(query), limit)
        changed = self._search_overlay(words, joined_id(query))
        scored = sorted(scored + changed)[:limit]
        skus = [self._skus[index] for _, index in scored]
        return SearchAnswer([sku for sku in skus if sku is not None], built_count + len(changed))

    def _search_built(self, words: list[str], joined: str, limit: int) -> tuple[list[tuple[int, int]], int]:
        """(-score, index) of the best `limit` matches in the built index, and how many matched there."""
        built = self._built
        match: np.ndarray | None = None
        score = np.zeros(built.sku_count, dtype=np.int32)
        for word in words:
            first, stop = built.prefix_range(built.words, word)
            found = np.zeros(built.sku_count, dtype=np.bool_)
            found[built.postings(first, stop)] = True
            match = found if match is None else np.logical_and(match, found, out=match)
            if first < stop and built.words[first] == word:
                score[built.postings(first, first + 1)] += EXACT_WORD_SCORE
        assert match is not None
        if self._overlay:
            match &= ~self._stale
        hits = np.flatnonzero(match)
        if len(hits) == 0:
            return [], 0
        total_count = len(hits)
        first, stop = built.prefix_range(built.ids, joined)
        score[built.id_index[first:stop]] += ID_PREFIX_SCORE
        if first < stop and built.ids[first] == joined:
            exact_stop = bisect.bisect_right(built.ids, joined, first, stop)
            score[built.id_index[first:exact_stop]] += ID_EXACT_SCORE
        # One int64 key per hit: the score high, the catalog order (earlier is better) low.
        key = (score[hits].astype(np.int64) << 32) - hits
        if len(hits) > limit:
            best = np.argpartition(-key, limit - 1)[:limit]
            hits, key = hits[best], key[best]
        return [(-((k + h) >> 32), h) for k, h in zip(key.tolist(), hits.tolist())], total_count

    def _search_overlay(self, words: list[str], joined: str) -> list[tuple[int, int]]:
        """(-score, index) of every changed SKU that matches (few: at most OVERLAY_SKUS_MAX)."""
        scored: list[tuple[int, int]] = []
        for index, own_words in self._overlay.items():
            if not own_words or not all(any(w.startswith(word) for w in own_words) for word in words):
                continue
            sku = self._skus[index]
            assert sku is not None, "a removed SKU has no words"
            score = sum(EXACT_WORD_SCORE for word in words if word in own_words)
            own_id = joined_id(sku.sku_id)
            score += ID_PREFIX_SCORE if own_id.startswith(joined) else 0
            score += ID_EXACT_SCORE if own_id == joined else 0
            scored.append((-score, index))
        return scored
