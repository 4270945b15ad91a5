"""The variant registry: which core SKU rows stand for (SKU, attribute values).

A variant is a SKU row of the core appended after the network's SKUs; row
`base_count + v` is variant v. Variants are numbered in log order (the engine
creates them while applying a record), so every replica numbers them alike.
Pure Python and numpy; snapshots carry it beside the core's arrays.
"""

from __future__ import annotations

import bisect
import json

import numpy as np
import numpy.typing as npt

from dompromise import limits
from dompromise.model.attributes import Attributes, matches, reservation_order
from dompromise.reservations.book import LoadedArrays, SnapshotPart, pack_text, unpack_text

Int32s = npt.NDArray[np.int32]


class VariantRegistry:
    def __init__(self, base_count: int, node_count: int):
        self.base_count = base_count
        # Each variant costs a position at every node: both limits bound memory.
        self.limit = min(limits.VARIANTS_MAX, limits.VARIANT_POSITIONS_MAX // node_count)
        self._parent: list[int] = []
        self._attributes: list[Attributes] = []
        self._row: dict[tuple[int, Attributes], int] = {}
        # Per parent: its variant rows in reservation order, with their sort keys.
        self._ordered: dict[int, list[tuple[tuple[str, str, int], int]]] = {}
        self._has_variants = np.zeros(base_count, dtype=bool)
        self._parent_array = np.zeros(0, dtype=np.int32)  # parents as an array, rebuilt when stale

    @property
    def count(self) -> int:
        return len(self._parent)

    @property
    def free(self) -> int:
        return self.limit - len(self._parent)

    def row_of(self, parent: int, attributes: Attributes) -> int | None:
        return self._row.get((parent, attributes))

    def add(self, parent: int, attributes: Attributes) -> int:
        """Registers a new variant; returns its row (the next one)."""
        assert 0 <= parent < self.base_count, "a variant's parent is a network SKU"
        assert self.free > 0, "the caller checks the limit"
        return self._append(parent, attributes)

    def _append(self, parent: int, attributes: Attributes) -> int:
        assert attributes and (parent, attributes) not in self._row, "a new, attributed variant"
        row = self.base_count + len(self._parent)
        self._parent.append(parent)
        self._attributes.append(attributes)
        self._row[(parent, attributes)] = row
        bisect.insort(self._ordered.setdefault(parent, []), (reservation_order(attributes, row), row))
        self._has_variants[parent] = True
        return row

    def any_variants(self, sku_index: Int32s) -> bool:
        """Whether any of these rows (-1 for unknown) is a SKU with variants."""
        if not self._parent:
            return False
        parents = sku_index[(sku_index >= 0) & (sku_index < self.base_count)]
        return bool(self._has_variants[parents].any())

    def rows_for(self, parent: int, required: Attributes = ()) -> list[int]:
        """The rows a parent's figure sums, in reservation order: its own
        (unattributed) row then its variants; with required values only the
        variants carrying them."""
        variants = [row for _, row in self._ordered.get(parent, ())]
        if not required:
            return [parent, *variants]
        return [row for row in variants if matches(self._attributes[row - self.base_count], required)]

    def attributes_of(self, row: int) -> Attributes:
        return self._attributes[row - self.base_count] if row >= self.base_count else ()

    def parent_of_row(self, row: int) -> int:
        return self._parent[row - self.base_count] if row >= self.base_count else row

    def parents_of(self, rows: Int32s) -> Int32s:
        """Each row's network SKU index (a network SKU is its own parent)."""
        if not self._parent:
            return rows
        if len(self._parent_array) != len(self._parent):
            self._parent_array = np.array(self._parent, dtype=np.int32)
        out = rows.copy()
        variant = rows >= self.base_count
        out[variant] = self._parent_array[rows[variant] - self.base_count]
        return out

    # ---- snapshots --------------------------------------------------------

    def export(self) -> SnapshotPart:
        blob, offsets = pack_text([json.dumps(list(attributes)) for attributes in self._attributes])
        return {
            "variant_parent": np.array(self._parent, dtype=np.int64),
            "variant_attributes_blob": blob,
            "variant_attributes_offsets": offsets,
        }

    @classmethod
    def restore(cls, base_count: int, node_count: int, arrays: LoadedArrays) -> VariantRegistry:
        registry = cls(base_count, node_count)
        if "variant_parent" not in arrays:  # a snapshot from before variants
            return registry
        texts = unpack_text(arrays["variant_attributes_blob"], arrays["variant_attributes_offsets"])
        for parent, text in zip(arrays["variant_parent"].tolist(), texts):
            # Not add(): a limit lowered since the snapshot must not lose variants.
            registry._append(parent, tuple(tuple(pair) for pair in json.loads(text)))
        return registry
