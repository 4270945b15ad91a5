"""The architecture, checked by reading the sources: every package, every import at any depth, cimports too.

Layers, lowest first: `_core` (Cython, no I/O, no clock) <- `wire` (answers written as protobuf bytes from the
core's arrays), `model` <- `config`, `demo`, `reservations` <- `inventory` <- `promise` <- `log` / `replica` <-
`service` <- `http` <- `cli`. `client` stands apart: generated stubs and grpc only, so a client never drags the
engine in. A module that is not in a layer below fails the test:
a new package must say where it stands.
"""

from __future__ import annotations

import ast
import pathlib
import re
from collections.abc import Iterator

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "dompromise"
GENERATED = ("v1", "internal")

# The dompromise modules each layer may import (a name allows itself and everything below it).
ALLOWED: dict[str, tuple[str, ...]] = {
    "_core": ("_core",),
    # Protobuf wire bytes written from the core's arrays (cimports its declarations); imports no protobuf.
    "wire": ("wire", "_core"),
    "errors": (),
    "limits": (),
    "gc_pause": (),
    "model": ("model", "limits", "errors"),
    "config": ("config", "model", "limits", "errors", "gc_pause"),
    "demo": ("demo", "model", "limits"),
    "reservations": ("reservations", "model", "limits", "errors", "_core"),
    "inventory": ("inventory", "reservations", "model", "limits", "errors", "_core", "wire", "internal", "gc_pause"),
    "promise": ("promise", "inventory", "reservations", "model", "limits", "errors", "_core", "internal"),
    "log": ("log", "limits", "errors", "gc_pause", "internal"),
    "replica": ("replica", "log", "inventory", "reservations", "model", "limits", "errors", "gc_pause", "internal"),
    "service": (
        "service",
        "wire",
        "replica",
        "log",
        "promise",
        "inventory",
        "reservations",
        "model",
        "limits",
        "errors",
        "internal",
        "v1",
    ),
    # HTTP/JSON beside gRPC: the same servicers, so it stands on the service layer and may import what it may.
    "http": (
        "http",
        "service",
        "wire",
        "replica",
        "log",
        "promise",
        "inventory",
        "reservations",
        "model",
        "limits",
        "errors",
        "internal",
        "v1",
    ),
    "client": ("client", "limits", "errors", "v1"),
    # Above the domain engines, beside service: drives a replica, the promise engine and the log in-process;
    # with --target, a server through the public stubs (v1), as a client does.
    "simulate": (
        "simulate",
        "replica",
        "log",
        "promise",
        "inventory",
        "reservations",
        "model",
        "config",
        "demo",
        "limits",
        "errors",
        "internal",
        "v1",
    ),
    "cli": ("*",),
    "__main__": ("cli",),
    "__init__": (),
}

# Outside modules a layer may never import: the core does no I/O and reads no clock; the service layer knows
# nothing of array layouts; the client needs nothing but grpc and the generated stubs.
IO_AND_CLOCK = (
    "os",
    "io",
    "time",
    "datetime",
    "socket",
    "pathlib",
    "asyncio",
    "threading",
    "subprocess",
    "logging",
    "random",
    "grpc",
    "grpc_status",
    "grpc_health",
    "grpc_reflection",
    "google",
    "redis",
    "yaml",
    "shutil",
    "tempfile",
    "signal",
)
FORBIDDEN_OUTSIDE: dict[str, tuple[str, ...]] = {
    "_core": IO_AND_CLOCK,
    "wire": IO_AND_CLOCK,
    "model": ("grpc", "google", "redis", "socket", "os", "asyncio"),
    "config": ("grpc", "google", "redis", "socket", "asyncio"),
    "inventory": ("grpc", "google.rpc", "redis", "socket", "asyncio"),
    "promise": ("grpc", "google.rpc", "redis", "socket", "asyncio"),
    "reservations": ("grpc", "google.rpc", "redis", "socket", "asyncio"),
    "log": ("grpc", "google.rpc", "numpy.random"),
    "service": ("numpy", "redis"),
    "http": ("numpy", "redis"),
    "client": ("numpy", "redis", "yaml"),
}

IMPORT_LINE = re.compile(r"^\s*(?:from\s+([\w.]+)\s+(c?import)\s+(.+)|(c?import)\s+(.+))$")


def layer_of(path: pathlib.Path) -> str:
    parts = path.relative_to(PACKAGE).parts
    return parts[0] if len(parts) > 1 else path.stem


