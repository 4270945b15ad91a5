"""The HTTP/JSON app's auth: the same keys file and scopes as gRPC (service/auth.py), from a bearer header.

A browser's EventSource cannot send headers, so the Server-Sent Events route (and only a GET) may carry the key
as an `access_token` query parameter (RFC 6750, section 2.3); it is taken out of the query before the request
message is built.
"""

from __future__ import annotations

from google.rpc import code_pb2

from dompromise.http.app import ACCESS_TOKEN_PARAMETER, AuthCheck, AuthRejected
from dompromise.service.auth import UNAUTHENTICATED_DETAILS, KeyRing, bearer_key

__all__ = ["ACCESS_TOKEN_PARAMETER", "keyring_check"]


def keyring_check(keys: KeyRing) -> AuthCheck:
    """An auth check answering as the gRPC interceptor does: one message for a missing or unknown key, the scope
    named when a known key lacks it."""

    def check(authorization: str | None, scope: str) -> None:
        key = bearer_key([("authorization", authorization)]) if authorization is not None else None
        principal = keys.by_key(key) if key else None
        if principal is None:
            raise AuthRejected(code_pb2.UNAUTHENTICATED, UNAUTHENTICATED_DETAILS)
        if scope not in principal.scopes:
            message = f"the key {principal.name!r} lacks the scope this RPC needs: {scope}"
            raise AuthRejected(code_pb2.PERMISSION_DENIED, message)

    return check
