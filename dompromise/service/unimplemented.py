"""RPCs whose issue is still open: they answer UNIMPLEMENTED, never a fake answer."""

from __future__ import annotations

import grpc

from dompromise.v1 import promise_pb2_grpc, reservation_pb2_grpc


async def abort_unimplemented(context, method: str, tracked_by: str) -> None:
    await context.abort(grpc.StatusCode.UNIMPLEMENTED, f"{method} is not implemented yet ({tracked_by})")


class PromiseServicer(promise_pb2_grpc.PromiseServiceServicer):
    async def PromiseDelivery(self, request, context):
        await abort_unimplemented(context, "PromiseDelivery", "issue 5 (promise engine)")


class ReservationServicer(reservation_pb2_grpc.ReservationServiceServicer):
    async def ReserveInventory(self, request, context):
        await abort_unimplemented(context, "ReserveInventory", "issue 6 (reservations)")

    async def CommitReservation(self, request, context):
        await abort_unimplemented(context, "CommitReservation", "issue 6 (reservations)")

    async def ReleaseReservation(self, request, context):
        await abort_unimplemented(context, "ReleaseReservation", "issue 6 (reservations)")

    async def GetReservation(self, request, context):
        await abort_unimplemented(context, "GetReservation", "issue 6 (reservations)")
