"""Promise tokens keep their format: the fast signer (TokenBatch) writes the same text as the
json.dumps + hmac.new + base64 recipe it replaced (with the token's random part), so tokens signed
before and after verify alike; tokens of identical content differ by that random part."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import threading

from hypothesis import given, settings
from hypothesis import strategies as st

from dompromise.promise.token import (
    TOKEN_NONCE_BYTES,
    HmacPads,
    PlannedHold,
    TokenContent,
    TokenSigner,
    order_tail,
    random_nonce,
)


def reference_token(key: bytes, content: TokenContent, nonce: str | None = None) -> str:
    """The token as the signer wrote it before TokenBatch (json.dumps of the whole document), with the
    random part `nonce` (None: as tokens were before they had one)."""
    document: dict[str, object] = {"h": [[h.sku_id, h.node_id, h.quantity, h.backorder_by_ns] for h in content.holds]}
    if nonce is not None:
        document["n"] = nonce
    document |= {
        "e": content.expire_ns,
        "p": content.log_position,
        "o": [list(content.order_sku_ids), list(content.order_quantities)],
        "z": content.zone_id,
        "c": content.pickup_node_id,
        "q": content.options,
    }

    def encode(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    payload = encode(json.dumps(document, separators=(",", ":")).encode())
    return f"v1.{payload}.{encode(hmac.new(key, payload.encode(), hashlib.sha256).digest())}"


def nonce_of(token: str) -> str:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["n"]


def random_content(rng: random.Random) -> TokenContent:
    # Ids with quotes, backslashes, non-ASCII and control characters: json escapes them all.
    alphabet = 'ABZ09-_."\\é☃\u0001/ '
    holds = tuple(
        PlannedHold(
            "".join(rng.choices(alphabet, k=rng.randrange(1, 12))),
            f"N{rng.randrange(50)}",
            rng.randrange(1, 10**9),
            rng.choice([0, rng.randrange(10**18)]),
        )
        for _ in range(rng.randrange(0, 15))
    )
    options = rng.choice(
        [
            {},
            {
                "fill_policy": 3,
                "min_fill_percent": 50,
                "max_shipments": 5,
                "sourcing": 2,
                "methods": [1, 3],
                "allow_future_supply": False,
                "customer_tier": "gold☃",
                "max_options": 5,
                "channel_view_id": "b2b",
                "customer_segment": "fleet",
            },
        ]
    )
    return TokenContent(
        holds,
        rng.randrange(10**19),
        rng.randrange(2**63),
        tuple(h.sku_id for h in holds),
        tuple(rng.randrange(1, 100) for _ in holds),
        rng.choice(["", "FR-59", "zöne"]),
        rng.choice(["", "ST-LILLE"]),
        options,
    )


def test_tokens_are_the_same_text_as_before_and_verify():
    key = bytes(range(32))
    signer = TokenSigner(key)
    rng = random.Random(7)
    for _ in range(500):
        content = random_content(rng)
        token = signer.sign(content)
        nonce = nonce_of(token)
        assert len(nonce) == 2 * TOKEN_NONCE_BYTES and int(nonce, 16) >= 0
        assert token == reference_token(key, content, nonce)
        assert signer.verify(token) == content


def test_a_batch_signs_each_option_as_sign_would():
    key = bytes(range(32, 64))
    signer = TokenSigner(key)
    rng = random.Random(8)
    common = random_content(rng)
    batch = signer.batch(
        common.expire_ns,
        common.log_position,
        common.order_sku_ids,
        common.order_quantities,
        common.zone_id,
        common.pickup_node_id,
        common.options,
    )
    for _ in range(20):
        holds = random_content(rng).holds
        content = TokenContent(
            holds,
            common.expire_ns,
            common.log_position,
            common.order_sku_ids,
            common.order_quantities,
            common.zone_id,
            common.pickup_node_id,
            common.options,
        )
        token = batch.sign([[h.sku_id, h.node_id, h.quantity, h.backorder_by_ns] for h in holds])
        assert token == reference_token(key, content, nonce_of(token))


def test_a_batch_of_an_orders_kept_tail_signs_as_a_batch_made_whole():
    """batch_of_order (the order's part of the payload written once by order_tail, kept by the caller) writes the
    same tail and tokens as batch(), whatever the expiry and log position it is given."""
    key = bytes(range(64, 96))
    signer = TokenSigner(key)
    rng = random.Random(9)
    for _ in range(200):
        content = random_content(rng)
        order = order_tail(
            content.order_sku_ids,
            content.order_quantities,
            content.zone_id,
            content.pickup_node_id,
            json.dumps(content.options, separators=(",", ":")),
        )
        whole = signer.batch(
            content.expire_ns,
            content.log_position,
            content.order_sku_ids,
            content.order_quantities,
            content.zone_id,
            content.pickup_node_id,
            content.options,
        )
        kept = signer.batch_of_order(content.expire_ns, content.log_position, order)
        assert kept.tail == whole.tail
        token = kept.sign([[h.sku_id, h.node_id, h.quantity, h.backorder_by_ns] for h in content.holds])
        assert token == reference_token(key, content, nonce_of(token))
        assert signer.verify(token) == content


def test_tokens_of_identical_content_differ_and_verify_alike():
    """Two promises with identical inputs get distinct tokens (a token reserves once: the same token
    would give the second caller the first caller's reservation), each verifying to the same plan."""
    signer = TokenSigner(bytes(range(32)))
    content = random_content(random.Random(9))
    tokens = {signer.sign(content) for _ in range(1000)}
    assert len(tokens) == 1000
    assert all(signer.verify(token) == content for token in tokens)


def test_tokens_from_before_the_random_part_still_verify():
    key = bytes(range(64, 96))
    content = random_content(random.Random(10))
    assert TokenSigner(key).verify(reference_token(key, content)) == content


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=0, max_size=200), st.binary(max_size=3000))
def test_the_keyed_hmac_copied_per_token_is_hmac_sha256(key, message):
    """HmacPads (the key set up once, copied for every token) is HMAC-SHA256: keys shorter and longer than
    SHA-256's block (hashed first), and again after a first use (the keyed object is copied, not spent)."""
    pads = HmacPads(key)
    assert pads.digest(message) == hmac.digest(key, message, "sha256")
    assert pads.digest(message + b"x") == hmac.digest(key, message + b"x", "sha256")


