"""The .pyi stubs of the compiled modules (the core, dompromise/wire) say exactly what they have, and type-check
strictly.

mypy.stubtest imports each compiled module and compares it with its stub: every public name on
both sides, each function's and method's parameters (names, kinds, defaults), properties, final
and disjoint-base classes. It does not compare enum values, so the stub's IntEnum numbers are
checked here against the module's. Then mypy --strict runs over the stubs and the package.
"""

from __future__ import annotations

import ast
import enum
import os
import pathlib
import subprocess
import sys

import pytest

from dompromise._core import promise, state, transport
from dompromise.inventory import _records
from dompromise.wire import availability, outcomes, promise_request
from dompromise.wire import promise as promise_wire

ROOT = pathlib.Path(__file__).resolve().parents[2]
CORE = ROOT / "dompromise" / "_core"
# Every compiled module (setup.py's extensions): the core, the record applier, the wire writers.
MODULES = [state, transport, promise, _records, availability, outcomes, promise_wire, promise_request]
ALLOWLIST = pathlib.Path(__file__).with_name("stubtest_allowlist.txt")
MYPY_SECONDS_MAX = 180  # stubtest over the eight modules: ~10 s alone; the machine is shared


def stub_of(module) -> pathlib.Path:
    return ROOT / (module.__name__.replace(".", "/") + ".pyi")


def stubtest(work_dir: pathlib.Path, stub_root: pathlib.Path = ROOT):
    """stubtest of the compiled modules against the stubs under stub_root, run in work_dir: the
    cache mypy writes in its working directory stays out of the worktree."""
    return subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "--allowlist", str(ALLOWLIST), *[m.__name__ for m in MODULES]],
        cwd=work_dir,
        env={**os.environ, "PYTHONPATH": str(ROOT), "MYPYPATH": str(stub_root)},
        capture_output=True,
        text=True,
        timeout=MYPY_SECONDS_MAX,
    )


@pytest.mark.slow
@pytest.mark.timeout(MYPY_SECONDS_MAX + 30)
def test_stubs_match_the_compiled_modules(tmp_path):
    result = stubtest(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
@pytest.mark.timeout(MYPY_SECONDS_MAX + 30)
def test_stubtest_fails_on_a_wrong_stub(tmp_path):
    """A stub that renames one parameter and drops one method, shadowing the real one through
    MYPYPATH: stubtest must report both, or the test above proves nothing."""
    stubs = tmp_path / "stubs" / "dompromise" / "_core"
    stubs.mkdir(parents=True)
    (stubs.parent / "__init__.pyi").write_text("")
    (stubs / "__init__.pyi").write_text("")
    (stubs.parent / "wire").mkdir()
    (stubs.parent / "wire" / "__init__.pyi").write_text("")
    # inventory/_records.pyi names other inventory modules: shadowing that package would hide them.
    for module in [module for module in MODULES if module is not _records]:
        text = stub_of(module).read_text()
        if module is state:
            assert "def net_on_hand(self, sku: int, node: int) -> int: ..." in text
            text = text.replace(
                "def net_on_hand(self, sku: int, node: int)", "def net_on_hand(self, sku: int, slot: int)"
            )
            assert "    def supply_layout(self) -> npt.NDArray[np.int64]: ...\n" in text
            text = text.replace("    def supply_layout(self) -> npt.NDArray[np.int64]: ...\n", "")
        (stubs.parent / stub_of(module).parent.name / stub_of(module).name).write_text(text)
    result = stubtest(tmp_path, tmp_path / "stubs")
    assert result.returncode != 0
    assert "dompromise._core.state.Core.net_on_hand is inconsistent" in result.stdout, result.stdout
    assert "dompromise._core.state.Core.supply_layout is not present in stub" in result.stdout, result.stdout


@pytest.mark.slow
@pytest.mark.timeout(MYPY_SECONDS_MAX + 30)
def test_stubs_and_package_pass_mypy_strict(tmp_path):
    """The stubs and the package's __init__.py (what `python -m mypy dompromise/_core` checks)."""
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path), "dompromise/_core", "dompromise/wire"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=MYPY_SECONDS_MAX,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def stub_enums(stub_text: str) -> dict[str, dict[str, int]]:
    """{class name: {member: number}} of every IntEnum class a stub declares."""
    enums = {}
    for node in ast.parse(stub_text).body:
        if isinstance(node, ast.ClassDef) and any(ast.unparse(base) == "enum.IntEnum" for base in node.bases):
            enums[node.name] = {
                member.targets[0].id: ast.literal_eval(member.value)
                for member in node.body
                if isinstance(member, ast.Assign)
            }
    return enums


def runtime_enums(module) -> dict[str, dict[str, int]]:
    return {
        name: {member.name: member.value for member in value}
        for name, value in vars(module).items()
        if isinstance(value, type) and issubclass(value, enum.IntEnum) and value.__module__ == module.__name__
    }


def test_stub_enum_numbers_are_the_modules():
    for module in MODULES:
        assert stub_enums(stub_of(module).read_text()) == runtime_enums(module), module.__name__


def test_the_enum_check_sees_a_wrong_number():
    text = (CORE / "state.pyi").read_text().replace("    STALE = 15\n", "    STALE = 16\n")
    assert stub_enums(text) != runtime_enums(state)
