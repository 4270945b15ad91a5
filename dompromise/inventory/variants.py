"""The variant registry: which core SKU rows stand for (SKU, attribute values).

A variant is a SKU row of the core appended at run time, like a SKU added to
the catalog; the two kinds of rows interleave in log order (a SKU added after
a variant gets the next row), so the registry keeps, per row, the catalog row
it belongs to (a catalog SKU's row is its own parent). Variants are numbered
in log order (the engine creates them while applying a record), so every
replica numbers them alike. Pure Python and numpy; snapshots carry it beside
the core's arrays.
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
        # Each variant costs a position at every node: both limits bound memory.
        self.limit = min(limits.VARIANTS_MAX, limits.VARIANT_POSITIONS_MAX // node_count)
        self.row_count = 0  # core SKU rows, catalog SKUs' and variants'
        self._parent: list[int] = []  # by variant number
        self._variant_row: list[int] = []  # by variant number
        self._attributes: dict[int, Attributes] = {}  # by variant row
        self._row: dict[tuple[int, Attributes], int] = {}
        # Per parent: its variant rows in reservation order, with their sort keys.
        self._ordered: dict[int, list[tuple[tuple[str, str, int], int]]] = {}
        # By row, room for more (grown like the core's tables): parent row, whether a parent has variants.
        self._row_parent = np.zeros(0, dtype=np.int32)
        self._has_variants = np.zeros(0, dtype=bool)
        self.add_sku_rows(base_count)

    @property
    def count(self) -> int:
        return len(self._parent)

    @property
    def free(self) -> int:
        return self.limit - len(self._parent)

    def add_sku_rows(self, count: int) -> int:
        """Rows for `count` catalog SKUs appended to the core; returns the first."""
        first = self.row_count
        self._grow(first + count)
        self._row_parent[first : first + count] = np.arange(first, first + count, dtype=np.int32)
        self.row_count = first + count
        return first

    def _grow(self, rows: int) -> None:
        if rows <= len(self._row_parent):
            return
        capacity = max(rows, len(self._row_parent) + len(self._row_parent) // 8 + 16)
        parent = np.zeros(capacity, dtype=np.int32)
        parent[: self.row_count] = self._row_parent[: self.row_count]
        has = np.zeros(capacity, dtype=bool)
        has[: self.row_count] = self._has_variants[: self.row_count]
        self._row_parent, self._has_variants = parent, has

    def is_variant(self, row: int) -> bool:
        return row in self._attributes

    def row_of(self, parent: int, attributes: Attributes) -> int | None:
        return self._row.get((parent, attributes))

    def add(self, parent: int, attributes: Attributes) -> int:
        """Registers a new variant; returns its row (the next one)."""
        assert 0 <= parent < self.row_count and not self.is_variant(parent), "a variant's parent is a catalog SKU"
        assert self.free > 0, "the caller checks the limit"
        return self._append(parent, attributes, self.row_count)

    def _append(self, parent: int, attributes: Attributes, row: int) -> int:
        assert attributes and (parent, attributes) not in self._row, "a new, attributed variant"
        assert row >= self.row_count, "variant rows are appended"
        self._grow(row + 1)
        self.row_count = row + 1
        self._parent.append(parent)
        self._variant_row.append(row)
        self._attributes[row] = attributes
        self._row[(parent, attributes)] = row
        self._row_parent[row] = parent
        bisect.insort(self._ordered.setdefault(parent, []), (reservation_order(attributes, row), row))
        self._has_variants[parent] = True
        return row

    def any_variants(self, sku_index: Int32s) -> bool:
        """Whether any of these rows (-1 for unknown) is a SKU with variants."""
        if not self._parent:
            return False
        rows = sku_index[(sku_index >= 0) & (sku_index < self.row_count)]
        return bool(self._has_variants[rows].any())

    def rows_for(self, parent: int, required: Attributes = ()) -> list[int]:
        """The rows a parent's figure sums, in reservation order: its own
        (unattributed) row then its variants; with required values only the
        variants carrying them."""
        variants = [row for _, row in self._ordered.get(parent, ())]
        if not required:
            return [parent, *variants]
        return [row for row in variants if matches(self._attributes[row], required)]

    def attributes_of(self, row: int) -> Attributes:
        return self._attributes.get(row, ())

    def parent_of_row(self, row: int) -> int:
        return int(self._row_parent[row]) if self._parent else row

    def parents_of(self, rows: Int32s) -> Int32s:
        """Each row's catalog SKU row (a catalog SKU is its own parent)."""
        if not self._parent:
            return rows
        return self._row_parent[rows]

    def has_variants(self, row: int) -> bool:
        """Whether the row (a catalog SKU's) has variants: a line of it is planned over its rows."""
        return row < self.row_count and bool(self._has_variants[row])

    def any_variant_rows(self, rows: list[int]) -> bool:
        return bool(self._parent) and any(row in self._attributes for row in rows)

    # ---- snapshots --------------------------------------------------------

    def export(self) -> SnapshotPart:
        blob, offsets = pack_text([json.dumps(list(self._attributes[row])) for row in self._variant_row])
        return {
            "variant_parent": np.array(self._parent, dtype=np.int64),
            "variant_row": np.array(self._variant_row, dtype=np.int64),
            "variant_attributes_blob": blob,
            "variant_attributes_offsets": offsets,
        }

    @classmethod
    def restore(cls, row_count: int, node_count: int, arrays: LoadedArrays) -> VariantRegistry:
        """The registry of a snapshot whose core has `row_count` SKU rows. A snapshot from
        before catalog changes has no variant_row: its variants follow the catalog's rows."""
        if "variant_parent" not in arrays:  # a snapshot from before variants
            return cls(row_count, node_count)
        parents = arrays["variant_parent"].tolist()
        if "variant_row" in arrays:
            rows = arrays["variant_row"].tolist()
        else:
            rows = list(range(row_count - len(parents), row_count))
        texts = unpack_text(arrays["variant_attributes_blob"], arrays["variant_attributes_offsets"])
        registry = cls(0, node_count)
        for parent, row, text in zip(parents, rows, texts):
            if row > registry.row_count:
                registry.add_sku_rows(row - registry.row_count)
            # Not add(): a limit lowered since the snapshot must not lose variants.
            registry._append(parent, tuple(tuple(pair) for pair in json.loads(text)), row)
        if row_count > registry.row_count:
            registry.add_sku_rows(row_count - registry.row_count)
        return registry
