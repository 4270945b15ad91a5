"""Scoped API keys over every RPC (the matrix comes from the service descriptors), TLS and mTLS with real
certificates (trustme), a client without a certificate refused, SIGHUP-style reloads."""

from __future__ import annotations

import hashlib
import itertools

import grpc
import pytest
import trustme
from conftest import stocked_replica
from google.protobuf import message_factory
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from production_server import ProductionServer

from dompromise.client.channel import ChannelSecurity, open_channel
from dompromise.service import auth
from dompromise.service.auth import KeyRing, KeysFileError
from dompromise.service.serving import ServingOptions
from dompromise.service.tls import TlsFiles
from dompromise.v1 import availability_pb2, inventory_pb2, network_pb2, promise_pb2, reservation_pb2

FILES = (availability_pb2, inventory_pb2, network_pb2, promise_pb2, reservation_pb2)
# One key per scope (and one holding every scope, kept in the file as a digest only).
KEYS = {scope: f"key-for-{scope.replace(':', '-')}-" + "x" * 32 for scope in auth.SCOPES}
ALL_SCOPES_KEY = "all-scopes-key-" + "y" * 32


def every_method():
    """(full method name, method descriptor) of every RPC of every dompromise.v1 service."""
    for module in FILES:
        for service in module.DESCRIPTOR.services_by_name.values():
            for method in service.methods:
                yield f"/{service.full_name}/{method.name}", method


def write_keys(path, extra: str = "") -> str:
    lines = ["keys:"]
    for scope, key in KEYS.items():
        lines += [f"  - name: only-{scope.replace(':', '-')}", f"    key: {key}", f"    scopes: [{scope}]"]
    digest = hashlib.sha256(ALL_SCOPES_KEY.encode()).hexdigest()
    lines += ["  - name: everything", f'    key: "sha256:{digest}"', f"    scopes: [{', '.join(auth.SCOPES)}]"]
    path.write_text("\n".join(lines) + "\n" + extra)
    return str(path)


@pytest.fixture
def keys_file(tmp_path):
    return write_keys(tmp_path / "keys.yaml")


@pytest.fixture
def keyed_server(keys_file):
    server = ProductionServer(stocked_replica(), ServingOptions(keys=KeyRing(keys_file)))
    yield server
    server.stop()


def test_every_rpc_has_a_scope_declared():
    missing = [name for name, _ in every_method() if name not in auth.METHOD_SCOPES]
    assert not missing, f"RPCs without a scope in service/auth.py METHOD_SCOPES: {missing}"
    assert all(scope in auth.SCOPES for scope in auth.METHOD_SCOPES.values())


def test_an_rpc_missing_from_the_table_needs_admin():
    assert auth.scope_of("/dompromise.v1.NetworkService/SomethingNew") == auth.NETWORK_ADMIN


def call_code(channel, name, method, key: str | None) -> grpc.StatusCode:
    """The status code of one call with an empty request (OK if it answered)."""
    request_class = message_factory.GetMessageClass(method.input_type)
    response_class = message_factory.GetMessageClass(method.output_type)
    metadata = (("authorization", f"Bearer {key}"),) if key is not None else ()
    serialize, deserialize = request_class.SerializeToString, response_class.FromString
    try:
        if method.client_streaming:
            callable_ = (channel.stream_stream if method.server_streaming else channel.stream_unary)(
                name, serialize, deserialize
            )
            answer = callable_(iter([request_class()]), metadata=metadata, timeout=2)
        else:
            callable_ = (channel.unary_stream if method.server_streaming else channel.unary_unary)(
                name, serialize, deserialize
            )
            answer = callable_(request_class(), metadata=metadata, timeout=2)
        if method.server_streaming:
            next(iter(answer))
            answer.cancel()
    except grpc.RpcError as error:
        return error.code()
    return grpc.StatusCode.OK


