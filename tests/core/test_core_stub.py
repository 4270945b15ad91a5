"""The .pyi stub of the compiled core names only what the module really has.

A quick check without mypy; test_core_typing.py runs mypy.stubtest, which checks both ways.
"""

from __future__ import annotations

import ast
import pathlib

from dompromise._core import state

STUB = pathlib.Path(state.__file__).with_name("state.pyi")


def test_every_stub_name_exists_in_the_compiled_module():
    tree = ast.parse(STUB.read_text())
    missing = []
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            cls = getattr(state, node.name, None)
            if cls is None:
                missing.append(node.name)
                continue
            for member in node.body:
                name = (
                    member.name
                    if isinstance(member, ast.FunctionDef)
                    else getattr(member.target, "id", None)
                    if isinstance(member, ast.AnnAssign)
                    else None
                )
                if name and name != "__init__" and not hasattr(cls, name):
                    missing.append(f"{node.name}.{name}")
        elif isinstance(node, ast.AnnAssign) and ast.unparse(node.annotation) == "TypeAlias":
            continue  # a name for a type, in the stub only
        elif isinstance(node, ast.AnnAssign) and not hasattr(state, node.target.id):
            missing.append(node.target.id)
    assert missing == []
