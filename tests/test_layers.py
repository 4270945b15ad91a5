"""One direction of imports: service -> engine -> _core. Checked by reading the sources."""

from __future__ import annotations

import ast
import pathlib

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "dompromise"

# Top-level modules each layer may not import.
FORBIDDEN = {
    "_core": {"grpc", "grpc_status", "grpc_health", "grpc_reflection", "google", "redis", "yaml", "socket",
              "time", "datetime", "os", "dompromise.service", "dompromise.engine", "dompromise.v1"},
    "engine": {"grpc", "google", "dompromise.service", "dompromise.v1"},
    "model": {"grpc", "google", "dompromise.service", "dompromise.v1", "dompromise.engine", "os", "socket"},
    "config": {"grpc", "google", "dompromise.service", "dompromise.v1", "dompromise.engine"},
    "service": {"dompromise._core", "numpy"},
    "log": {"grpc", "google.rpc", "dompromise.service", "dompromise.v1", "dompromise._core"},
}


def imported_modules(path: pathlib.Path) -> set[str]:
    if path.suffix == ".pyx":
        # Cython: the Python-level import statements are the same syntax.
        lines = [l for l in path.read_text().splitlines() if l.startswith(("import ", "from ")) and " cimport " not in l]
        tree = ast.parse("\n".join(lines))
    else:
        tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def violates(name: str, forbidden: set[str]) -> bool:
    return any(name == f or name.startswith(f + ".") for f in forbidden)


def layer_files(layer: str):
    directory = PACKAGE / layer
    if directory.is_dir():
        return [p for p in directory.rglob("*") if p.suffix in (".py", ".pyx")]
    return [PACKAGE / f"{layer}.py"]


def test_layers_import_only_downwards():
    problems = []
    for layer, forbidden in FORBIDDEN.items():
        for path in layer_files(layer):
            problems += [f"{path.name} imports {name}" for name in imported_modules(path) if violates(name, forbidden)]
    assert problems == []


def test_core_files_exist_and_are_checked():
    assert (PACKAGE / "_core" / "state.pyx").exists()
    assert "numpy" in imported_modules(PACKAGE / "_core" / "state.pyx")
