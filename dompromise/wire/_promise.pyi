"""Type stubs for the compiled PromiseDeliveryResponse encoder (dompromise/wire/_promise.pyx)."""

from collections.abc import Callable, Sequence

from dompromise.promise.types import Candidate, Option

def promise_response(
    options: Sequence[Option],
    candidates: Sequence[Candidate],
    zone_id: str,
    as_of_ns: int,
    log_position: int,
    currency: str,
    sign: Callable[[str], str] | None,
) -> bytes: ...
