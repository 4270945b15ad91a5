"""Where a client looks for a server unless told: the port `dompromise serve` listens on by default."""

from __future__ import annotations

DEFAULT_PORT = 50051
DEFAULT_TARGET = f"127.0.0.1:{DEFAULT_PORT}"