def test_auth_matrix_over_every_rpc_and_scope(keyed_server):
    with grpc.insecure_channel(keyed_server.target) as channel:
        for (name, method), scope in itertools.product(list(every_method()), auth.SCOPES):
            code = call_code(channel, name, method, KEYS[scope])
            if auth.METHOD_SCOPES[name] == scope:
                assert code not in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED), (name, scope)
            else:
                assert code == grpc.StatusCode.PERMISSION_DENIED, (name, scope, code)
        for name, method in every_method():
            assert call_code(channel, name, method, None) == grpc.StatusCode.UNAUTHENTICATED, name
            assert call_code(channel, name, method, "not-a-key-" + "z" * 30) == grpc.StatusCode.UNAUTHENTICATED
            code = call_code(channel, name, method, ALL_SCOPES_KEY)
            assert code not in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED), name


def test_refusals_say_nothing_that_helps_a_guesser(keyed_server):
    with grpc.insecure_channel(keyed_server.target) as channel:
        stub = channel.unary_unary(
            "/dompromise.v1.AvailabilityService/GetAvailability",
            availability_pb2.GetAvailabilityRequest.SerializeToString,
            availability_pb2.GetAvailabilityResponse.FromString,
        )
        details = set()
        for metadata in ((), (("authorization", "Bearer " + KEYS[auth.READ][:-1]),), (("authorization", "Basic x"),)):
            with pytest.raises(grpc.RpcError) as refused:
                stub(availability_pb2.GetAvailabilityRequest(sku_ids=["PAD-1"]), metadata=metadata)
            assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
            details.add(refused.value.details())
        assert len(details) == 1  # a missing key, a near miss and a malformed header read the same


def test_health_is_open_and_reflection_needs_a_key(keyed_server):
    with grpc.insecure_channel(keyed_server.target) as channel:
        health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
        assert health.status == health_pb2.HealthCheckResponse.SERVING
        reflect = reflection_pb2_grpc.ServerReflectionStub(channel).ServerReflectionInfo
        request = reflection_pb2.ServerReflectionRequest(list_services="")
        with pytest.raises(grpc.RpcError) as refused:
            list(reflect(iter([request])))
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
        answers = list(reflect(iter([request]), metadata=(("authorization", f"Bearer {KEYS[auth.PROMISE]}"),)))
        names = {s.name for a in answers for s in a.list_services_response.service}
        assert "dompromise.v1.AvailabilityService" in names


def test_reflection_can_be_closed():
    server = ProductionServer(stocked_replica(), ServingOptions(reflection=False))
    try:
        with grpc.insecure_channel(server.target) as channel:
            reflect = reflection_pb2_grpc.ServerReflectionStub(channel).ServerReflectionInfo
            with pytest.raises(grpc.RpcError) as refused:
                list(reflect(iter([reflection_pb2.ServerReflectionRequest(list_services="")])))
            assert refused.value.code() == grpc.StatusCode.UNIMPLEMENTED
    finally:
        server.stop()


def test_reload_takes_new_keys_and_keeps_old_ones_on_a_bad_file(tmp_path, keys_file):
    ring = KeyRing(keys_file)
    new_key = "freshly-issued-key-" + "n" * 32
    write_keys(tmp_path / "keys.yaml", f"  - name: fresh\n    key: {new_key}\n    scopes: [promise]\n")
    assert ring.by_key(new_key) is None
    assert ring.reload()
    assert ring.by_key(new_key).scopes == {"promise"}
    (tmp_path / "keys.yaml").write_text("keys:\n  - name: short\n    key: tooshort\n    scopes: [promise]\n")
    assert not ring.reload()
    assert ring.by_key(new_key) is not None  # the keys in force stay


def test_a_remembered_key_stops_working_once_the_file_drops_it(tmp_path, keys_file):
    ring = KeyRing(keys_file)
    key = KEYS[auth.READ]
    assert ring.by_key(key) is ring.by_key(key) is not None  # the second from the keys found valid
    assert ring.by_key("not-a-key-" + "q" * 32) is None and ring.by_key("not-a-key-" + "q" * 32) is None
    write_keys(tmp_path / "keys.yaml")  # rewritten without the read key's entry
    text = (tmp_path / "keys.yaml").read_text()
    (tmp_path / "keys.yaml").write_text(text.replace(key, "replacement-key-" + "r" * 32))
    assert ring.reload()
    assert ring.by_key(key) is None
    assert ring.by_key("replacement-key-" + "r" * 32).scopes == {auth.READ}


