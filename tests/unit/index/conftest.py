"""Fixtures of the index tests: a private cache dir, the polyglot workspace, git helpers."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from context.index import WorkspaceIndex

DATA = Path(__file__).resolve().parents[2] / "data" / "index"


@pytest.fixture(autouse=True)
def cache_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("CODEFLOW_CACHE_DIR", str(path))
    return path


@pytest.fixture
def polyglot(tmp_path: Path) -> Path:
    root = tmp_path / "polyglot"
    shutil.copytree(DATA / "polyglot", root)
    return root


@pytest.fixture
def index(polyglot: Path) -> Iterator[WorkspaceIndex]:
    ix = WorkspaceIndex(polyglot)
    ix.refresh()
    yield ix
    ix.close()
