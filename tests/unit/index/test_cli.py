"""`codeflow index DIR [--json] [--no-history]` through the real CLI entry point."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from lsp_server.cli import main

from .helpers import git, write


def _repo(root: Path) -> None:
    write(root, "app.py", "def app():\n    return helper()\n")
    write(root, "lib.py", "def helper():\n    return 1\n")
    write(root, "big.js", "x" * 2_000_000)
    git(root, "init", "-q")
    git(root, "add", "app.py", "lib.py")
    git(root, "commit", "-qm", "first")
    write(root, "lib.py", "def helper():\n    return 2\n")
    git(root, "commit", "-qam", "second")


def test_index_json_without_history(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _repo(tmp_path)
    assert main(["index", str(tmp_path), "--json", "--no-history"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {k: out[k] for k in ("files", "symbols", "refs", "commits", "languages", "skipped",
                                "rebuilt")} == {
        "files": 2, "symbols": 2, "refs": 1, "commits": 0, "languages": {"python": 2},
        "skipped": {"too_large": 1}, "rebuilt": False,
    }
    assert isinstance(out["seconds"], float)
    assert "history_error" not in out


def test_index_json_with_history(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _repo(tmp_path)
    assert main(["index", str(tmp_path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["files"] == 2
    try:
        import context.history  # noqa: F401
    except ImportError:
        assert (out["commits"], "history_error" in out) == (0, True)
    else:
        if "history_error" in out:  # the history room is still being built: said, not crashed
            assert out["commits"] == 0 and isinstance(out["history_error"], str)
        else:
            assert out["commits"] == 2


def test_history_not_importable_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    _repo(tmp_path)
    monkeypatch.setitem(sys.modules, "context.history", None)  # import now raises ImportError
    assert main(["index", str(tmp_path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["commits"] == 0
    assert out["history_error"].startswith("history unavailable")


def test_index_text_output_and_bad_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _repo(tmp_path)
    assert main(["index", str(tmp_path), "--no-history"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:5] == ["files    2 (python 2)", "symbols  2", "refs     1",
                         "skipped  too_large 1", "commits  0"]
    assert main(["index", str(tmp_path / "nope")]) == 2
    assert "is not a directory" in capsys.readouterr().err
