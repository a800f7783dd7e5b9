"""Code flow for fix prompts: `context.history`'s region flow (ingested history, and the git
CLI while there is none) and the fixes feature's choice between them."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from actions.fixing import Target
from actions.regions import Region
from context.history import git_region_flow, region_flow
from lsp_server.features import fixes

from .fixflow import BUG_COMMIT, make_workspace

MEAN = Region(11, 14, "mean", "")


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_workspace(tmp_path_factory.mktemp("flow") / "ws")


def _from_history(history: Any, target: Target) -> str:
    r = target.region
    return region_flow(history, target.path, r.start_line, r.end_line)


def _from_git(root: Path, target: Target) -> str:
    r = target.region
    return git_region_flow(root, target.path, r.start_line, r.end_line)


def test_code_flow_from_git_shows_the_commit_that_broke_mean(ws: Path) -> None:
    target = Target("calc.py", MEAN, (ws / "calc.py").read_text())
    flow = _from_git(ws, target)
    assert flow.splitlines()[0].endswith(BUG_COMMIT)
    assert "-    count = len(values)\n+    count = len(values) - 1" in flow
    assert "uncommitted" not in flow


def test_code_flow_includes_uncommitted_changes(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws")
    (root / "calc.py").write_text(
        (root / "calc.py").read_text().replace("result = 0", "result = 1")
    )
    target = Target("calc.py", Region(3, 8, "total", ""), (root / "calc.py").read_text())
    flow = _from_git(root, target)
    assert "uncommitted changes:\n" in flow
    assert "-    result = 0\n+    result = 1" in flow


def _history(root: Path, store: Path) -> Any:
    from context.history import History

    history = History(root, store_path=store)
    assert history.available
    history.ingest()
    return history


def test_code_flow_from_history_shows_the_commit_that_broke_mean(tmp_path: Path) -> None:
    """The primary path, called directly: `git log -L` (the fallback) cannot stand in for it."""
    root = make_workspace(tmp_path / "ws")
    history = _history(root, tmp_path / "history.sqlite3")
    try:
        target = Target("calc.py", MEAN, (root / "calc.py").read_text())
        flow = _from_history(history, target)
        first = (flow.splitlines() or [""])[0]
        assert first.startswith("commit ") and first.endswith(BUG_COMMIT)
        assert "-    count = len(values)\n+    count = len(values) - 1" in flow
        assert "uncommitted" not in flow
        (root / "calc.py").write_text(target.text.replace("/ count", "/ (count or 1)"))
        flow = _from_history(history, target)
        assert "uncommitted changes:\n" in flow
        assert "+    return total(values) / (count or 1)" in flow
    finally:
        history.close()


def test_code_flow_prefers_history_over_the_git_fallback(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws")
    history = _history(root, tmp_path / "history.sqlite3")
    try:
        target = Target("calc.py", MEAN, (root / "calc.py").read_text())
        ls = SimpleNamespace(root=None, services=SimpleNamespace(history=history))  # no fallback
        assert fixes.code_flow(ls, target) == _from_history(history, target)[
            : fixes.FLOW_CHARS]
        assert BUG_COMMIT in fixes.code_flow(ls, target)
    finally:
        history.close()
