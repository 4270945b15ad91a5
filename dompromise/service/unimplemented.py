"""RPCs whose issue is still open: they answer UNIMPLEMENTED, never a fake answer."""

from __future__ import annotations

import grpc

from dompromise.v1 import promise_pb2_grpc


async def abort_unimplemented(context, method: str, tracked_by: str) -> None:
    await context.abort(grpc.StatusCode.UNIMPLEMENTED, f"{method} is not implemented yet ({tracked_by})")


class PromiseServicer(promise_pb2_grpc.PromiseServiceServicer):
    async def PromiseDelivery(self, request, context):
        await abort_unimplemented(context, "PromiseDelivery", "issue 5 (promise engine)")

