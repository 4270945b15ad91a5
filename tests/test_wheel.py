"""The slim install: a wheel builds, installs in a clean venv (runtime dependencies only) and serves; the
generated stubs work for a client without the compiled core."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import venv

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
# Building the core and installing the runtime dependencies from the package index, in seconds.
BUILD_SECONDS_MAX = 600
INSTALL_SECONDS_MAX = 300
DEV_ONLY = ("pytest", "hypothesis", "matplotlib", "psycopg", "grpcio-tools", "Cython", "mypy")


@pytest.mark.slow
def test_a_wheel_installs_in_a_clean_venv_and_serves(tmp_path):
    wheels = tmp_path / "wheels"
    # The build tools of this venv (Cython, numpy, setuptools): the build itself downloads nothing.
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", str(wheels), "."],
        cwd=ROOT,
        check=True,
        timeout=BUILD_SECONDS_MAX,
        capture_output=True,
    )
    (wheel,) = wheels.glob("dompromise-*.whl")
    clean = tmp_path / "venv"
    venv.create(clean, with_pip=True)
    python = str(clean / "bin" / "python")
    subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(wheel)],
        check=True,
        timeout=INSTALL_SECONDS_MAX,
        capture_output=True,
    )
    installed = subprocess.run([python, "-m", "pip", "list"], capture_output=True, text=True, check=True).stdout
    for name in DEV_ONLY:
        assert f"\n{name} " not in installed, f"{name} is a developer's dependency, installed by the wheel"
    outside = tmp_path / "elsewhere"  # not the repository: the installed package, not the source tree
    outside.mkdir()
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    serve = subprocess.Popen(
        [str(clean / "bin" / "dompromise"), "serve", "--in-memory", "--port", "0"],
        cwd=outside,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = serve.stdout.readline()
        assert "serving on" in line, serve.stderr.read() if serve.poll() is not None else line
        target = line.strip().rsplit(" ", 1)[-1]
        health = subprocess.run(
            [str(clean / "bin" / "dompromise"), "health", "--target", target],
            cwd=outside,
            env=environment,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert health.returncode == 0 and "SERVING" in health.stdout, health.stderr
    finally:
        serve.terminate()
        serve.wait(30)


def test_the_stubs_serve_a_client_without_the_core():
    # A client imports dompromise.v1 and dompromise.client.channel: neither may need the compiled core.
    code = (
        "import sys; sys.modules['dompromise._core'] = None\n"
        "from dompromise.v1 import availability_pb2, availability_pb2_grpc, reservation_pb2_grpc\n"
        "from dompromise.client.channel import ChannelSecurity, open_channel\n"
        "open_channel('127.0.0.1:1', ChannelSecurity(auth_key='k' * 32)).close()\n"
        "print(availability_pb2.GetAvailabilityRequest(sku_ids=['A']).sku_ids[0])\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "A"
