"""Scoped API keys (`serve --auth-keys FILE`): who may call which RPC.

Every RPC has a scope in METHOD_SCOPES (a test, generated from the service
descriptors, fails when one is missing; an RPC missing anyway needs
`network:admin`, the narrowest grant: fail closed). A call carries
`authorization: Bearer <key>`:

- no key, or a key the file does not hold: UNAUTHENTICATED, with the same
  message either way (nothing that helps a guesser);
- a key without the RPC's scope: PERMISSION_DENIED naming the scope needed.

Keys are compared as SHA-256 digests with hmac.compare_digest against every
entry (no early exit), so the time taken says nothing about how close a
guess was. The file may hold a digest (`sha256: <hex>`, or `key:
"sha256:<hex>"`) instead of the secret. With mTLS, an entry's `subject`
grants its scopes to a client certificate whose full subject, common name
or a subject alternative name (DNS, URI) is that string, when the call
carries no key (a key, when sent, decides).

Health checking is always open (probes carry no keys). Reflection needs a
valid key of any scope while keys are on, and `serve --no-reflection` turns
it off. SIGHUP reloads the file; a file that no longer parses is refused
(logged) and the keys in force stay.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
import yaml

from dompromise import limits
from dompromise.service.handlers import Context, PlainStatus

log = logging.getLogger(__name__)

READ = "availability:read"
PROMISE = "promise"
RESERVE = "reserve"
INVENTORY_WRITE = "inventory:write"
NETWORK_ADMIN = "network:admin"
SCOPES = (READ, PROMISE, RESERVE, INVENTORY_WRITE, NETWORK_ADMIN)
# What an RPC missing from METHOD_SCOPES needs: the narrowest grant (fail closed).
DEFAULT_SCOPE = NETWORK_ADMIN
# A key shorter than this is refused: it could be guessed.
KEY_LENGTH_MIN = 32

_V1 = "/dompromise.v1."
# Every RPC -> the scope it needs. Reads of stock and of the network are availability:read; holds and their
# reads (order data) are reserve; stock and supply feeds are inventory:write; changing the network is admin.
METHOD_SCOPES: dict[str, str] = {
    _V1 + "AvailabilityService/GetAvailability": READ,
    _V1 + "AvailabilityService/WatchAvailability": READ,
    _V1 + "InventoryService/UpdateStock": INVENTORY_WRITE,
    _V1 + "InventoryService/ReturnStock": INVENTORY_WRITE,
    _V1 + "InventoryService/UploadStock": INVENTORY_WRITE,
    _V1 + "InventoryService/UpsertSupply": INVENTORY_WRITE,
    _V1 + "InventoryService/ReceiveSupply": INVENTORY_WRITE,
    _V1 + "InventoryService/GetSupply": READ,
    _V1 + "InventoryService/SetSafetyStock": INVENTORY_WRITE,
    _V1 + "InventoryService/SetUnavailable": INVENTORY_WRITE,
    _V1 + "NetworkService/GetNode": READ,
    _V1 + "NetworkService/SetNodeStatus": NETWORK_ADMIN,
    _V1 + "NetworkService/ListNodes": READ,
    _V1 + "NetworkService/GetSku": READ,
    _V1 + "NetworkService/ListSkus": READ,
    _V1 + "NetworkService/SearchSkus": READ,
    _V1 + "NetworkService/UpsertSkus": NETWORK_ADMIN,
    _V1 + "NetworkService/RetireSkus": NETWORK_ADMIN,
    _V1 + "NetworkService/ImportSkus": NETWORK_ADMIN,
    _V1 + "NetworkService/ApplyNetworkConfig": NETWORK_ADMIN,
    _V1 + "PromiseService/PromiseDelivery": PROMISE,
    _V1 + "ReservationService/ReserveInventory": RESERVE,
    _V1 + "ReservationService/CommitReservation": RESERVE,
    _V1 + "ReservationService/ReleaseReservation": RESERVE,
    _V1 + "ReservationService/ExtendReservation": RESERVE,
    _V1 + "ReservationService/ShipReservation": RESERVE,
    _V1 + "ReservationService/CancelReservationLines": RESERVE,
    _V1 + "ReservationService/AllocateWave": RESERVE,
    _V1 + "ReservationService/GetReservation": RESERVE,
    _V1 + "ReservationService/ListReservations": RESERVE,
    _V1 + "ReservationService/WatchReservationEvents": RESERVE,
}
OPEN_PREFIXES = ("/grpc.health.v1.Health/",)
REFLECTION_PREFIX = "/grpc.reflection."
AUTHORIZATION_KEY = "authorization"
_BEARER = "bearer "
_HEX_DIGEST = re.compile(r"^[0-9a-fA-F]{64}$")
# One message for a missing key and a wrong one: a guesser learns nothing from it.
UNAUTHENTICATED_DETAILS = "a valid API key is required (authorization: Bearer <key>)"


def scope_of(method: str) -> str:
    """The scope an RPC needs (its full method name, `/package.Service/Method`)."""
    return METHOD_SCOPES.get(method, DEFAULT_SCOPE)


class KeysFileError(ValueError):
    """The keys file cannot be used: names the file and the entry."""


@dataclass(frozen=True)
class Principal:
    """Who a call comes from: a keys file entry's name and scopes."""

    name: str
    scopes: frozenset[str]