def test_the_keys_remembered_are_bounded(keys_file, monkeypatch):
    monkeypatch.setattr(auth.limits, "ACCEPTED_KEYS_REMEMBERED_MAX", 2)
    ring = KeyRing(keys_file)
    for key in KEYS.values():
        assert ring.by_key(key) is not None
    assert len(ring._accepted) == 2
    assert all(ring.by_key(key) is not None for key in KEYS.values())  # the others still found, not remembered


def test_a_header_found_valid_is_remembered_whole_and_forgotten_on_reload(tmp_path, keys_file):
    ring = KeyRing(keys_file)
    key = KEYS[auth.READ]
    principal = ring.by_header(f"Bearer {key}")
    assert principal is not None and principal.scopes == {auth.READ}
    assert ring.by_header(f"Bearer {key}") is principal is ring.by_key(key)  # the second from the headers remembered
    assert ring.by_header(f"bearer  {key} ") is principal  # the scheme in any case, spaces around the key
    assert ring.by_header(f"Bearer {key}".encode()) is principal  # as bytes too
    assert ring.by_header(f"Basic {key}") is None and ring.by_header("Bearer ") is None
    unknown = "Bearer not-a-key-" + "q" * 32
    assert ring.by_header(unknown) is None and ring.by_header(unknown) is None
    assert unknown not in ring._accepted_headers  # an unknown key is never remembered: always the constant-time path
    text = (tmp_path / "keys.yaml").read_text()
    (tmp_path / "keys.yaml").write_text(text.replace(key, "replacement-key-" + "r" * 32))
    assert ring.reload()
    assert ring.by_header(f"Bearer {key}") is None
    assert ring.by_header("Bearer replacement-key-" + "r" * 32).scopes == {auth.READ}


def test_the_headers_remembered_are_bounded(keys_file, monkeypatch):
    monkeypatch.setattr(auth.limits, "ACCEPTED_KEYS_REMEMBERED_MAX", 2)
    ring = KeyRing(keys_file)
    for key in KEYS.values():
        assert ring.by_header(f"Bearer {key}") is not None
    assert len(ring._accepted_headers) == 2
    assert all(ring.by_header(f"Bearer {key}") is not None for key in KEYS.values())  # still found, not remembered


def test_a_remembered_key_is_refused_over_grpc_once_reloaded_away(tmp_path, keys_file):
    ring = KeyRing(keys_file)
    server = ProductionServer(stocked_replica(), ServingOptions(keys=ring))
    key = KEYS[auth.READ]
    request = availability_pb2.GetAvailabilityRequest(sku_ids=["PAD-1"])
    try:
        with grpc.insecure_channel(server.target) as channel:
            call = channel.unary_unary(
                "/dompromise.v1.AvailabilityService/GetAvailability",
                request_serializer=availability_pb2.GetAvailabilityRequest.SerializeToString,
                response_deserializer=availability_pb2.GetAvailabilityResponse.FromString,
            )
            for _ in range(2):  # the second call finds the header remembered
                call(request, metadata=(("authorization", f"Bearer {key}"),), timeout=10)
            text = (tmp_path / "keys.yaml").read_text()
            (tmp_path / "keys.yaml").write_text(text.replace(key, "replacement-key-" + "r" * 32))
            assert ring.reload()
            with pytest.raises(grpc.RpcError) as refused:
                call(request, metadata=(("authorization", f"Bearer {key}"),), timeout=10)
            assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
            assert refused.value.details() == auth.UNAUTHENTICATED_DETAILS
    finally:
        server.stop()


