"""examples/node/checkout.js (grpc-js + proto-loader, keepCase, int64 as strings) against a real server."""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess

import pytest
from processes import STOP_SECONDS_MAX, Serving

EXAMPLE = pathlib.Path(__file__).resolve().parent.parent / "examples" / "node"
KEY = "node-checkout-key-" + "k" * 32
# npm ci from the registry, and the example's three calls, in seconds.
NPM_SECONDS_MAX = 180
RUN_SECONDS_MAX = 60


@pytest.fixture(scope="module")
def node_example():
    if shutil.which("node") is None or shutil.which("npm") is None:
        if os.environ.get("CI") == "true":
            raise AssertionError("node and npm are needed for the Node example in CI (.ci/run installs them)")
        pytest.skip("node/npm not installed (CI installs them)")
    if not (EXAMPLE / "node_modules" / "@grpc" / "grpc-js").exists():
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"],
            cwd=EXAMPLE,
            check=True,
            timeout=NPM_SECONDS_MAX,
            capture_output=True,
        )
    return EXAMPLE


def test_the_node_checkout_example_runs_against_a_keyed_server(node_example, tmp_path):
    keys = tmp_path / "keys.yaml"
    keys.write_text(f"keys:\n  - name: checkout\n    key: {KEY}\n    scopes: [availability:read, promise, reserve]\n")
    serving = Serving("--in-memory", "--auth-keys", str(keys))
    try:
        run = subprocess.run(
            ["node", "checkout.js", serving.target],
            cwd=node_example,
            env=dict(os.environ, DOMPROMISE_AUTH_KEY=KEY),
            capture_output=True,
            text=True,
            timeout=RUN_SECONDS_MAX,
        )
        assert run.returncode == 0, run.stderr
        steps = {line["step"]: line for line in map(json.loads, run.stdout.splitlines())}
        assert int(steps["availability"]["available_quantity"]) > 0
        assert steps["promise"]["options"] >= 1
        assert steps["reserve"]["reservation_id"]
        assert isinstance(steps["reserve"]["log_position"], str)  # int64 as a string: no precision lost
        keyless = subprocess.run(
            ["node", "checkout.js", serving.target],
            cwd=node_example,
            capture_output=True,
            text=True,
            timeout=RUN_SECONDS_MAX,
        )
        assert keyless.returncode == 1 and "UNAUTHENTICATED" in keyless.stderr
    finally:
        serving.stop() if serving.process.poll() is None else None
        if serving.process.poll() is None:
            serving.process.kill()
            serving.process.wait(STOP_SECONDS_MAX)