def test_nonces_drawn_from_many_threads_are_all_distinct():
    """The nonce pool has no lock (list.pop and list.extend are atomic): threads that drain and refill it at
    once never get the same nonce, and each is TOKEN_NONCE_BYTES of hex."""
    drawn: list[list[str]] = [[] for _ in range(8)]
    start = threading.Barrier(len(drawn))

    def draw(into: list[str]) -> None:
        start.wait()
        for _ in range(1_000):
            into.append(random_nonce())

    threads = [threading.Thread(target=draw, args=(into,)) for into in drawn]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    nonces = [nonce for into in drawn for nonce in into]
    assert len(set(nonces)) == len(nonces) == 8 * 1_000
    assert all(len(nonce) == 2 * TOKEN_NONCE_BYTES and int(nonce, 16) >= 0 for nonce in nonces)


def test_a_batch_calls_the_signers_nonce_for_each_token():
    """TokenBatch.nonce is the signer's callable itself (the compiled signer calls it directly)."""
    drawn = iter(["00000000000000a1", "00000000000000b2"])
    batch = TokenSigner(bytes(range(32)), nonce=lambda: next(drawn)).batch(1, 2, ("A",), (1,), "Z", "", {})
    assert [nonce_of(batch.sign([["A", "N", 1, 0]])) for _ in range(2)] == ["00000000000000a1", "00000000000000b2"]