@dataclass(frozen=True)
class _Entry:
    principal: Principal
    digest: bytes | None  # SHA-256 of the key
    subject: str | None  # a client certificate's common name or subject


def _digest_of(entry: dict[str, Any], where: str) -> bytes | None:
    key = entry.get("key")
    hexdigest = entry.get("sha256")
    if key is not None and hexdigest is not None:
        raise KeysFileError(f"{where}: give key or sha256, not both")
    if isinstance(key, str) and key.startswith("sha256:"):
        hexdigest, key = key[len("sha256:") :].strip(), None
    if hexdigest is not None:
        if not isinstance(hexdigest, str) or not _HEX_DIGEST.match(hexdigest):
            raise KeysFileError(f"{where}: sha256 must be 64 hexadecimal digits")
        return bytes.fromhex(hexdigest)
    if key is None:
        return None
    if not isinstance(key, str) or len(key) < KEY_LENGTH_MIN:
        raise KeysFileError(f"{where}: key must be a string of at least {KEY_LENGTH_MIN} characters")
    return hashlib.sha256(key.encode()).digest()


def _entry(raw: object, index: int, path: str) -> _Entry:
    where = f"{path}: keys[{index}]"
    if not isinstance(raw, dict):
        raise KeysFileError(f"{where}: an entry is a mapping with name, key (or sha256) and scopes")
    unknown = set(raw) - {"name", "key", "sha256", "scopes", "subject"}
    if unknown:
        raise KeysFileError(f"{where}: unknown field {sorted(unknown)[0]!r}")
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise KeysFileError(f"{where}: name is required")
    scopes = raw.get("scopes")
    if not isinstance(scopes, list) or not scopes:
        raise KeysFileError(f"{where} ({name}): scopes is a non-empty list of {', '.join(SCOPES)}")
    for scope in scopes:
        if scope not in SCOPES:
            raise KeysFileError(f"{where} ({name}): unknown scope {scope!r} (known: {', '.join(SCOPES)})")
    subject = raw.get("subject")
    if subject is not None and (not isinstance(subject, str) or not subject):
        raise KeysFileError(f"{where} ({name}): subject is a certificate's common name or subject")
    digest = _digest_of(raw, f"{where} ({name})")
    if digest is None and subject is None:
        raise KeysFileError(f"{where} ({name}): give key, sha256 or subject")
    return _Entry(Principal(name, frozenset(scopes)), digest, subject)


def load_keys(path: str) -> list[_Entry]:
    """The entries of a keys file; KeysFileError (or OSError) if it cannot be used."""
    with open(path, encoding="utf-8") as file:
        try:
            document = yaml.safe_load(file)
        except yaml.YAMLError as error:
            raise KeysFileError(f"{path}: not YAML: {error}") from None
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise KeysFileError(f"{path}: expected a mapping with a list `keys:`")
    entries = [_entry(raw, index, path) for index, raw in enumerate(document["keys"])]
    names = [entry.principal.name for entry in entries]
    for name in names:
        if names.count(name) > 1:
            raise KeysFileError(f"{path}: name {name!r} is used twice")
    digests = [entry.digest for entry in entries if entry.digest is not None]
    if len(set(digests)) != len(digests):
        raise KeysFileError(f"{path}: two entries hold the same key")
    return entries


