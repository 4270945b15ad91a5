"""The .pyi stubs of the compiled modules outside the core say exactly what the modules have.

As tests/core/test_core_typing.py does for the core: mypy.stubtest imports each module and compares it
with its stub (names, parameters, defaults, disjoint bases). Cython's own artefacts (pickling helpers,
the doctest table) are the only names allowed without a stub.
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
MODULES = ("dompromise.inventory._records", "dompromise.wire.outcomes", "dompromise.wire._promise")
ALLOWED = r"dompromise\.(inventory|wire)\.\w+\.(\w+\.)?__(reduce_cython|setstate_cython|test)__"
STUBTEST_SECONDS_MAX = 180  # the machine is shared


@pytest.mark.slow
@pytest.mark.timeout(STUBTEST_SECONDS_MAX + 30)
def test_stubs_match_the_compiled_modules(tmp_path):
    allowlist = tmp_path / "allowlist.txt"
    allowlist.write_text(ALLOWED + "\n")
    result = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "--allowlist", str(allowlist), *MODULES],
        cwd=tmp_path,  # mypy's cache stays out of the worktree
        env={**os.environ, "PYTHONPATH": str(ROOT), "MYPYPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=STUBTEST_SECONDS_MAX,
    )
    assert result.returncode == 0, result.stdout + result.stderr
