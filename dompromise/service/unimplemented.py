"""RPCs whose issue is still open: they answer UNIMPLEMENTED, never a fake answer."""

from __future__ import annotations

import grpc


async def abort_unimplemented(context, method: str, tracked_by: str) -> None:
    await context.abort(grpc.StatusCode.UNIMPLEMENTED, f"{method} is not implemented yet ({tracked_by})")