class KeyRing:
    """The keys in force, from a file; `reload()` re-reads it (SIGHUP)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._entries = load_keys(path)
        # Keys found valid -> their principal (ACCEPTED_KEYS_REMEMBERED_MAX): replaced whole on reload.
        self._accepted: dict[str, Principal] = {}
        # The same by the whole `authorization` value that presented them ("Bearer <key>"): a call sending one
        # again is a single look-up, its header not parsed (by_header). Same bound, forgotten with them.
        self._accepted_headers: dict[str | bytes, Principal] = {}

    def reload(self) -> bool:
        """Re-reads the file; on a bad file keeps the keys in force and logs why. True if reloaded."""
        try:
            entries = load_keys(self.path)
        except (OSError, KeysFileError) as error:
            log.error("keys file not reloaded, the previous keys stay in force: %s", error)
            return False
        self._entries = entries
        self._accepted = {}  # a key removed from the file must stop working now
        self._accepted_headers = {}
        log.info("keys file %s reloaded: %d keys", self.path, len(entries))
        return True

    @property
    def has_subjects(self) -> bool:
        return any(entry.subject is not None for entry in self._entries)

    def by_key(self, key: str) -> Principal | None:
        """The entry holding `key`: a key found valid before, else every digest compared, in constant time each.

        The remembered keys are looked up by the text presented: a dict finds it by a hash salted per process,
        so its timing says nothing useful of a valid key; an unknown key is never remembered."""
        accepted = self._accepted
        found = accepted.get(key)
        if found is not None:
            return found
        digest = hashlib.sha256(key.encode("utf-8", "surrogateescape")).digest()
        for entry in self._entries:
            if entry.digest is not None and hmac.compare_digest(digest, entry.digest):
                found = entry.principal
        if found is not None and len(accepted) < limits.ACCEPTED_KEYS_REMEMBERED_MAX:
            accepted[key] = found
        return found

    def by_header(self, value: str | bytes) -> Principal | None:
        """The entry holding the key an `authorization` header value presents (None: no bearer key, or not one
        of ours): a value that presented a valid key before is looked up whole (as by_key looks up a key);
        any other is parsed and its key goes through by_key."""
        accepted = self._accepted_headers
        found = accepted.get(value)
        if found is not None:
            return found
        key = bearer_key(((AUTHORIZATION_KEY, value),))
        found = self.by_key(key) if key else None
        if found is not None and len(accepted) < limits.ACCEPTED_KEYS_REMEMBERED_MAX:
            accepted[value] = found
        return found

    def by_subject(self, subjects: Iterable[str]) -> Principal | None:
        """The entry whose subject is one of a verified client certificate's names."""
        names = set(subjects)
        for entry in self._entries:
            if entry.subject is not None and entry.subject in names:
                return entry.principal
        return None


def authorization_of(metadata: Sequence[tuple[str, str | bytes]] | None) -> str | bytes | None:
    """The value of a call's (first) `authorization` header, None if it has none."""
    for name, value in metadata or ():
        if name == AUTHORIZATION_KEY:
            return value
    return None


def bearer_key(metadata: Sequence[tuple[str, str | bytes]] | None) -> str | None:
    """The key of an `authorization: Bearer <key>` header, if the call has one ("": a header without one)."""
    value = authorization_of(metadata)
    if value is None:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    if text[: len(_BEARER)].lower() == _BEARER:
        return text[len(_BEARER) :].strip()
    return ""


def certificate_names(context: Context) -> list[str]:
    """The verified client certificate's subject, common name and subject alternative names (none without mTLS)."""
    auth = context.auth_context() or {}
    names: list[str] = []
    for prop in ("x509_subject", "x509_common_name", "x509_subject_alternative_name"):
        names.extend(value.decode("utf-8", "replace") for value in auth.get(prop, ()))
    return names


_UNAUTHENTICATED = PlainStatus(grpc.StatusCode.UNAUTHENTICATED, UNAUTHENTICATED_DETAILS)


def _permission_denied(principal: Principal, scope: str) -> PlainStatus:
    return PlainStatus(
        grpc.StatusCode.PERMISSION_DENIED, f"the key {principal.name!r} lacks the scope this RPC needs: {scope}"
    )


class KeyCheck:
    """Decides UNAUTHENTICATED / PERMISSION_DENIED before a handler runs (see the module doc); the call
    pipeline (service/pipeline.py) asks it for every call of a method that is not open."""

    def __init__(self, keys: KeyRing) -> None:
        self._keys = keys

    @staticmethod
    def scope_needed(method: str) -> str | None:
        """What `method` needs: a scope, or None for any valid key (reflection)."""
        return None if method.startswith(REFLECTION_PREFIX) else scope_of(method)

    def refusal(
        self, scope: str | None, metadata: Sequence[tuple[str, str | bytes]], context: Context
    ) -> grpc.Status | None:
        """None if the call may run, else the status that refuses it."""
        value = authorization_of(metadata)
        if value is not None:
            principal = self._keys.by_header(value)
        elif self._keys.has_subjects:
            principal = self._keys.by_subject(certificate_names(context))  # no key: a client certificate may do
        else:
            principal = None
        if principal is None:
            return _UNAUTHENTICATED
        if scope is not None and scope not in principal.scopes:
            return _permission_denied(principal, scope)
        return None
