"""TLS and mTLS for `serve --tls-cert FILE --tls-key FILE [--tls-client-ca FILE]`.

With a client CA, a client must present a certificate that CA signed
(mTLS): a client without one fails the handshake, before any RPC. Its
subject may stand for an API key's scopes (service/auth.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import grpc


@dataclass(frozen=True)
class TlsFiles:
    """PEM files: the server's certificate chain and key, and the CA that signs client certificates (mTLS)."""

    certificate_path: str
    key_path: str
    client_ca_path: str | None = None


def _read(path: str) -> bytes:
    with open(path, "rb") as file:
        return file.read()


def server_credentials(files: TlsFiles) -> grpc.ServerCredentials:
    """The server's credentials; OSError if a file cannot be read."""
    chain = [(_read(files.key_path), _read(files.certificate_path))]
    if files.client_ca_path is None:
        return grpc.ssl_server_credentials(chain)
    return grpc.ssl_server_credentials(chain, root_certificates=_read(files.client_ca_path), require_client_auth=True)
