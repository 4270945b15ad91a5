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
passes over the SKUs, not a Python loop. The widest slices (what a person types
first: "b", "fl") are kept as bitmasks, and their best matches typed alone are
ready: a query's CPU time is under 1 ms at p99 over 200k SKUs (benchmarks/http_counter.py).

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
from dompromise.gc_pause import gc_paused
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
# Prefixes of one to three characters with at least this many postings keep their SKUs as a bitmask
# (_Built.matching), and their best matches typed alone ready (SkuSearch._ready).
SHORT_PREFIX_LENGTH_MAX = 3
SHORT_PREFIX_POSTINGS_MIN = 4_096


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
    """Every word a query word may be a prefix of, for this SKU (one regex pass over its searched text)."""
    id_words = WORD.findall(sku.sku_id.casefold())
    text = " ".join((sku.description, sku.brand, sku.category, *sku.tags))
    found = set(WORD.findall(text.casefold()))
    found.update(id_words)
    found.add("".join(id_words))
    found.discard("")
    return found


class _Built:
    """The immutable part: sorted words, each word's SKUs as a run of one flat array.

    Built with numpy from (word id, SKU) pairs: one Python pass cuts the SKUs into
    words, everything after is array sorts (seconds for 200k SKUs, not half a minute).
    """

    def __init__(self, skus: Sequence[Sku]) -> None:
        # Millions of short-lived sets and ints: collections set off by them would walk the catalog again and again.
        with gc_paused():
            self._build(skus)

    def _build(self, skus: Sequence[Sku]) -> None:
        vocabulary: dict[str, int] = {}
        word_ids: list[int] = []
        word_counts: list[int] = []
        for sku in skus:
            own = sku_words(sku)
            word_ids.extend([vocabulary.setdefault(word, len(vocabulary)) for word in own])
            word_counts.append(len(own))
        sku_of_pair = np.repeat(np.arange(len(skus), dtype=np.int32), word_counts)
        unsorted = list(vocabulary)
        order = sorted(range(len(unsorted)), key=unsorted.__getitem__)
        self.words = [unsorted[i] for i in order]
        rank = np.empty(len(order), dtype=np.int64)
        rank[np.asarray(order, dtype=np.int64)] = np.arange(len(order), dtype=np.int64)
        pair_rank = rank[np.asarray(word_ids, dtype=np.int64)]
        by_word = np.argsort(pair_rank, kind="stable")  # stable: each word's SKUs stay in catalog order
        self.flat = sku_of_pair[by_word]
        self.starts = np.zeros(len(self.words) + 1, dtype=np.int64)
        np.cumsum(np.bincount(pair_rank, minlength=len(self.words)), out=self.starts[1:])
        # Part numbers run together, sorted, with their SKU index: the "query starts the part number" bonus.
        joined = [joined_id(sku.sku_id) for sku in skus]
        id_order = sorted(range(len(joined)), key=joined.__getitem__)
        self.ids = [joined[i] for i in id_order]
        self.id_index = np.asarray(id_order, dtype=np.int32)
        self.sku_count = len(skus)
        self.short_masks = self._short_prefix_masks()

    def prefix_range(self, sorted_words: list[str], prefix: str) -> tuple[int, int]:
        return bisect.bisect_left(sorted_words, prefix), bisect.bisect_left(sorted_words, prefix + AFTER_PREFIX)

    def postings(self, first: int, stop: int) -> np.ndarray:
        """The SKUs of words first..stop-1 (with repeats when a SKU has several of them)."""
        return self.flat[self.starts[first] : self.starts[stop]]

    def matching(self, prefix: str) -> np.ndarray:
        """A mask of the SKUs with a word starting with `prefix`."""
        packed = self.short_masks.get(prefix)
        if packed is not None:
            return np.unpackbits(packed, count=self.sku_count).view(np.bool_)
        first, stop = self.prefix_range(self.words, prefix)
        found = np.zeros(self.sku_count, dtype=np.bool_)
        found[self.postings(first, stop)] = True
        return found

    def _short_prefix_masks(self) -> dict[str, np.ndarray]:
        """The SKUs of each short prefix with many postings, as packed bits.

        What a person types first scatters the largest slices (every word starting with "b"):
        kept ready, such a prefix costs one unpack of sku_count bits instead.
        """
        masks: dict[str, np.ndarray] = {}
        for length in range(1, SHORT_PREFIX_LENGTH_MAX + 1):
            for prefix in sorted({word[:length] for word in self.words if len(word) >= length}):
                first, stop = self.prefix_range(self.words, prefix)
                if self.starts[stop] - self.starts[first] < SHORT_PREFIX_POSTINGS_MIN:
                    continue
                found = np.zeros(self.sku_count, dtype=np.bool_)
                found[self.postings(first, stop)] = True
                masks[prefix] = np.packbits(found)
        return masks


