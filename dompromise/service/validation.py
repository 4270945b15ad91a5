"""Request checks at the edge, against dompromise.limits.

Each check collects FieldViolations with the proto field path, so a client
learns every bad field of a request at once. Over-limit batches raise
LimitExceededError (RESOURCE_EXHAUSTED) before anything is looked at.
"""

from __future__ import annotations

from collections.abc import Sequence, Sized
from typing import Protocol

from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp

from dompromise import limits
from dompromise.errors import FieldViolation, InvalidArgumentError, LimitExceededError
from dompromise.inventory.engine import Engine

# How many bad fields one error lists; a client with 10,000 bad ids needs the first few.
VIOLATIONS_LISTED_MAX = 20
NANOS_PER_SECOND = 1_000_000_000


class QuantityLine(Protocol):
    """A request line with a quantity in a unit (OrderLine, ReservationLine)."""

    @property
    def sku_id(self) -> str: ...
    @property
    def unit(self) -> str: ...
    @property
    def quantity(self) -> int: ...


def check_count(values: Sized, field: str, limit_name: str, minimum: int = 0) -> None:
    """Raises LimitExceededError if there are more values than the named limit."""
    limit: int = getattr(limits, limit_name)
    if len(values) > limit:
        raise LimitExceededError(field, limit_name, limit, len(values))
    if len(values) < minimum:
        raise InvalidArgumentError([FieldViolation(field, f"at least {minimum} required")])


def id_violations(values: Sequence[str], field: str) -> list[FieldViolation]:
    """Violations for ids that are empty, longer than ID_LENGTH_MAX, or not printable without spaces."""
    longest = limits.ID_LENGTH_MAX
    # Fast path: C-level len() and isprintable() for the common all-good case.
    if all(0 < len(value) <= longest and value.isprintable() and " " not in value for value in values):
        return []
    violations: list[FieldViolation] = []
    for position, value in enumerate(values):
        problem = _id_problem(value, longest)
        if problem:
            violations.append(FieldViolation(f"{field}[{position}]", problem))
        if len(violations) >= VIOLATIONS_LISTED_MAX:
            break
    return violations


def _id_problem(value: str, longest: int) -> str:
    if not value:
        return "must not be empty"
    if len(value) > longest:
        return f"longer than {longest} characters"
    if not value.isprintable() or " " in value:
        return "must be printable, without spaces"
    return ""


def id_violation(value: str, field: str) -> list[FieldViolation]:
    """Violations of one id field (empty, or longer than ID_LENGTH_MAX)."""
    return [FieldViolation(field, v.description) for v in id_violations([value], field)]


def raise_if_any(violations: list[FieldViolation]) -> None:
    if violations:
        raise InvalidArgumentError(violations[:VIOLATIONS_LISTED_MAX])


def base_quantities(engine: Engine, lines: Sequence[QuantityLine], field: str = "lines") -> list[int]:
    """Each line's quantity in base units: lines with a `unit` are converted here, at
    the edge (INVALID_ARGUMENT naming lines[i].unit for a SKU without that unit, and
    lines[i].quantity past QUANTITY_MAX base units). An unknown SKU keeps its
    quantity: the caller answers it as not found."""
    if not any(line.unit for line in lines):
        return [line.quantity for line in lines]
    quantities: list[int] = []
    violations: list[FieldViolation] = []
    for position, line in enumerate(lines):
        size = engine.unit_size(line.sku_id, line.unit) if line.unit else 1
        if size == 0:
            violations.append(
                FieldViolation(f"{field}[{position}].unit", f"SKU {line.sku_id!r} has no unit {line.unit!r}")
            )
        elif size is not None and line.quantity * size > limits.QUANTITY_MAX:
            violations.append(
                FieldViolation(
                    f"{field}[{position}].quantity",
                    f"{line.quantity} {line.unit} is more than {limits.QUANTITY_MAX} base units",
                )
            )
        quantities.append(line.quantity * (size or 1))
    raise_if_any(violations)
    return quantities


def time_violations(timestamp: Timestamp, field: str) -> list[FieldViolation]:
    """Violations of a Timestamp a request names: after 1970, before 2200 (TIME_SECONDS_MAX), nanos in range.

    Checked before ToNanoseconds, which raises ValueError outside years 1-9999."""
    if not 0 <= timestamp.nanos < NANOS_PER_SECOND:
        return [FieldViolation(field, f"nanos must be 0 to {NANOS_PER_SECOND - 1}")]
    if not 0 < timestamp.seconds < limits.TIME_SECONDS_MAX:
        return [FieldViolation(field, "must be after 1970 and before 2200")]
    return []


def duration_violations(duration: Duration, field: str, seconds_min: int, seconds_max: int) -> list[FieldViolation]:
    """Violations of a Duration a request names: from `seconds_min` to `seconds_max`, nanos of the same sign."""
    if not -NANOS_PER_SECOND < duration.nanos < NANOS_PER_SECOND or duration.seconds * duration.nanos < 0:
        return [FieldViolation(field, "nanos must be within a second, of the sign of seconds")]
    total_ns = duration.seconds * NANOS_PER_SECOND + duration.nanos
    if not seconds_min * NANOS_PER_SECOND <= total_ns <= seconds_max * NANOS_PER_SECOND:
        return [FieldViolation(field, f"must be {seconds_min} to {seconds_max} seconds")]
    return []


def timestamp_ns(timestamp: Timestamp) -> int:
    """A checked Timestamp (time_violations) in nanoseconds since the epoch."""
    return timestamp.seconds * NANOS_PER_SECOND + timestamp.nanos


def duration_ns(duration: Duration) -> int:
    """A checked Duration (duration_violations) in nanoseconds."""
    return duration.seconds * NANOS_PER_SECOND + duration.nanos
