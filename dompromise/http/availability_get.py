"""GET /v1/availability?sku_ids=... (the counter's lookup), answered without the generic route's walk.

The generic route (app.py RouteHandler) reads the query through json_format into a
GetAvailabilityRequest, the servicer fills a GetAvailabilityResponse, and fast_json.py
writes it: on a single-SKU GET those steps were twice what aiohttp itself spends. This
route takes the plain case, the query naming only SKU ids and no
x-dompromise-min-position header: it splits the raw query string itself, asks the engine
for the figures and writes the same JSON bytes (proto3 JSON mapping: lowerCamelCase
names, int64 as strings, defaults left out, fields in number order), the node-id head
made once per node selection. Anything else (other parameters, escapes, a min position,
ids the checks refuse, a breakdown over its limit) goes the generic way, whose answer or
error it is. tests/http/test_availability_get.py checks the two give the same bytes.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Sequence
from typing import Any

from aiohttp import web
from google.rpc import status_pb2

from dompromise import limits
from dompromise.errors import DompromiseError
from dompromise.http.app import (
    JSON,
    LOG_ID_HEADER,
    MIN_POSITION_HEADER,
    POSITION_HEADER,
    AuthCheck,
    AuthRejected,
    Handler,
    PositionOf,
    RouteHandler,
    error_response,
)
from dompromise.http.convert import status_of_grpc
from dompromise.inventory.engine import Engine
from dompromise.service.errors import to_status
from dompromise.v1 import availability_pb2, common_pb2

# The query names of GetAvailabilityRequest.sku_ids (the proto's and its JSON name; convert.py accepts both).
SKU_IDS_NAMES = frozenset(("sku_ids", "skuIds"))
_ITEM = availability_pb2.SkuAvailability.DESCRIPTOR


def _enum_names(field: str) -> dict[int, str]:
    enum = _ITEM.fields_by_name[field].enum_type
    assert enum is not None, field
    return {number: value.name for number, value in enum.values_by_number.items()}


_STATUS_NAMES = _enum_names("status")
_BASE_UNIT_NAMES = _enum_names("base_unit")
_NOT_FOUND_TAIL = f',"status":"{_STATUS_NAMES[common_pb2.ITEM_STATUS_SKU_NOT_FOUND]}"}}'
_OK_STATUS = f',"status":"{_STATUS_NAMES[common_pb2.ITEM_STATUS_OK]}"'


def plain_sku_ids(raw_query: str) -> list[str] | None:
    """The SKU ids of a query naming nothing else, unescaped as it came; None when it needs the generic reading.

    None too for ids the servicer refuses (validation.py id_violations: empty, too long, not printable, a space;
    here the whole query is checked at once), and for more than AVAILABILITY_SKUS_MAX: the generic route says why.
    """
    if not (raw_query.isascii() and raw_query.isprintable()):
        return None
    if "%" in raw_query or "+" in raw_query or ";" in raw_query or " " in raw_query:
        return None  # yarl's unescaping, parse_qsl's rules (a space is in no valid id)
    sku_ids = []
    for parameter in raw_query.split("&"):
        name, _, value = parameter.partition("=")
        if name not in SKU_IDS_NAMES or not 0 < len(value) <= limits.ID_LENGTH_MAX:
            return None
        sku_ids.append(value)
    return sku_ids if len(sku_ids) <= limits.AVAILABILITY_SKUS_MAX else None


def handler_over(engine: Engine) -> Callable[[RouteHandler], Handler]:
    """create_app's `handler_of`: AvailabilityGet for GetAvailability's GET, the route handler for the others."""

    def handler_of(generic: RouteHandler) -> Handler:
        route = generic.route
        if route.method_name == "GetAvailability" and route.verb == "GET" and not route.path_fields:
            return AvailabilityGet(engine, generic).handle
        return generic.handle

    return handler_of


class AvailabilityGet:
    """The GET route of GetAvailability: the plain case here, the rest through the generic handler."""

    def __init__(self, engine: Engine, generic: RouteHandler) -> None:
        assert generic.route.method_name == "GetAvailability" and generic.route.verb == "GET", generic.route
        self._engine = engine
        self._generic = generic
        self._position: PositionOf = generic.position
        self._auth: AuthCheck | None = generic.auth
        self._scope = generic.route.scope
        # The node selection the head was made for (kept: its identity is the key) and the head.
        self._head_nodes: object = None
        self._head = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        sku_ids = plain_sku_ids(request.rel_url.raw_query_string)
        if sku_ids is None or MIN_POSITION_HEADER in request.headers:
            return await self._generic.handle(request)
        if self._auth is not None:
            try:
                outcome = self._auth(request.headers.get("Authorization"), self._scope)
                if inspect.isawaitable(outcome):
                    await outcome
            except AuthRejected as rejected:
                return error_response(status_pb2.Status(code=rejected.code, message=str(rejected)))
        try:
            nodes = self._engine.node_selection()
            if len(sku_ids) * len(nodes) > limits.AVAILABILITY_BREAKDOWN_CELLS_MAX:
                return await self._generic.handle(request)  # RESOURCE_EXHAUSTED, worded by the servicer
            body = self._body(sku_ids, nodes)
        except DompromiseError as error:
            response = error_response(status_of_grpc(to_status(error)))
            response.headers.update(self._generic.headers())
            return response
        position, log_id = self._position()
        return web.Response(
            body=body, headers={"Content-Type": JSON, POSITION_HEADER: str(position), LOG_ID_HEADER: log_id}
        )

    def _body(self, sku_ids: Sequence[str], nodes: Any) -> bytes:
        """The GetAvailabilityResponse's JSON, as fast_json.py writes the servicer's answer (default view)."""
        engine = self._engine
        answer = engine.availability(sku_ids, nodes, True, False)
        width = len(nodes)
        rows = answer.sku_index.tolist()
        totals = answer.totals.tolist()
        cells = answer.cells.tolist()
        skus_by_row = engine.skus_by_row
        parts = [self._head_of(nodes)]
        for position, sku_id in enumerate(sku_ids):
            if position:
                parts.append(",")
            parts.append('{"skuId":' + _string_json(sku_id))
            row = rows[position]
            if row < 0:
                parts.append(_NOT_FOUND_TAIL)
                continue
            parts.append(_OK_STATUS)
            sku = skus_by_row[row]
            base_unit = int(sku.base_unit) if sku is not None else 0
            if base_unit:
                parts.append(',"baseUnit":' + _enum_json(_BASE_UNIT_NAMES, base_unit))
            if totals[position]:
                parts.append(f',"availableQuantity":"{totals[position]}"')
            if width:
                parts.append(
                    ',"nodeAvailableQuantities":' + _int64s_json(cells[position * width : (position + 1) * width])
                )
            parts.append("}")
        parts.append("]")
        if answer.log_position:
            parts.append(f',"logPosition":"{answer.log_position}"')
        parts.append("}")
        return "".join(parts).encode()

    def _head_of(self, nodes: Any) -> str:
        """`{"nodeIds":[...],"items":[` for this node selection, made again when the selection is another."""
        if nodes is not self._head_nodes:
            node_ids = self._engine.node_ids(nodes)
            head = '{"nodeIds":' + json.dumps(node_ids, separators=(",", ":")) + "," if node_ids else "{"
            self._head = head + '"items":['
            self._head_nodes = nodes
        return self._head


def _enum_json(names: dict[int, str], number: int) -> str:
    name = names.get(number)
    return str(number) if name is None else f'"{name}"'  # an unknown number is written as the number


def _string_json(text: str) -> str:
    """A checked id (printable ASCII, no space) as json.dumps writes it: only a quote or a backslash is escaped."""
    if '"' in text or "\\" in text:
        return json.dumps(text)
    return '"' + text + '"'


def _int64s_json(numbers: list[int]) -> str:
    """A non-empty list of int64 as proto3 JSON writes it, each a string: ["143","47","0"] (str of the list, the
    separators replaced: a third of the time of joining str of each)."""
    return '["' + str(numbers)[1:-1].replace(", ", '","') + '"]'
