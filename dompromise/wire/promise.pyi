"""Type stubs for the compiled PromiseDeliveryResponse encoder (dompromise/wire/promise.pyx).

The encoder reads a promise answer's objects by attribute (dompromise/promise/types.py's Option, Shipment,
PlannedLine, Candidate): wire stands below the engines and imports none of them, so their shapes are
written here as protocols.
"""

from collections.abc import Callable, Sequence
from typing import Protocol

from dompromise._core.promise import PromiseScan

class _PlannedLine(Protocol):
    @property
    def sku_id(self) -> str: ...
    @property
    def quantity(self) -> int: ...
    @property
    def ready_ns(self) -> int: ...
    @property
    def source_node_id(self) -> str: ...
    @property
    def source_ready_ns(self) -> int: ...

class _Shipment(Protocol):
    @property
    def node_id(self) -> str: ...
    @property
    def method(self) -> int: ...
    @property
    def service(self) -> str: ...
    @property
    def lines(self) -> Sequence[_PlannedLine]: ...
    @property
    def earliest_ns(self) -> int: ...
    @property
    def latest_ns(self) -> int: ...
    @property
    def departure_ns(self) -> int | None: ...
    @property
    def cost_minor(self) -> int: ...
    @property
    def via_node_id(self) -> str: ...

class _Option(Protocol):
    @property
    def method(self) -> int: ...
    @property
    def shipments(self) -> Sequence[_Shipment]: ...
    @property
    def fill_percent(self) -> float: ...
    @property
    def earliest_ns(self) -> int: ...
    @property
    def latest_ns(self) -> int: ...
    @property
    def cost_minor(self) -> int: ...
    @property
    def score(self) -> float: ...
    @property
    def short_lines(self) -> Sequence[tuple[str, int]]: ...

class _Candidate(Protocol):
    @property
    def node_id(self) -> str: ...
    @property
    def reason(self) -> int: ...
    @property
    def detail(self) -> str: ...

def promise_response(
    options: Sequence[_Option],
    candidates: Sequence[_Candidate],
    zone_id: str,
    as_of_ns: int,
    log_position: int,
    currency: str,
    sign: Callable[[str], str] | None,
    tokens: _Tokens | None = None,
) -> bytes: ...

class _Route(Protocol):
    @property
    def service(self) -> str: ...
    @property
    def via_node_id(self) -> str: ...

class _Tokens(Protocol):
    @property
    def key(self) -> bytes: ...
    def nonce(self) -> str: ...
    @property
    def tail(self) -> bytes: ...

def promise_response_rows(
    scan: PromiseScan,
    kept: Sequence[int | _Option],
    sku_ids: list[str],
    node_ids: list[str],
    routes: Sequence[_Route],
    candidates: Sequence[_Candidate],
    zone_id: str,
    as_of_ns: int,
    log_position: int,
    currency: str,
    tokens: _Tokens | None,
) -> bytes: ...
