"""Stub of the compiled inventory/_records.pyx: reserve records applied from their log bytes."""

from typing_extensions import disjoint_base

from dompromise._core.state import Core
from dompromise.inventory.variants import VariantRegistry
from dompromise.reservations.book import Outcome, ReservationBook, ReservationView

FAST_LINES: int

@disjoint_base
class ReserveRecords:
    def __init__(
        self,
        core: Core,
        sku_index: dict[str, int],
        node_index: dict[str, int],
        sku_ids: list[str],
        node_ids: list[str],
        book: ReservationBook,
        variants: VariantRegistry,
        outcome_type: type[Outcome],
        view_type: type[ReservationView],
    ) -> None: ...
    def replay(self, payload: bytes, log_position: int, log_time_ns: int = -1) -> bool: ...
    def apply(self, payload: bytes, log_position: int, log_time_ns: int = -1) -> Outcome | None: ...
