"""Clean degradation: no repository, no git, locked index, submodules, subdirs, bad input."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from context.history import CoChange, History, HistoryStats
from context.store import store_path

from .gitrepo import Repo


def _assert_off(hist: History) -> None:
    assert hist.available is False
    assert hist.ingest() == HistoryStats(0, 0, 0.0, None, False, False)
    assert hist.commits_touching("a.py") == []
    assert hist.commits_touching("a.py", 0, 3) == []
    assert hist.blame("a.py", 0, 3) == []
    assert hist.cochanged("a.py") == []
    assert hist.uncommitted() == []
    hist.close()


def test_no_repository(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "a.py").write_text("a = 1\n")
    _assert_off(History(plain))


def test_git_missing(
    make_repo: Callable[[str], Repo], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo("nogit")
    repo.write("a.py", "a = 1\n")
    repo.commit("one")
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    _assert_off(History(repo.root))


def test_locked_index_is_left_alone(make_repo: Callable[[str], Repo]) -> None:
    repo = make_repo("locked")
    repo.write("a.py", "a = 1\nb = 2\n")
    repo.commit("one")
    repo.write("a.py", "a = 1\nb = 3\n")
    lock = repo.root / ".git" / "index.lock"
    lock.write_bytes(b"")
    index = repo.root / ".git" / "index"
    before = (index.stat().st_mtime_ns, index.read_bytes())
    hist = History(repo.root)
    assert hist.ingest().commits == 1
    assert [h.text for h in hist.uncommitted("a.py")] == [
        "@@ -1,2 +1,2 @@\n a = 1\n-b = 2\n+b = 3\n"
    ]
    assert [e.commit.summary for e in hist.blame("a.py", 0, 1)] == [
        "one",
        "Not committed yet",
    ]
    assert [c.commit.summary for c in hist.commits_touching("a.py", 0, 0)] == ["one"]
    hist.close()
    assert lock.exists() and lock.read_bytes() == b""
    assert (index.stat().st_mtime_ns, index.read_bytes()) == before


def test_workspace_in_a_subdirectory(make_repo: Callable[[str], Repo]) -> None:
    repo = make_repo("mono")
    repo.write("pkg/a.py", "a = 1\n")
    repo.write("pkg/b.py", "b = 1\n")
    repo.write("other/c.py", "c = 1\n")
    repo.commit("all three")
    repo.write("pkg/a.py", "a = 2\n")
    repo.write("other/c.py", "c = 2\n")
    repo.commit("a and c")
    repo.write("pkg/b.py", "b = 3\n")
    hist = History(repo.root / "pkg")
    assert hist.ingest().commits == 2
    changes = hist.commits_touching("a.py", 0, 0)
    assert [(c.commit.summary, c.path) for c in changes] == [
        ("a and c", "a.py"),
        ("all three", "a.py"),
    ]
    assert [h.path for h in changes[0].hunks] == ["a.py"]
    assert hist.cochanged("a.py") == [CoChange("b.py", 0.5 ** (1 / 30), 1)]
    assert [(h.path, h.text) for h in hist.uncommitted()] == [
        ("b.py", "@@ -1 +1 @@\n-b = 1\n+b = 3\n")
    ]
    assert [e.commit.summary for e in hist.blame("a.py", 0, 0)] == ["a and c"]
    # Files outside the workspace are not answered for, even though they are in the repo.
    assert hist.commits_touching("../other/c.py") == []
    assert hist.uncommitted("../other/c.py") == []
    assert hist.blame("../other/c.py", 0, 0) == []
    hist.close()


def test_submodule(make_repo: Callable[[str], Repo]) -> None:
    inner = make_repo("inner")
    inner.write("lib.py", "x = 1\n")
    inner.commit("inner one")
    outer = make_repo("outer")
    outer.write("main.py", "m = 1\n")
    outer.git("-c", "protocol.file.allow=always", "submodule", "add", "-q", str(inner.root), "sub")
    outer.commit("add submodule")
    hist = History(outer.root)
    assert hist.ingest().commits == 1
    changes = hist.commits_touching("sub")
    assert [(c.commit.summary, c.added) for c in changes] == [("add submodule", 1)]
    assert hist.blame("sub", 0, 0) == []
    (outer.root / "sub" / "lib.py").write_text("x = 2\n")
    assert [h.path for h in hist.uncommitted()] == ["sub"]
    # The submodule as a workspace of its own has its own history.
    sub = History(outer.root / "sub")
    assert sub.ingest().commits == 1
    assert [c.commit.summary for c in sub.commits_touching("lib.py")] == ["inner one"]
    sub.close()
    hist.close()


def test_bad_input_returns_nothing(make_repo: Callable[[str], Repo]) -> None:
    repo = make_repo("bad")
    repo.write("a.py", "a = 1\n")
    repo.commit("one")
    hist = History(repo.root)
    hist.ingest()
    assert hist.commits_touching("missing.py", 0, 4) == []
    assert hist.commits_touching("a.py", limit=0) == []
    assert hist.commits_touching("../outside.py") == []
    assert hist.blame("a.py", 5, 2) == []
    assert hist.blame("a.py", 7, 9) == []
    assert hist.blame("../../etc/passwd", 0, 0) == []
    assert hist.cochanged("a.py", limit=0) == []
    assert hist.uncommitted("missing.py") == []
    hist.close()
    assert hist.commits_touching("a.py") == []


def test_corrupt_store_is_rebuilt(make_repo: Callable[[str], Repo]) -> None:
    repo = make_repo("corrupt")
    repo.write("a.py", "a = 1\n")
    repo.commit("one")
    path = store_path(repo.root)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"this is not sqlite" * 100)
    hist = History(repo.root)
    assert hist.ingest().new_commits == 1
    assert [c.commit.summary for c in hist.commits_touching("a.py")] == ["one"]
    hist.close()


def test_git_never_writes_to_the_repo(make_repo: Callable[[str], Repo]) -> None:
    repo = make_repo("readonly")
    repo.write("a.py", "a = 1\n")
    repo.commit("one")
    repo.write("a.py", "a = 2\n")
    git_dir = repo.root / ".git"
    before = {p: p.stat().st_mtime_ns for p in git_dir.rglob("*")}
    hist = History(repo.root)
    hist.ingest()
    hist.commits_touching("a.py", 0, 0)
    hist.blame("a.py", 0, 0)
    hist.uncommitted()
    hist.cochanged("a.py")
    hist.close()
    after = {p: p.stat().st_mtime_ns for p in git_dir.rglob("*")}
    assert after == before


def test_store_failure_returns_nothing(make_repo: Callable[[str], Repo]) -> None:
    repo = make_repo("broken-store")
    repo.write("a.py", "a = 1\n")
    repo.write("b.py", "b = 1\n")
    repo.commit("one")
    hist = History(repo.root)
    hist.ingest()
    assert [c.path for c in hist.cochanged("a.py")] == ["b.py"]
    other = sqlite3.connect(store_path(repo.root))
    other.execute("DROP TABLE hist_files")
    other.commit()
    other.close()
    assert hist.commits_touching("a.py") == []
    assert hist.cochanged("a.py") == []
    assert hist.ingest().new_commits == 0
    hist.close()
