"""Promise tokens: an option's exact plan, signed, so Reserve can hold what checkout showed.

A token is `v1.<payload>.<signature>`: the payload is compact JSON (base64url)
with the planned lines (SKU, node, quantity, and the date for lines planned
from future supply), the expiry, the log position the promise was computed
on, the order's lines and destination (to answer a failed reserve with a
fresh alternative), and 8 random bytes of its own; the signature is HMAC-SHA256 over the payload with the
server's token key. Tokens are opaque to clients: the format may change with
the version prefix.

The random part makes every token distinct: two promises with identical
inputs (the same order, at the same log position, in the same second) would
otherwise sign the same token, and since a token reserves once, the second
caller's Reserve would answer ALREADY_EXISTS with the first caller's
reservation. Verification ignores it.

The key comes from the operator (`serve --token-key-file`, the same file on
every instance so any instance can reserve any token); without one, a random
key per process: tokens then only work on the process that issued them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from json.encoder import encode_basestring_ascii as _json_string  # json.dumps(a_str): quoted, escaped, ASCII
from typing import Any

from dompromise.errors import DompromiseError

VERSION = "v1"
KEY_BYTES_MIN = 32
# Random bytes in each token's payload (hex): 64 bits, so two tokens of one plan never coincide.
TOKEN_NONCE_BYTES = 8
# json.dumps(..., separators=(",", ":")) without building an encoder per call: the same text.
_JSON = json.JSONEncoder(separators=(",", ":"))
_URLSAFE = bytes.maketrans(b"+/", b"-_")
_VERSION_DOT = f"{VERSION}.".encode()
# A TokenBatch's tail up to its log position: the nonce's closing quote, the expiry, the log position (% with ints
# writes them as repr does, as json.dumps does).
_HEAD = b'","e":%d,"p":%d'

# The promise request's options a fresh promise must keep, JSON-ready (service/promise.py token_options).
TokenOptions = dict[str, Any]
# One hold as a token signs it: [sku_id, node_id, quantity, backorder_by_ns] (str, str, int, int).
HoldRow = Sequence[str | int]


class TokenError(DompromiseError):
    """The token is malformed, forged, or signed with another key."""


@dataclass(frozen=True)
class PlannedHold:
    sku_id: str
    node_id: str
    quantity: int
    backorder_by_ns: int  # 0: held from stock on hand


@dataclass(frozen=True)
class TokenContent:
    holds: tuple[PlannedHold, ...]
    expire_ns: int
    log_position: int
    # The order as promised, to promise again when the plan no longer holds.
    order_sku_ids: tuple[str, ...]
    order_quantities: tuple[int, ...]
    zone_id: str
    pickup_node_id: str
    # The promise request's options (fill policy, shipments, methods, tier...), as given to
    # PromiseRequest, so a fresh alternative honours the same constraints.
    options: TokenOptions = field(default_factory=dict)


class HmacPads:
    """HMAC-SHA256 of one key, the key set up once (RFC 2104): SHA-256 of the key's inner and outer padded
    blocks, hashed once; each message copies both (C objects, no Python frame): the inner one takes the
    message, the outer one the inner digest. A one-shot `hmac.digest` sets the key up again every time, and
    a copied `hmac.HMAC` runs hmac.py's Python methods (~1.2 us a token against ~0.8 here). Equal to
    hmac.digest (tests/service/test_promise_token_format.py)."""

    __slots__ = ("inner", "outer")

    def __init__(self, key: bytes):
        block = hashlib.sha256().block_size
        if len(key) > block:  # a key longer than a block is its hash (RFC 2104)
            key = hashlib.sha256(key).digest()
        key = key.ljust(block, b"\0")
        self.inner = hashlib.sha256(bytes([byte ^ 0x36 for byte in key]))
        self.outer = hashlib.sha256(bytes([byte ^ 0x5C for byte in key]))

    def digest(self, message: bytes) -> bytes:
        inner = self.inner.copy()
        inner.update(message)
        outer = self.outer.copy()
        outer.update(inner.digest())
        return outer.digest()


class _NoncePool:
    """Each token's random part (TOKEN_NONCE_BYTES random bytes, hex) from one draw of the system's CSPRNG per
    NONCES_PER_DRAW tokens: a draw per token (a syscall) cost more than the token's HMAC. A forked child
    drops what it inherited, so two processes never hand out the same nonces."""

    NONCES_PER_DRAW = 64

    def __init__(self) -> None:
        self._nonces: list[str] = []
        os.register_at_fork(after_in_child=self._nonces.clear)

    def __call__(self) -> str:
        # No lock: list.pop and list.extend are each atomic, so two threads never pop the same nonce; two
        # that find the pool empty both refill it (more nonces, each as random).
        nonces = self._nonces
        while True:
            try:
                return nonces.pop()
            except IndexError:
                text, width = secrets.token_hex(TOKEN_NONCE_BYTES * self.NONCES_PER_DRAW), 2 * TOKEN_NONCE_BYTES
                nonces.extend([text[start : start + width] for start in range(0, len(text), width)])


random_nonce: Callable[[], str] = _NoncePool()


class TokenSigner:
    def __init__(self, key: bytes | None = None, nonce: Callable[[], str] = random_nonce):
        """nonce: each token's random part (hex); tests pin it to compare two answers' tokens."""
        if key is None:
            key = secrets.token_bytes(KEY_BYTES_MIN)
        if len(key) < KEY_BYTES_MIN:
            raise ValueError(f"a token key needs at least {KEY_BYTES_MIN} bytes")
        self._key = key
        self._pads = HmacPads(key)
        self._nonce = nonce

    def sign(self, content: TokenContent) -> str:
        batch = self.batch(
            content.expire_ns,
            content.log_position,
            content.order_sku_ids,
            content.order_quantities,
            content.zone_id,
            content.pickup_node_id,
            content.options,
        )
        return batch.sign([[h.sku_id, h.node_id, h.quantity, h.backorder_by_ns] for h in content.holds])

    def batch(
        self,
        expire_ns: int,
        log_position: int,
        order_sku_ids: Sequence[str],
        order_quantities: Sequence[int],
        zone_id: str,
        pickup_node_id: str,
        options: TokenOptions,
    ) -> TokenBatch:
        """A signer for the tokens of one answer's options, which differ only in their holds."""
        return self.batch_encoded(
            expire_ns, log_position, order_sku_ids, order_quantities, zone_id, pickup_node_id, _JSON.encode(options)
        )

    def batch_encoded(
        self,
        expire_ns: int,
        log_position: int,
        order_sku_ids: Sequence[str],
        order_quantities: Sequence[int],
        zone_id: str,
        pickup_node_id: str,
        options_json: str,
    ) -> TokenBatch:
        """batch(), the options given as their compact JSON text (a caller that sees the same options again
        encodes them once)."""
        return TokenBatch(
            self._key,
            expire_ns,
            log_position,
            order_sku_ids,
            order_quantities,
            zone_id,
            pickup_node_id,
            options_json,
            self._nonce,
            self._pads,
        )

    def batch_of_order(self, expire_ns: int, log_position: int, order: bytes) -> TokenBatch:
        """batch_encoded(), the order's lines, destination and options given as order_tail() wrote them."""
        return TokenBatch.of_order(self._key, expire_ns, log_position, order, self._nonce, self._pads)

    def verify(self, token: str) -> TokenContent:
        """The token's content; TokenError if it is not one this key signed."""
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != VERSION:
            raise TokenError("not a dompromise promise token")
        _, payload, signature = parts
        if (
            not signature.isascii()
            or not payload.isascii()
            or not hmac.compare_digest(signature.encode(), self._signature(payload).encode())
        ):
            raise TokenError("signature does not match (forged, altered, or signed with another key)")
        try:
            document = json.loads(_decode(payload))
            holds = tuple(PlannedHold(str(s), str(n), int(q), int(b)) for s, n, q, b in document["h"])
            skus, quantities = document["o"]
            return TokenContent(
                holds,
                int(document["e"]),
                int(document["p"]),
                tuple(map(str, skus)),
                tuple(map(int, quantities)),
                str(document["z"]),
                str(document["c"]),
                dict(document.get("q", {})),
            )
        except (ValueError, KeyError, TypeError) as error:
            raise TokenError(f"malformed token payload: {error}") from None

    def _signature(self, payload: str) -> str:
        return _encode(hmac.digest(self._key, payload.encode(), "sha256"))


