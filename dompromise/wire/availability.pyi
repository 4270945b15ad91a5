"""Type stub for the compiled dompromise/wire/availability.pyx (checked by tests/core/test_core_typing.py)."""

from collections.abc import Iterable, Sequence
from typing import final

import numpy as np
import numpy.typing as npt

from dompromise._core.state import Core

BUFFER_KEPT_BYTES_MAX: int

def encode_strings(field_number: int, strings: Iterable[str]) -> bytes: ...

@final
class AvailabilityWriter:
    @property
    def capacity(self) -> int: ...
    def write(
        self,
        core: Core,
        sku_index: dict[str, int],
        sku_ids: Sequence[str],
        nodes: npt.NDArray[np.int32],
        node_ids_field: bytes,
        base_units: npt.NDArray[np.int32],
        has_variants: npt.NDArray[np.bool_] | None,
        with_cells: bool,
        with_buckets: bool,
        id_length_max: int,
    ) -> bytes | None: ...
