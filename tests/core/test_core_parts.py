"""The compiled core stays in parts of a readable size, and its parts hide no imports.

state.pyx includes its state_*.pxi parts. tests/test_layers.py reads the imports of .pyx and .pxd
files only, so an import in a part would escape it: the parts have none.
"""

from __future__ import annotations

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]
CORE = ROOT / "dompromise" / "_core"
SOURCE_LINES_MAX = 1_000  # a file past this is a part waiting to be named
IMPORT = re.compile(r"^\s*(?:from\s+\S+\s+c?import\b|c?import\s)", re.MULTILINE)
INCLUDE = re.compile(r'^include\s+"([^"]+)"', re.MULTILINE)


def test_every_source_is_under_the_line_limit():
    sources = [*CORE.glob("*.pyx"), *CORE.glob("*.pxi"), *CORE.glob("*.pxd")]
    assert sources
    long = {path.name: len(path.read_text().splitlines()) for path in sources}
    assert {name: lines for name, lines in long.items() if lines > SOURCE_LINES_MAX} == {}


def test_parts_import_nothing():
    parts = sorted(CORE.glob("*.pxi"))
    assert parts
    assert {path.name: IMPORT.findall(path.read_text()) for path in parts if IMPORT.search(path.read_text())} == {}


def test_every_part_is_included_once():
    included = [name for path in CORE.glob("*.pyx") for name in INCLUDE.findall(path.read_text())]
    assert sorted(included) == sorted(path.name for path in CORE.glob("*.pxi"))