class TokenBatch:
    """Signs tokens that share everything but their holds (one promise answer's options).

    The payload is the JSON text of {"h", "n", "e", "p", "o", "z", "c", "q"} in that
    order ("n": the token's random part, hex), as json.dumps(document, separators=(",", ":")) writes it: the part
    after the holds is encoded once per batch. One-shot HMAC-SHA256 (hmac.digest)."""

    def __init__(
        self,
        key: bytes,
        expire_ns: int,
        log_position: int,
        order_sku_ids: Sequence[str],
        order_quantities: Sequence[int],
        zone_id: str,
        pickup_node_id: str,
        options_json: str,
        nonce: Callable[[], str] = random_nonce,
        pads: HmacPads | None = None,
    ):
        """options_json: the options' compact JSON text (_JSON.encode(options)); pads: the key's (made here
        when not given: a signer gives its own, made once)."""
        self._key = key
        self._pads = pads if pads is not None else HmacPads(key)
        # A fresh random part for one token (hex): the signer's callable itself, so the compiled signer calls
        # it with no frame in between.
        self.nonce: Callable[[], str] = nonce
        # The nonce's closing quote, then what _JSON.encode({"e": ..., "q": options}) writes after its "{" (json's
        # own string encoder, ints as repr, the options encoded by the caller; tests/wire/test_promise_wire.py
        # compares the two), as the payload's bytes: made once per answer, only as bytes.
        self._tail = _HEAD % (expire_ns, log_position) + order_tail(
            order_sku_ids, order_quantities, zone_id, pickup_node_id, options_json
        )

    @classmethod
    def of_order(
        cls,
        key: bytes,
        expire_ns: int,
        log_position: int,
        order: bytes,
        nonce: Callable[[], str],
        pads: HmacPads,
    ) -> TokenBatch:
        """The batch __init__ makes, its order's part of the tail given as order_tail() wrote it (a caller that
        sees the same order again writes that part once): only the expiry and log position are written here."""
        batch = cls.__new__(cls)
        batch._key = key
        batch._pads = pads
        batch.nonce = nonce
        batch._tail = _HEAD % (expire_ns, log_position) + order
        return batch

    def sign(self, holds: Sequence[HoldRow]) -> str:
        """The token of these holds: each [sku_id, node_id, quantity, backorder_by_ns] (str, str, int, int).

        The holds' JSON is written here as json.dumps writes it (ids through json's own
        string encoder; ints as repr)."""
        return self.sign_json(
            ",".join(
                [
                    f"[{_json_string(str(sku_id))},{_json_string(str(node_id))},{quantity},{backorder_by_ns}]"
                    for sku_id, node_id, quantity, backorder_by_ns in holds
                ]
            )
        )

    @property
    def pads(self) -> HmacPads:
        """The key's HMAC (for the compiled signer: dompromise/wire/promise.pyx)."""
        return self._pads

    @property
    def tail(self) -> bytes:
        """What a payload's JSON carries after its nonce's text, the nonce's closing quote first: sign_json's
        payload is '{"h":[' + holds_json + '],"n":"' + nonce + tail (ASCII, as json.dumps writes it)."""
        return self._tail

    def sign_json(self, holds_json: str) -> str:
        """The token of the holds written as sign() writes them: their rows' JSON, comma-separated, without
        the brackets around the list (dompromise/wire/promise.pyx writes them so)."""
        payload = _encode_bytes(
            b"".join((b'{"h":[', holds_json.encode(), b'],"n":"', self.nonce().encode(), self._tail))
        )
        signature = _encode_bytes(self._pads.digest(payload))
        return b"".join((_VERSION_DOT, payload, b".", signature)).decode()


def order_tail(
    order_sku_ids: Sequence[str],
    order_quantities: Sequence[int],
    zone_id: str,
    pickup_node_id: str,
    options_json: str,
) -> bytes:
    """A TokenBatch's tail after its log position, as payload bytes: the same for every answer to the same
    order (lines, destination, options), whatever its expiry and log position."""
    skus = ",".join([_json_string(sku_id) for sku_id in order_sku_ids])
    quantities = ",".join([int.__repr__(quantity) for quantity in order_quantities])
    return (
        f',"o":[[{skus}],[{quantities}]],"z":{_json_string(zone_id)},"c":{_json_string(pickup_node_id)},'
        f'"q":{options_json}}}'
    ).encode()


def _encode(data: bytes) -> str:
    """base64.urlsafe_b64encode(data) without padding, in fewer calls."""
    return _encode_bytes(data).decode()


def _encode_bytes(data: bytes) -> bytes:
    return binascii.b2a_base64(data, newline=False).translate(_URLSAFE).rstrip(b"=")


def _decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