def module_of(path: pathlib.Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def source_files() -> Iterator[pathlib.Path]:
    for path in sorted(PACKAGE.rglob("*")):
        if path.suffix not in (".py", ".pyx", ".pxd", ".pxi", ".pyi"):
            continue
        if path.relative_to(PACKAGE).parts[0] in GENERATED:
            continue
        yield path


def is_module(name: str) -> bool:
    relative = pathlib.Path(*name.split("."))
    return (
        any((ROOT / relative).with_suffix(suffix).exists() for suffix in (".py", ".pyx"))
        or (ROOT / relative / "__init__.py").exists()
    )


def imports_of(path: pathlib.Path) -> set[str]:
    """Every module `path` imports or cimports, at any depth (functions and TYPE_CHECKING blocks included)."""
    names: set[str] = set()
    if path.suffix in (".py", ".pyi"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
                names.update(
                    f"{node.module}.{alias.name}" for alias in node.names if is_module(f"{node.module}.{alias.name}")
                )
            elif isinstance(node, ast.ImportFrom):
                raise AssertionError(f"{path}: relative import; use the absolute name")
        return names
    for line in path.read_text().splitlines():
        match = IMPORT_LINE.match(line.split("#", 1)[0].rstrip())
        if not match:
            continue
        if match.group(1):
            module = match.group(1)
            names.add(module)
            for alias in match.group(3).strip("()").split(","):
                leaf = alias.strip().split(" as ")[0].strip()
                if leaf and is_module(f"{module}.{leaf}"):
                    names.add(f"{module}.{leaf}")
        else:
            names.update(alias.strip().split(" as ")[0] for alias in match.group(5).split(","))
    return names


def dompromise_layer(name: str) -> str | None:
    parts = name.split(".")
    if parts[0] != "dompromise" or len(parts) == 1:
        return None  # `from dompromise import x` is judged by x
    return parts[1] if len(parts) > 1 else "__init__"


def test_every_module_has_a_layer():
    unknown = sorted({layer_of(path) for path in source_files()} - set(ALLOWED))
    assert unknown == [], f"packages or top-level modules missing from ALLOWED: {unknown}"


def test_imports_point_down():
    problems = []
    for path in source_files():
        layer = layer_of(path)
        allowed = ALLOWED[layer]
        for name in sorted(imports_of(path)):
            target = dompromise_layer(name)
            if target is not None:
                if "*" not in allowed and target not in allowed and target != layer:
                    problems.append(f"{path.relative_to(ROOT)} ({layer}) imports {name}")
            elif any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN_OUTSIDE.get(layer, ())):
                problems.append(f"{path.relative_to(ROOT)} ({layer}) imports {name}")
    assert problems == [], problems


def test_no_import_circles():
    graph: dict[str, set[str]] = {}
    for path in source_files():
        if path.suffix in (".pyi", ".pxi") or (path.suffix == ".pxd" and not path.with_suffix(".pyx").exists()):
            continue
        source = module_of(path)
        targets = {name for name in imports_of(path) if name.startswith("dompromise") and is_module(name)}
        graph.setdefault(source, set()).update(target for target in targets if target != source)
    circles = []
    state: dict[str, int] = {}

    def visit(module: str, trail: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph.get(module, ())):
            if state.get(target) == 1:
                circles.append(" -> ".join(trail[trail.index(target) :] + [target]))
            elif target not in state:
                visit(target, trail + [target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert circles == [], circles


def test_no_private_names_across_modules():
    """A module that needs another's private name is in the wrong place (STYLE.md)."""
    problems = []
    for path in source_files():
        if path.suffix != ".py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("dompromise"):
                problems += [
                    f"{path.relative_to(ROOT)} imports {node.module}.{alias.name}"
                    for alias in node.names
                    if alias.name.startswith("_") and alias.name != "_core"
                ]
    assert problems == [], problems


@pytest.mark.parametrize(
    "text, expected",
    [
        ("    from dompromise.log import FileLog\n", {"dompromise.log"}),
        ("from dompromise._core.state cimport Core\n", {"dompromise._core.state"}),
        ("cimport numpy as cnp\n", {"numpy"}),
    ],
)
def test_imports_are_seen_at_any_depth_and_in_cython(tmp_path, text, expected):
    suffix = ".pyx" if "cimport" in text else ".py"
    path = tmp_path / f"probe{suffix}"
    path.write_text(("def f():\n" if suffix == ".py" else "") + text)
    assert expected <= imports_of(path)


def test_core_files_exist_and_are_checked():
    files = {path.name for path in source_files() if layer_of(path) == "_core"}
    assert {"state.pyx", "state.pxd", "transport.pyx", "promise.pyx"} <= files
    assert "numpy" in imports_of(PACKAGE / "_core" / "state.pyx")
