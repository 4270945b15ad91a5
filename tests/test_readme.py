"""The README's Python examples run against a real server, so the docs cannot rot."""

from __future__ import annotations

import pathlib
import re

from processes import Serving

README = pathlib.Path(__file__).resolve().parent.parent / "README.md"


def test_readme_python_examples_run(tmp_path, capsys):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert len(blocks) >= 2
    serving = Serving("--in-memory")
    try:
        namespace: dict = {}
        for block in blocks:
            exec(block.replace("127.0.0.1:50051", serving.target), namespace)  # noqa: S102 - our own docs
    finally:
        assert serving.stop() == 0
    printed = capsys.readouterr().out
    assert "FLT-FUE-50127" in printed
    assert "parcel" in printed or "route" in printed, "the promise example printed no option"
    assert namespace["token"].startswith("v1.")
