"""stubtest really checks the compiled PromiseDeliveryResponse encoder's stub (tests/test_compiled_stubs.py runs
it over the module): a stub with a renamed parameter fails it.
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
STUB = ROOT / "dompromise" / "wire" / "_promise.pyi"
MODULE = "dompromise.wire._promise"
# Cython's own artefacts in every module: the doctest table.
ALLOWLIST = r"dompromise\.wire\.\w+\.__(reduce_cython|setstate_cython|test)__"
MYPY_SECONDS_MAX = 180  # the machine is shared


def stubtest(work_dir: pathlib.Path, stub_root: pathlib.Path = ROOT) -> subprocess.CompletedProcess[str]:
    allowlist = work_dir / "allowlist.txt"
    allowlist.write_text(ALLOWLIST + "\n")
    return subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "--allowlist", str(allowlist), MODULE],
        cwd=work_dir,
        env={**os.environ, "PYTHONPATH": str(ROOT), "MYPYPATH": str(stub_root)},
        capture_output=True,
        text=True,
        timeout=MYPY_SECONDS_MAX,
    )


@pytest.mark.slow
@pytest.mark.timeout(MYPY_SECONDS_MAX + 30)
def test_stubtest_fails_on_a_renamed_parameter(tmp_path):
    stubs = tmp_path / "stubs" / "dompromise" / "wire"
    stubs.mkdir(parents=True)
    (stubs.parent / "__init__.pyi").write_text("")
    (stubs / "__init__.pyi").write_text("")
    text = STUB.read_text()
    assert "    currency: str,\n" in text
    (stubs / STUB.name).write_text(text.replace("    currency: str,\n", "    currency_code: str,\n"))
    result = stubtest(tmp_path, tmp_path / "stubs")
    assert result.returncode != 0
    assert f"{MODULE}.promise_response is inconsistent" in result.stdout, result.stdout
