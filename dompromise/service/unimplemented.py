"""RPCs whose issue is still open: they answer UNIMPLEMENTED, never a fake answer."""

from __future__ import annotations

from typing import NoReturn, TypeVar

import grpc
import grpc.aio

_Request = TypeVar("_Request")
_Response = TypeVar("_Response")


async def abort_unimplemented(
    context: grpc.aio.ServicerContext[_Request, _Response], method: str, tracked_by: str
) -> NoReturn:
    await context.abort(grpc.StatusCode.UNIMPLEMENTED, f"{method} is not implemented yet ({tracked_by})")
