"""JSON in and out: requests from query strings and bodies (proto3 JSON mapping), answers and errors to JSON.

Errors are google.rpc.Status in its JSON form ({"code": 3, "message": ...,
"details": [{"@type": ...}]}, as grpc-gateway writes it) under the HTTP code
AIP-193 gives each gRPC code. A request that cannot be read (not JSON, a
field of the wrong type, an unknown field) is INVALID_ARGUMENT with a
BadRequest naming the field, as the gRPC side answers bad input.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

import grpc
from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import DecodeError, Message
from google.rpc import code_pb2, status_pb2

from dompromise.errors import FieldViolation, InvalidArgumentError
from dompromise.http.fast_json import response_bytes
from dompromise.service.errors import to_status

# AIP-193: the HTTP code of each google.rpc.Code.
HTTP_STATUS_OF_CODE = {
    code_pb2.OK: 200,
    code_pb2.CANCELLED: 499,
    code_pb2.UNKNOWN: 500,
    code_pb2.INVALID_ARGUMENT: 400,
    code_pb2.DEADLINE_EXCEEDED: 504,
    code_pb2.NOT_FOUND: 404,
    code_pb2.ALREADY_EXISTS: 409,
    code_pb2.PERMISSION_DENIED: 403,
    code_pb2.RESOURCE_EXHAUSTED: 429,
    code_pb2.FAILED_PRECONDITION: 400,
    code_pb2.ABORTED: 409,
    code_pb2.OUT_OF_RANGE: 400,
    code_pb2.UNIMPLEMENTED: 501,
    code_pb2.INTERNAL: 500,
    code_pb2.UNAVAILABLE: 503,
    code_pb2.DATA_LOSS: 500,
    code_pb2.UNAUTHENTICATED: 401,
}
STATUS_DETAILS_KEY = "grpc-status-details-bin"
# json_format's ParseError text: the chain of fields it was parsing, an unknown field, the path it stood at.
PARSING_FIELD = re.compile(r"Failed to parse (\w+) field")
UNKNOWN_FIELD = re.compile(r'has no field named "([^"]+)"')
AT_PATH = re.compile(r" at \"?[A-Za-z]\w*((?:\.\w+|\[\d+\])+)\"?\.?")
CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")
TRUE_WORDS = ("true", "1")
FALSE_WORDS = ("false", "0")


def snake(name: str) -> str:
    """A JSON (lowerCamelCase) field name as the proto names it: "skuIds" -> "sku_ids"."""
    return CAMEL.sub(lambda m: "_" + m.group(1).lower(), name)


def status_json(status: status_pb2.Status) -> tuple[int, bytes]:
    """The HTTP code and JSON body of a google.rpc.Status."""
    http_status = HTTP_STATUS_OF_CODE.get(status.code, 500)
    return http_status, json.dumps(json_format.MessageToDict(status)).encode()


def status_of_grpc(status: grpc.Status) -> status_pb2.Status:
    """The google.rpc.Status a servicer aborted with (its packed details, or the bare code and message)."""
    for key, value in status.trailing_metadata or ():
        if key == STATUS_DETAILS_KEY and isinstance(value, bytes):
            try:
                return status_pb2.Status.FromString(value)
            except DecodeError:
                break
    return status_pb2.Status(code=status.code.value[0], message=status.details or "")


def status_of_error(error: InvalidArgumentError) -> status_pb2.Status:
    return status_of_grpc(to_status(error))


def field_of_parse_error(text: str) -> str:
    """The request field json_format could not read, as a path ("lines[0].quantity"), from its message."""
    unknown = UNKNOWN_FIELD.search(text)
    at = AT_PATH.search(text)
    if at is not None:
        path = at.group(1).lstrip(".")
        if unknown is not None and not path.endswith(unknown.group(1)):
            path = f"{path}.{unknown.group(1)}"
        elif unknown is None:
            chain = PARSING_FIELD.findall(text)
            if chain and not path.split(".")[-1].startswith(chain[-1]):
                path = f"{path}.{chain[-1]}"
        return ".".join(snake(part) for part in path.split("."))
    parts = PARSING_FIELD.findall(text)
    if unknown is not None:
        parts.append(unknown.group(1))
    return ".".join(snake(part) for part in parts) or "body"


def bad_request(field: str, description: str) -> InvalidArgumentError:
    return InvalidArgumentError([FieldViolation(field, description)])


def message_from_dict(document: Any, message: Message) -> None:
    """Fills `message` from a decoded JSON document (proto3 JSON mapping; snake_case names accepted too)."""
    if not isinstance(document, dict):
        raise bad_request("body", "must be a JSON object")
    try:
        json_format.ParseDict(document, message)
    except json_format.ParseError as error:
        raise bad_request(field_of_parse_error(str(error)), str(error).split("\n")[0]) from None


def message_from_body(body: bytes, message: Message) -> None:
    if not body.strip():
        return
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise bad_request("body", f"not JSON: {error}") from None
    message_from_dict(document, message)


def _scalar(field: FieldDescriptor, text: str, name: str) -> Any:
    """A query parameter's text as the JSON value json_format expects for `field`."""
    if field.type == FieldDescriptor.TYPE_BOOL:
        if text.lower() in TRUE_WORDS:
            return True
        if text.lower() in FALSE_WORDS:
            return False
        raise bad_request(name, f"{text!r} is not true or false")
    if field.type == FieldDescriptor.TYPE_ENUM and text.lstrip("-").isdigit():
        return int(text)
    return text  # numbers as strings are proto3 JSON; json_format checks them


