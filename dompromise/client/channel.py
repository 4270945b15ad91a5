"""How every client command reaches a server: plain or TLS (mTLS with a client certificate), with an API key.

`lookup`, `load`, `health` and `bench` take `--tls-ca FILE` (trust this CA:
TLS), `--tls-cert FILE --tls-key FILE` (present this certificate: mTLS) and
`--auth-key-file FILE` (or DOMPROMISE_AUTH_KEY): each call then carries
`authorization: Bearer <key>`.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from dataclasses import dataclass

import grpc
import grpc.aio

AUTH_KEY_ENV = "DOMPROMISE_AUTH_KEY"


@dataclass(frozen=True)
class ChannelSecurity:
    """What a client channel needs beyond the target: TLS files (PEM) and an API key."""

    ca_path: str | None = None
    certificate_path: str | None = None
    key_path: str | None = None
    auth_key: str | None = None

    def metadata(self) -> tuple[tuple[str, str], ...]:
        """The metadata every call sends (the bearer key, if any)."""
        return (("authorization", f"Bearer {self.auth_key}"),) if self.auth_key else ()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The client commands' TLS and key options."""
    parser.add_argument("--tls-ca", metavar="FILE", help="connect with TLS, trusting this CA (PEM)")
    parser.add_argument("--tls-cert", metavar="FILE", help="client certificate (PEM) for mTLS; with --tls-key")
    parser.add_argument("--tls-key", metavar="FILE", help="client certificate's private key (PEM) for mTLS")
    parser.add_argument(
        "--auth-key-file",
        metavar="FILE",
        help=f"API key sent as authorization: Bearer (default: ${AUTH_KEY_ENV}, if set)",
    )


def from_args(args: argparse.Namespace) -> ChannelSecurity:
    """The options add_arguments added; ValueError when they do not go together."""
    if (args.tls_cert is None) != (args.tls_key is None):
        raise ValueError("--tls-cert and --tls-key go together")
    if args.tls_cert is not None and args.tls_ca is None:
        raise ValueError("--tls-cert needs --tls-ca (mTLS is TLS first)")
    key = os.environ.get(AUTH_KEY_ENV) or None
    if args.auth_key_file:
        with open(args.auth_key_file, encoding="utf-8") as file:
            key = file.read().strip()
    return ChannelSecurity(args.tls_ca, args.tls_cert, args.tls_key, key)


def _read(path: str) -> bytes:
    with open(path, "rb") as file:
        return file.read()


def credentials(security: ChannelSecurity) -> grpc.ChannelCredentials | None:
    """TLS credentials, or None for a plain channel."""
    if security.ca_path is None:
        return None
    certificate = _read(security.certificate_path) if security.certificate_path else None
    key = _read(security.key_path) if security.key_path else None
    return grpc.ssl_channel_credentials(_read(security.ca_path), private_key=key, certificate_chain=certificate)


def open_channel(
    target: str, security: ChannelSecurity | None = None, options: Sequence[tuple[str, object]] | None = None
) -> grpc.Channel:
    """A synchronous channel to `target`, plain or TLS; the key rides on every call (call credentials need
    TLS, and a key on a plain channel inside a private network is still better than none)."""
    security = security or ChannelSecurity()
    tls = credentials(security)
    channel = (
        grpc.secure_channel(target, tls, options=options) if tls is not None else grpc.insecure_channel(target, options)
    )
    metadata = security.metadata()
    if not metadata:
        return channel
    return grpc.intercept_channel(channel, _MetadataAdder(metadata))


def open_aio_channel(
    target: str, security: ChannelSecurity | None = None, options: Sequence[tuple[str, object]] | None = None
) -> grpc.aio.Channel:
    """An asyncio channel to `target`, plain or TLS, the key on every unary call (`dompromise bench`)."""
    security = security or ChannelSecurity()
    tls = credentials(security)
    metadata = security.metadata()
    interceptors = [_AioMetadataAdder(metadata)] if metadata else None
    if tls is not None:
        return grpc.aio.secure_channel(target, tls, options=options, interceptors=interceptors)
    return grpc.aio.insecure_channel(target, options=options, interceptors=interceptors)


class _AioMetadataAdder(grpc.aio.UnaryUnaryClientInterceptor):
    """Adds fixed metadata (the bearer key) to every unary call of an asyncio channel."""

    def __init__(self, metadata: tuple[tuple[str, str], ...]) -> None:
        self._metadata = metadata

    async def intercept_unary_unary(self, continuation, client_call_details, request):  # type: ignore[no-untyped-def]
        metadata = grpc.aio.Metadata(*tuple(client_call_details.metadata or ()), *self._metadata)
        return await continuation(client_call_details._replace(metadata=metadata), request)


class _MetadataAdder(
    grpc.UnaryUnaryClientInterceptor,
    grpc.UnaryStreamClientInterceptor,
    grpc.StreamUnaryClientInterceptor,
    grpc.StreamStreamClientInterceptor,
):
    """Adds fixed metadata (the bearer key) to every call."""

    def __init__(self, metadata: tuple[tuple[str, str], ...]) -> None:
        self._metadata = metadata

    def _details(self, details: grpc.ClientCallDetails) -> grpc.ClientCallDetails:
        return _CallDetails(
            details.method, details.timeout, tuple(details.metadata or ()) + self._metadata, details.credentials
        )

    def intercept_unary_unary(self, continuation, client_call_details, request):  # type: ignore[no-untyped-def]
        return continuation(self._details(client_call_details), request)

    def intercept_unary_stream(self, continuation, client_call_details, request):  # type: ignore[no-untyped-def]
        return continuation(self._details(client_call_details), request)

    def intercept_stream_unary(self, continuation, client_call_details, request_iterator):  # type: ignore[no-untyped-def]
        return continuation(self._details(client_call_details), request_iterator)

    def intercept_stream_stream(self, continuation, client_call_details, request_iterator):  # type: ignore[no-untyped-def]
        return continuation(self._details(client_call_details), request_iterator)


class _CallDetails(grpc.ClientCallDetails):
    def __init__(
        self,
        method: str,
        timeout: float | None,
        metadata: tuple[tuple[str, str | bytes], ...],
        credentials: grpc.CallCredentials | None,
    ) -> None:
        self.method = method
        self.timeout = timeout
        self.metadata = metadata
        self.credentials = credentials
        self.wait_for_ready = None
        self.compression = None