class SkuSearch:
    """The catalog's search index, kept up to date through `on_skus_changed`."""

    def __init__(self, skus: Sequence[Sku], lookup: Callable[[str], Sku | None]) -> None:
        """`skus` is the catalog in order; `lookup(sku_id)` is its current state (None: gone), for updates."""
        self._lookup = lookup
        self._skus: list[Sku | None] = list(skus)
        self._index_of = {sku.sku_id: index for index, sku in enumerate(skus)}
        self._overlay: dict[int, set[str]] = {}
        self.reset(skus)

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
            elif sku == self._skus[index]:
                continue  # an unchanged or refused upsert: nothing to search differently
            else:
                self._skus[index] = sku
            if index < self._built.sku_count:
                self._stale[index] = True
            self._overlay[index] = sku_words(sku) if sku is not None else set()
        if len(self._overlay) > OVERLAY_SKUS_MAX:
            self.rebuild()

    def rebuild(self) -> None:
        """Builds the index afresh from the current catalog (the overlay folds in)."""
        self.reset([sku for sku in self._skus if sku is not None])

    def reset(self, current: Sequence[Sku]) -> None:
        """Builds the index afresh from this catalog (a replaced state: every SKU may differ)."""
        self._skus = list(current)
        self._index_of = {sku.sku_id: index for index, sku in enumerate(current)}
        self._built = _Built(current)
        # SKUs changed since the build: index -> its words now (the built entries are masked out).
        self._overlay = {}
        self._stale = np.zeros(len(current), dtype=np.bool_)
        # The best SEARCH_RESULTS_MAX SKUs and the match count of each short prefix kept as a bitmask, typed alone.
        self._ready: dict[str, tuple[list[int], int]] = {}
        for prefix in self._built.short_masks:
            scored, count = self._search_built([prefix], prefix, limits.SEARCH_RESULTS_MAX)
            self._ready[prefix] = ([index for _, index in scored], count)

    def search(self, query: str, limit: int = limits.SEARCH_RESULTS_MAX) -> SearchAnswer:
        """The best `limit` SKUs for `query` (callers check its length and words first), and how many matched."""
        words = words_of(query)
        assert 0 < len(words) <= limits.SEARCH_QUERY_WORDS_MAX, "callers check the query's words"
        assert 0 < limit <= limits.SEARCH_RESULTS_MAX, limit
        ready = self._ready.get(words[0]) if len(words) == 1 and not self._overlay else None
        if ready is not None:  # a short prefix alone: answered at build (the widest queries there are)
            return SearchAnswer([self._skus[i] for i in ready[0][:limit]], ready[1])  # type: ignore[misc]
        scored, built_count = self._search_built(words, joined_id(query), limit)
        changed = self._search_overlay(words, joined_id(query))
        scored = sorted(scored + changed)[:limit]
        skus = [self._skus[index] for _, index in scored]
        return SearchAnswer([sku for sku in skus if sku is not None], built_count + len(changed))

    def _search_built(self, words: list[str], joined: str, limit: int) -> tuple[list[tuple[int, int]], int]:
        """(-score, index) of the best `limit` matches in the built index, and how many matched there."""
        built = self._built
        match: np.ndarray | None = None
        for word in sorted(words, key=len, reverse=True):  # the longest word first: the fewest SKUs
            found = built.matching(word)
            match = found if match is None else np.logical_and(match, found, out=match)
        assert match is not None
        if self._overlay:
            match &= ~self._stale
        hits = np.flatnonzero(match)
        if len(hits) == 0:
            return [], 0
        score = np.zeros(built.sku_count, dtype=np.int8)  # at most 8 words + 12
        for word in words:
            first = bisect.bisect_left(built.words, word)
            if first < len(built.words) and built.words[first] == word:
                score[built.postings(first, first + 1)] += EXACT_WORD_SCORE
        first, stop = built.prefix_range(built.ids, joined)
        score[built.id_index[first:stop]] += ID_PREFIX_SCORE
        if first < stop and built.ids[first] == joined:
            exact_stop = bisect.bisect_right(built.ids, joined, first, stop)
            score[built.id_index[first:exact_stop]] += ID_EXACT_SCORE
        best = best_by_score(hits, score[hits], limit)
        return [(-s, h) for s, h in zip(score[best].tolist(), best.tolist())], len(hits)

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


def best_by_score(hits: np.ndarray, scores: np.ndarray, limit: int) -> np.ndarray:
    """The `limit` best of `hits` (ascending SKU indices): higher score first, then catalog order.

    Scores are a few small levels: count the hits per level, take every hit above the
    level where `limit` is reached and the first ones at it, with no sort of all hits.
    """
    if len(hits) > limit:
        per_level = np.bincount(scores)
        from_top = np.cumsum(per_level[::-1])
        cut = len(per_level) - 1 - int(np.searchsorted(from_top, limit))  # the level where `limit` is reached
        above = scores > cut
        at_cut = hits[scores == cut][: limit - int(np.count_nonzero(above))]
        hits = np.concatenate((hits[above], at_cut))
        scores = np.concatenate((scores[above], np.full(len(at_cut), cut, dtype=scores.dtype)))
    return hits[np.lexsort((hits, -scores))]