def _field(descriptor: Descriptor, name: str) -> FieldDescriptor | None:
    return descriptor.fields_by_name.get(name) or descriptor.fields_by_camelcase_name.get(name)


def query_document(descriptor: Any, items: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Query parameters as a JSON document: `sku_ids=A&sku_ids=B`, `phasing.bucket_count=3`, `page_size=5`.

    Repeated fields repeat the parameter; nested fields are dotted paths; names are
    the proto's or their JSON (lowerCamelCase) form. A map field is `field[key]=value`.
    """
    document: dict[str, Any] = {}
    for key, text in items:
        map_key = None
        if key.endswith("]") and "[" in key:
            key, map_key = key[:-1].split("[", 1)
        target, here = document, descriptor
        parts = key.split(".")
        for depth, part in enumerate(parts):
            field = _field(here, part)
            name = ".".join(snake(p) for p in parts[: depth + 1])
            if field is None:
                raise bad_request(name, f"no such field in {here.name}")
            last = depth == len(parts) - 1
            if not last:
                if field.message_type is None or field.is_repeated:
                    raise bad_request(name, "not a message field: no dotted path through it")
                target = target.setdefault(field.name, {})
                here = field.message_type
                continue
            if map_key is not None:
                if field.message_type is None or not field.message_type.GetOptions().map_entry:
                    raise bad_request(name, "not a map field: no [key]")
                value_field = field.message_type.fields_by_name["value"]
                target.setdefault(field.name, {})[map_key] = _scalar(value_field, text, f"{name}[{map_key}]")
            elif field.message_type is not None and field.message_type.full_name not in WELL_KNOWN_STRINGS:
                raise bad_request(name, "a message: name its fields (field.subfield=...)")
            elif field.is_repeated:
                target.setdefault(field.name, []).append(_scalar(field, text, name))
            else:
                if field.name in target:
                    raise bad_request(name, "given twice")
                target[field.name] = _scalar(field, text, name)
    return document


# Well-known messages whose JSON form is a string (a timestamp, a duration): they take one query parameter.
WELL_KNOWN_STRINGS = ("google.protobuf.Timestamp", "google.protobuf.Duration", "google.protobuf.FieldMask")


def fill_path_fields(message: Message, path_values: Mapping[str, str]) -> None:
    """Sets the request fields the path names (strings: the ids)."""
    for name, value in path_values.items():
        setattr(message, name, value)


def response_json(message: Message) -> bytes:
    """An answer in the proto3 JSON mapping (lowerCamelCase names, int64 as strings, defaults left out), as
    json_format writes it (fast_json.py: the same bytes without its per-field walk)."""
    return response_bytes(message)
