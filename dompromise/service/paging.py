"""Page tokens (AIP-158): opaque, and bound to the listing they came from."""

from __future__ import annotations

import base64
import json

from dompromise import limits
from dompromise.errors import FieldViolation, InvalidArgumentError


def page(page_size: int, page_token: str, total: int, scope: str) -> tuple[int, int, str]:
    """Start and stop of the page, and the token of the next one ('' on the last).

    The token carries the offset and the listing's scope (its filter), so a
    token from one listing cannot silently page another.
    """
    if page_size < 0:
        raise InvalidArgumentError([FieldViolation("page_size", "must be >= 0")])
    size = min(page_size or limits.PAGE_SIZE_DEFAULT, limits.PAGE_SIZE_MAX)
    start = _decode_token(page_token, scope) if page_token else 0
    stop = min(start + size, total)
    next_token = _encode_token(stop, scope) if stop < total else ""
    return start, stop, next_token


def _encode_token(offset: int, scope: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset, "s": scope}).encode()).decode()


def _decode_token(token: str, scope: str) -> int:
    try:
        fields = json.loads(base64.urlsafe_b64decode(token.encode()))
        offset, token_scope = fields["o"], fields["s"]
    except (ValueError, KeyError, TypeError, RecursionError):
        raise InvalidArgumentError([FieldViolation("page_token", "not a token this service issued")]) from None
    if not isinstance(offset, int) or isinstance(offset, bool):
        raise InvalidArgumentError([FieldViolation("page_token", "not a token this service issued")])
    if token_scope != scope or offset < 0:
        raise InvalidArgumentError([FieldViolation("page_token", "token belongs to another listing")])
    return offset
