"""`serve` with TLS, keys, metrics and JSON logs as an operator runs it: a real process, the client commands
with --tls-ca and --auth-key-file, SIGHUP reloading keys, SIGTERM draining an in-flight call."""

from __future__ import annotations

import json
import signal
import socket
import time
import urllib.request

import grpc
import pytest
import trustme
from grpc_status import rpc_status
from processes import STOP_SECONDS_MAX, Serving, dompromise, until

from dompromise.v1 import availability_pb2, availability_pb2_grpc

READ_KEY = "counter-key-" + "r" * 32
NEW_KEY = "issued-after-start-" + "n" * 32


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def operator(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ops")
    ca = trustme.CA()
    cert = ca.issue_cert("localhost", "127.0.0.1")
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    cert.private_key_pem.write_to_path(str(folder / "server.key"))
    (folder / "server.pem").write_bytes(b"".join(blob.bytes() for blob in cert.cert_chain_pems))
    (folder / "keys.yaml").write_text(
        f"keys:\n  - name: counter\n    key: {READ_KEY}\n    scopes: [availability:read]\n"
    )
    (folder / "counter.key").write_text(READ_KEY + "\n")
    metrics_port = free_port()
    serving = Serving(
        "--in-memory",
        "--tls-cert", str(folder / "server.pem"),
        "--tls-key", str(folder / "server.key"),
        "--auth-keys", str(folder / "keys.yaml"),
        "--metrics-port", str(metrics_port),
        "--no-reflection",
    )  # fmt: skip
    serving.folder = folder
    serving.metrics_port = metrics_port
    serving.port = serving.target.rsplit(":", 1)[1]
    yield serving
    if serving.process.poll() is None:
        serving.process.kill()
        serving.process.wait(STOP_SECONDS_MAX)


def first_sku() -> str:
    from dompromise.demo import network as demo

    return demo.demo_network().skus[0].sku_id


def test_client_commands_speak_tls_with_a_key(operator):
    target = f"localhost:{operator.port}"
    ca = str(operator.folder / "ca.pem")
    health = dompromise("health", "--target", target, "--tls-ca", ca)
    assert health.returncode == 0 and "SERVING" in health.stdout, health.stderr
    plain = dompromise("health", "--target", target, "--timeout", "1")
    assert plain.returncode == 1  # a plain client gets no answer from a TLS port
    keyed = dompromise(
        "lookup",
        first_sku(),
        "--target",
        target,
        "--tls-ca",
        ca,
        "--auth-key-file",
        str(operator.folder / "counter.key"),
    )
    assert keyed.returncode == 0, keyed.stderr
    assert first_sku() in keyed.stdout
    keyless = dompromise("lookup", first_sku(), "--target", target, "--tls-ca", ca)
    assert keyless.returncode == 2 and "UNAUTHENTICATED" in keyless.stderr


def test_sighup_reloads_the_keys_file(operator):
    target = f"localhost:{operator.port}"
    ca = str(operator.folder / "ca.pem")
    (operator.folder / "new.key").write_text(NEW_KEY)
    args = (
        "lookup",
        first_sku(),
        "--target",
        target,
        "--tls-ca",
        ca,
        "--auth-key-file",
        str(operator.folder / "new.key"),
    )
    assert dompromise(*args).returncode == 2
    keys = operator.folder / "keys.yaml"
    keys.write_text(keys.read_text() + f"  - name: new\n    key: {NEW_KEY}\n    scopes: [availability:read]\n")
    operator.process.send_signal(signal.SIGHUP)
    until(lambda: dompromise(*args).returncode == 0, "the new key works after SIGHUP", seconds=20, interval_seconds=0.5)


def test_metrics_page_of_a_served_process(operator):
    with urllib.request.urlopen(f"http://127.0.0.1:{operator.metrics_port}/metrics", timeout=5) as answer:
        text = answer.read().decode()
    assert "grpc_server_handled_total" in text
    assert "dompromise_log_position" in text


def test_sigterm_lets_an_in_flight_call_finish_then_exits_0(tmp_path):
    serving = Serving("--in-memory", "--log-format", "json")
    try:
        with grpc.insecure_channel(serving.target) as channel:
            get = availability_pb2_grpc.AvailabilityServiceStub(channel).GetAvailability
            # A read asking for a position never reached waits (MIN_POSITION_WAIT_MS_MAX, 2 s) then answers.
            waiting = get.future(
                availability_pb2.GetAvailabilityRequest(sku_ids=[first_sku()]),
                metadata=(("x-dompromise-min-position", "999999999"),),
                timeout=15,
            )
            time.sleep(0.5)
            serving.process.send_signal(signal.SIGTERM)
            with pytest.raises(grpc.RpcError) as finished:
                waiting.result()
            # The handler ran to its own answer (POSITION_NOT_REACHED), it was not cut off (CANCELLED).
            assert finished.value.code() == grpc.StatusCode.UNAVAILABLE, finished.value
            assert "POSITION_NOT_REACHED" in str(rpc_status.from_call(finished.value))
        assert serving.process.wait(STOP_SECONDS_MAX) == 0
    finally:
        if serving.process.poll() is None:
            serving.process.kill()
    lines = [json.loads(line) for line in serving.stderr_text().splitlines() if line.startswith("{")]
    assert any("NOT_SERVING" in line["message"] or "draining" in line["message"] for line in lines), lines
    assert all({"time", "level", "message", "request_id", "trace_id"} <= set(line) for line in lines)


def test_a_bad_keys_file_refuses_to_start(tmp_path):
    (tmp_path / "keys.yaml").write_text("keys:\n  - name: a\n    key: short\n    scopes: [promise]\n")
    result = dompromise("serve", "--in-memory", "--port", "0", "--auth-keys", str(tmp_path / "keys.yaml"))
    assert result.returncode == 2
    assert "at least 32" in result.stderr


def test_client_options_refuse_half_an_mtls_pair(tmp_path):
    result = dompromise("health", "--tls-ca", "ca.pem", "--tls-cert", "client.pem")
    assert result.returncode == 2
    assert "--tls-cert and --tls-key go together" in result.stderr
