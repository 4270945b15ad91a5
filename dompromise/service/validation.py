"""Request checks at the edge, against dompromise.limits.

Each check collects FieldViolations with the proto field path, so a client
learns every bad field of a request at once. Over-limit batches raise
LimitExceededError (RESOURCE_EXHAUSTED) before anything is looked at.
"""

from __future__ import annotations

from collections.abc import Sequence

from dompromise import limits
from dompromise.errors import FieldViolation, InvalidArgumentError, LimitExceededError

# How many bad fields one error lists; a client with 10,000 bad ids needs the first few.
VIOLATIONS_LISTED_MAX = 20


def check_count(values: Sequence, field: str, limit_name: str, minimum: int = 0) -> None:
    """Raises LimitExceededError if there are more values than the named limit."""
    limit = getattr(limits, limit_name)
    if len(values) > limit:
        raise LimitExceededError(field, limit_name, limit, len(values))
    if len(values) < minimum:
        raise InvalidArgumentError([FieldViolation(field, f"at least {minimum} required")])


def id_violations(values: Sequence[str], field: str) -> list[FieldViolation]:
    """Violations for ids that are empty or longer than ID_LENGTH_MAX."""
    longest = limits.ID_LENGTH_MAX
    # Fast path: one pass of C-level len() calls for the common all-good case.
    if all(0 < len(value) <= longest for value in values):
        return []
    violations = []
    for position, value in enumerate(values):
        if not value:
            violations.append(FieldViolation(f"{field}[{position}]", "must not be empty"))
        elif len(value) > longest:
            violations.append(FieldViolation(f"{field}[{position}]", f"longer than {longest} characters"))
        if len(violations) >= VIOLATIONS_LISTED_MAX:
            break
    return violations


def id_violation(value: str, field: str) -> list[FieldViolation]:
    """Violations of one id field (empty, or longer than ID_LENGTH_MAX)."""
    return [FieldViolation(field, v.description) for v in id_violations([value], field)]


def raise_if_any(violations: list[FieldViolation]) -> None:
    if violations:
        raise InvalidArgumentError(violations[:VIOLATIONS_LISTED_MAX])
