"""ReserveInventory from a promise token: reserve exactly the promised plan, or fail
ABORTED with a fresh alternative, so checkout never shows one thing and holds another.

The token's holds become one all-or-nothing Reserve record (lines planned
from future supply as backorders due when it arrives). A token reserves
once, for its whole validity: the record carries a digest of the token, and
applying it (in log order, so every replica agrees) refuses a token that
already reserved, whatever became of that reservation since (released,
expired): ALREADY_EXISTS naming the first reservation. A retry with the
first request_id gets the first answer, as for any request. If the plan no longer
holds (stock went to someone else, the token expired), nothing is reserved
and the error carries a new PromiseDeliveryResponse for the same order,
computed now, whose options have tokens of their own.
"""

from __future__ import annotations

import hashlib

from dompromise.errors import AbortedError, FieldViolation, InvalidArgumentError
from dompromise.internal.v1 import log_pb2
from dompromise.promise.token import TokenContent, TokenError
from dompromise.promise.types import PromiseRequest
from dompromise.service import ids
from dompromise.service.convert import attribute_set
from dompromise.service.promise import Promiser, request_options, required_attributes_of
from dompromise.v1 import promise_pb2, reservation_pb2


def token_content(promiser: Promiser, request: reservation_pb2.ReserveInventoryRequest, now_ns: int) -> TokenContent:
    """The token's plan; INVALID_ARGUMENT for a forged or malformed token (or one with
    lines beside it); ABORTED with a fresh alternative for an expired one."""
    if request.lines:
        raise InvalidArgumentError([FieldViolation("lines", "give lines or a promise_token, not both")])
    try:
        content = promiser.signer.verify(request.promise_token)
    except TokenError as error:
        raise InvalidArgumentError([FieldViolation("promise_token", str(error))]) from None
    if now_ns > content.expire_ns:
        raise AbortedError(
            "PROMISE_EXPIRED",
            "the promise token has expired; a fresh promise is attached",
            fresh_alternative(promiser, content, now_ns),
        )
    return content


def reserve_record(
    promiser: Promiser, content: TokenContent, request: reservation_pb2.ReserveInventoryRequest, ttl_ns: int
) -> log_pb2.LogRecord:
    """One all-or-nothing Reserve of exactly the planned holds, through the channel
    view the promise was made through (so its protection holds as it did for the plan)."""
    holds = content.holds
    record = log_pb2.LogRecord(
        request_id=request.request_id,
        id_nonce=ids.id_nonce(),
        reserve=log_pb2.Reserve(
            sku_ids=[h.sku_id for h in holds],
            node_ids=[h.node_id for h in holds],
            quantities=[h.quantity for h in holds],
            allow_partial=False,
            ttl_ns=ttl_ns,
            order_id=request.order_id,
            customer_id=request.customer_id,
            backorder_by_ns=[h.backorder_by_ns for h in holds] if any(h.backorder_by_ns for h in holds) else [],
            promise_token_key=token_key(request.promise_token),
            promise_token_expire_ns=content.expire_ns,
        ),
    )
    required = dict(required_attributes_of(content.options)) if content.options else {}
    if required:
        record.reserve.required_attributes.extend(attribute_set(dict(required.get(h.sku_id, ()))) for h in holds)
    view_id = content.options.get("channel_view_id", "") if content.options else ""
    if view_id:
        segment = content.options.get("customer_segment", "")
        # A view removed from the config since the promise: NOT_FOUND (channel_view_id).
        channel = promiser.engine.channel(view_id, segment)
        reserve = record.reserve
        reserve.channel_view_id, reserve.customer_segment = view_id, segment
        fixed, percent, view_safety = promiser.engine.reserve_protection(
            channel, [h.sku_id for h in holds], [h.node_id for h in holds]
        )
        reserve.protected_quantities.extend(fixed)
        reserve.protected_percents.extend(percent)
        reserve.channel_safety_stock_quantities.extend(view_safety)
    return record


def token_key(promise_token: str) -> bytes:
    """What the log remembers of a reserved token (it reserves once): a digest, not the token."""
    return hashlib.blake2b(promise_token.encode(), digest_size=16).digest()


def plan_no_longer_holds(promiser: Promiser, content: TokenContent, now_ns: int) -> AbortedError:
    return AbortedError(
        "PLAN_NO_LONGER_AVAILABLE",
        "the promised plan can no longer be reserved (nothing was); a fresh promise is attached",
        fresh_alternative(promiser, content, now_ns),
    )


def fresh_alternative(promiser: Promiser, content: TokenContent, now_ns: int) -> promise_pb2.PromiseDeliveryResponse:
    request = PromiseRequest(
        content.order_sku_ids,
        content.order_quantities,
        now_ns,
        zone_id=content.zone_id or None,
        pickup_node_id=content.pickup_node_id or None,
        **request_options(content.options),
    )
    return promiser.response(request, promiser.promise(request))
