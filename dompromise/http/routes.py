"""The HTTP routes, read from the protos' google.api.http annotations (the descriptors, at start).

Each annotated method of the v1 services becomes one Route: its verb, its path
template ("/v1/nodes/{node_id}:setStatus"), which request fields the path
fills, and the scope a caller needs (the gRPC scope table's, service/auth.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import NamedTuple

from google.api import annotations_pb2, http_pb2
from google.protobuf.descriptor import FileDescriptor, MethodDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass

from dompromise.service import auth
from dompromise.v1 import availability_pb2, inventory_pb2, network_pb2, promise_pb2, reservation_pb2

API_FILES: tuple[FileDescriptor, ...] = (
    availability_pb2.DESCRIPTOR,
    inventory_pb2.DESCRIPTOR,
    network_pb2.DESCRIPTOR,
    promise_pb2.DESCRIPTOR,
    reservation_pb2.DESCRIPTOR,
)
PATH_VARIABLE = re.compile(r"\{(\w+)\}")


class Route(NamedTuple):
    service_name: str  # full name, "dompromise.v1.NetworkService"
    method_name: str  # "GetNode"
    verb: str  # "GET" or "POST" (the annotation's get / post / put / patch / delete)
    path: str  # the annotation's template, "/v1/nodes/{node_id}:setStatus"
    path_fields: tuple[str, ...]  # request fields the path fills, in order
    body: str  # "" (none: query parameters), "*" (the whole request)
    request_type: type[Message]
    response_type: type[Message]
    server_streaming: bool  # served as Server-Sent Events
    scope: str  # availability:read | promise | reserve | inventory:write | network:admin (service/auth.py)

    @property
    def aiohttp_path(self) -> str:
        """The template for aiohttp's router: a path variable stops at "/" and ":" (custom verbs follow it)."""
        return PATH_VARIABLE.sub(lambda m: "{" + m.group(1) + ":[^/:]+}", self.path)


def scope_of(service_name: str, method_name: str) -> str:
    """The scope the gRPC side asks for the same RPC (service/auth.py's one table)."""
    return auth.scope_of(f"/{service_name}/{method_name}")


def _routes(method: MethodDescriptor) -> list[Route]:
    """The method's route, and one per additional binding (GetAvailability: GET, and POST for big batches)."""
    options = method.GetOptions()
    if not options.HasExtension(annotations_pb2.http):
        return []
    rule: http_pb2.HttpRule = options.Extensions[annotations_pb2.http]
    return [_route(method, rule)] + [_route(method, extra) for extra in rule.additional_bindings]


def _route(method: MethodDescriptor, rule: http_pb2.HttpRule) -> Route:
    verb = rule.WhichOneof("pattern")
    assert verb in ("get", "post", "put", "patch", "delete"), f"{method.full_name}: unsupported http pattern {verb}"
    path = getattr(rule, verb)
    assert not method.client_streaming, f"{method.full_name}: a client stream has no HTTP mapping here"
    assert verb != "get" or not rule.body, f"{method.full_name}: a GET has no body"
    service_name = method.containing_service.full_name
    return Route(
        service_name=service_name,
        method_name=method.name,
        verb=verb.upper(),
        path=path,
        path_fields=tuple(PATH_VARIABLE.findall(path)),
        body=rule.body,
        request_type=GetMessageClass(method.input_type),
        response_type=GetMessageClass(method.output_type),
        server_streaming=method.server_streaming,
        scope=scope_of(service_name, method.name),
    )


def annotated_routes() -> Iterator[Route]:
    """Every annotated method of the v1 services, in proto order."""
    for file in API_FILES:
        for service in file.services_by_name.values():
            for method in service.methods:
                yield from _routes(method)