@pytest.mark.parametrize(
    "text, message",
    [
        ("keys:\n  - name: a\n    key: short\n    scopes: [promise]\n", "at least 32"),
        ("keys:\n  - name: a\n    key: " + "k" * 40 + "\n    scopes: [admin]\n", "unknown scope"),
        ("keys:\n  - name: a\n    sha256: abc\n    scopes: [promise]\n", "64 hexadecimal"),
        ("keys:\n  - name: a\n    scopes: [promise]\n", "give key, sha256 or subject"),
        ("nothing: here\n", "list `keys:`"),
    ],
)
def test_bad_keys_files_are_refused_naming_the_problem(tmp_path, text, message):
    path = tmp_path / "keys.yaml"
    path.write_text(text)
    with pytest.raises(KeysFileError, match=message):
        KeyRing(str(path))


# ---- TLS and mTLS -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tls")
    ca = trustme.CA()
    server_cert = ca.issue_cert("localhost", "127.0.0.1")
    client_cert = ca.issue_cert("checkout-client")
    files = {
        "ca": folder / "ca.pem",
        "server_cert": folder / "server.pem",
        "server_key": folder / "server.key",
        "client_cert": folder / "client.pem",
        "client_key": folder / "client.key",
    }
    ca.cert_pem.write_to_path(str(files["ca"]))
    server_cert.private_key_pem.write_to_path(str(files["server_key"]))
    with open(files["server_cert"], "wb") as out:
        for blob in server_cert.cert_chain_pems:
            out.write(blob.bytes())
    client_cert.private_key_pem.write_to_path(str(files["client_key"]))
    with open(files["client_cert"], "wb") as out:
        for blob in client_cert.cert_chain_pems:
            out.write(blob.bytes())
    return {name: str(path) for name, path in files.items()}


def availability(channel) -> int:
    stub = channel.unary_unary(
        "/dompromise.v1.AvailabilityService/GetAvailability",
        availability_pb2.GetAvailabilityRequest.SerializeToString,
        availability_pb2.GetAvailabilityResponse.FromString,
    )
    return stub(availability_pb2.GetAvailabilityRequest(sku_ids=["PAD-1"]), timeout=5).items[0].available_quantity


def test_tls_serves_a_client_that_trusts_the_ca_and_refuses_a_plain_one(certificates):
    options = ServingOptions(tls=TlsFiles(certificates["server_cert"], certificates["server_key"]))
    server = ProductionServer(stocked_replica(), options)
    try:
        with open_channel(f"localhost:{server.port}", ChannelSecurity(ca_path=certificates["ca"])) as channel:
            assert availability(channel) > 0
        with grpc.insecure_channel(server.target) as channel, pytest.raises(grpc.RpcError) as refused:
            availability(channel)
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        server.stop()


def test_mtls_refuses_a_client_without_a_certificate_and_maps_a_subject_to_scopes(certificates, tmp_path):
    keys = write_keys(
        tmp_path / "keys.yaml",
        "  - name: checkout-cert\n    subject: checkout-client\n    scopes: [availability:read]\n",
    )
    tls = TlsFiles(certificates["server_cert"], certificates["server_key"], certificates["ca"])
    server = ProductionServer(stocked_replica(), ServingOptions(tls=tls, keys=KeyRing(keys)))
    target = f"localhost:{server.port}"
    try:
        with open_channel(target, ChannelSecurity(ca_path=certificates["ca"])) as channel:
            with pytest.raises(grpc.RpcError) as refused:
                availability(channel)
            assert refused.value.code() == grpc.StatusCode.UNAVAILABLE  # the handshake fails: no RPC at all
        with_cert = ChannelSecurity(certificates["ca"], certificates["client_cert"], certificates["client_key"])
        with open_channel(target, with_cert) as channel:
            assert availability(channel) > 0  # no key: the certificate's subject stands for one
            stub = channel.unary_unary(
                "/dompromise.v1.PromiseService/PromiseDelivery",
                promise_pb2.PromiseDeliveryRequest.SerializeToString,
                promise_pb2.PromiseDeliveryResponse.FromString,
            )
            with pytest.raises(grpc.RpcError) as denied:
                stub(promise_pb2.PromiseDeliveryRequest(), timeout=5)
            assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
        keyed = ChannelSecurity(
            certificates["ca"], certificates["client_cert"], certificates["client_key"], KEYS[auth.READ]
        )
        with open_channel(target, keyed) as channel:
            assert availability(channel) > 0
    finally:
        server.stop()
