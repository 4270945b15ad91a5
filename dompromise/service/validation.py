"""Request checks at the edge, against dompromise.limits.

Each check collects FieldViolations with the proto field path, so a client
learns every bad field of a request at once. Over-limit batches raise
LimitExceededError (RESOURCE_EXHAUSTED) before anything is looked at.
"""

from __future__ import annotations

from collections.abc import Sequence, Sized
from typing import Protocol

from dompromise import limits
from dompromise.errors import FieldViolation, InvalidArgumentError, LimitExceededError
from dompromise.inventory.engine import Engine

# How many bad fields one error lists; a client with 10,000 bad ids needs the first few.
VIOLATIONS_LISTED_MAX = 20


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
