"""Availability answered as GetAvailabilityResponse wire bytes, written from the core's arrays.

The plain read (base units, no phasing, channel or variants) is the hot one: dompromise.wire's
AvailabilityWriter writes its answer in one pass over the requested ids, with nothing built per
SKU. An `EncodedReads` is one part of an Engine, like a `Reads` (reads.py): the engine builds it
anew with its other parts after every catalog or network change (Engine._wire), so what it derives
from the catalog (base units by row) and the network (the default columns' encoded ids) is never
stale; the columns also follow node status changes (SellableNodes replaces its index).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np
import numpy.typing as npt

from dompromise import _core
from dompromise.inventory.sellable import SellableNodes
from dompromise.inventory.variants import VariantRegistry
from dompromise.model.network import Sku
from dompromise.wire.availability import AvailabilityWriter, encode_strings

Int32s = npt.NDArray[np.int32]
NODE_IDS_FIELD = 1  # GetAvailabilityResponse.node_ids


class EncodedReads:
    def __init__(
        self,
        core: _core.Core,
        sku_index: dict[str, int],
        row_skus: list[Sku | None],
        node_ids_of: Callable[[Iterable[int]], list[str]],
        variants: VariantRegistry,
        sellable: SellableNodes,
    ):
        self._core = core
        self._sku_index = sku_index
        self._row_skus = row_skus
        self._node_ids_of = node_ids_of  # Engine.node_ids: the ids of indexed nodes, as every answer names them
        self._variants = variants
        self._sellable = sellable
        self._writer = AvailabilityWriter()
        self._base_units: Int32s | None = None  # by row, built on first use (a pass over the catalogue)
        # The default selection (SellableNodes.index) whose ids `_sellable_field` holds, encoded.
        self._sellable_index: Int32s | None = None
        self._sellable_field = b""

    def availability_bytes(
        self,
        sku_ids: Sequence[str],
        node_index: Int32s,
        with_cells: bool = True,
        with_buckets: bool = False,
        id_length_max: int = 0,
    ) -> bytes | None:
        """GetAvailabilityResponse bytes of these SKUs over these nodes (columns), in base units:
        the answer Reads.availability gives, encoded. with_cells: node_ids and each item's
        node_available_quantities (BASIC view); with_buckets too: every bucket (FULL view).

        None when this path does not answer: a SKU with variants (its figures sum several rows),
        or, when id_length_max > 0, an id that is empty, longer, unprintable or holds a space.
        """
        base_units = self._base_units
        if base_units is None:
            base_units = self._base_units = np.fromiter(
                (0 if sku is None else int(sku.base_unit) for sku in self._row_skus),
                dtype=np.int32,
                count=len(self._row_skus),
            )
        if not with_cells:
            node_ids_field = b""
        elif node_index is self._sellable_index:  # the default columns, as the last call had them
            node_ids_field = self._sellable_field
        else:
            node_ids_field = self._node_ids_field(node_index)
        return self._writer.write(
            self._core,
            self._sku_index,
            sku_ids,
            node_index,
            node_ids_field,
            base_units,
            self._variants.has_variants_by_row(),
            with_cells,
            with_buckets and with_cells,
            id_length_max,
        )

    def _node_ids_field(self, node_index: Int32s) -> bytes:
        """The columns' ids as the answer's node_ids field: encoded once for the default selection."""
        if node_index is not self._sellable.index:
            return encode_strings(NODE_IDS_FIELD, self._node_ids_of(node_index))
        if self._sellable_index is not node_index:
            self._sellable_field = encode_strings(NODE_IDS_FIELD, self._node_ids_of(node_index))
            self._sellable_index = node_index
        return self._sellable_field
