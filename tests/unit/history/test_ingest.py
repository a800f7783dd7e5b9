"""Ingesting the commit graph: incremental runs, merges, rewrites, depth limits, shallow clones."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from context.history import History, HistoryStats
from context.store import store_path

from .gitrepo import Repo


def _linear(repo: Repo, count: int, path: str = "f.py") -> list[str]:
    ids = []
    for i in range(count):
        repo.write(path, f"v = {i}\n")
        ids.append(repo.commit(f"step {i}"))
    return ids


def _summaries(hist: History, path: str, limit: int = 50) -> list[str]:
    return [c.commit.summary for c in hist.commits_touching(path, limit=limit)]


class _Token:
    cancelled = True


def test_ingest_is_incremental_and_persistent(make_repo: Callable[[str], Repo]) -> None:
    repo = make_repo("inc")
    ids = _linear(repo, 3)
    hist = History(repo.root)
    first = hist.ingest()
    assert (first.commits, first.new_commits, first.head, first.shallow) == (3, 3, ids[-1], False)
    assert first.available is True
    again = hist.ingest()
    assert (again.commits, again.new_commits) == (3, 0)
    ids += _linear(repo, 2, "g.py")
    more = hist.ingest()
    assert (more.commits, more.new_commits, more.head) == (5, 2, ids[-1])
    assert _summaries(hist, "f.py") == ["step 2", "step 1", "step 0"]
    assert _summaries(hist, "g.py") == ["step 1", "step 0"]
    hist.close()
    # A second History on the same store starts from where the first left off.
    reopened = History(repo.root)
    assert reopened.ingest().new_commits == 0
    assert _summaries(reopened, "g.py") == ["step 1", "step 0"]
    reopened.close()


def test_merges_are_ingested_with_both_sides(make_repo: Callable[[str], Repo]) -> None:
    repo = make_repo("merge")
    repo.write("a.py", "a = 0\n")
    repo.write("b.py", "b = 0\n")
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "topic")
    repo.write("b.py", "b = 1\n")
    repo.commit("topic edits b")
    repo.git("checkout", "-q", "main")
    repo.write("a.py", "a = 1\n")
    repo.commit("main edits a")
    repo.git("merge", "-q", "--no-ff", "-m", "Merge topic", "topic")
    hist = History(repo.root)
    stats = hist.ingest()
    assert (stats.commits, stats.new_commits) == (4, 4)
    assert _summaries(hist, "b.py") == ["topic edits b", "base"]
    assert _summaries(hist, "a.py") == ["main edits a", "base"]
    hist.close()


def test_rebase_drops_rewritten_commits(make_repo: Callable[[str], Repo]) -> None:
    repo = make_repo("rebase")
    _linear(repo, 3)
    hist = History(repo.root)
    hist.ingest()
    repo.git("reset", "-q", "--hard", "HEAD~1")
    repo.write("f.py", "v = 'rewritten'\n")
    new_tip = repo.commit("step 2 (amended)")
    stats = hist.ingest()
    assert (stats.commits, stats.new_commits, stats.head) == (3, 1, new_tip)
    assert _summaries(hist, "f.py") == ["step 2 (amended)", "step 1", "step 0"]
    hist.close()


def test_lost_tip_rebuilds_from_head(make_repo: Callable[[str], Repo]) -> None:
    repo = make_repo("gc")
    _linear(repo, 3)
    hist = History(repo.root)
    hist.ingest()
    repo.git("reset", "-q", "--hard", "HEAD~2")
    repo.git("reflog", "expire", "--expire=now", "--all")
    repo.git("gc", "-q", "--prune=now")
    repo.write("h.py", "h = 1\n")
    repo.commit("after gc")
    stats = hist.ingest()
    assert (stats.commits, stats.new_commits) == (2, 2)
    assert _summaries(hist, "f.py") == ["step 0"]
    hist.close()


def test_branch_switch_and_detached_head(make_repo: Callable[[str], Repo]) -> None:
    repo = make_repo("detached")
    ids = _linear(repo, 4)
    hist = History(repo.root)
    hist.ingest()
    repo.git("checkout", "-q", "--detach", ids[1])
    stats = hist.ingest()
    assert (stats.commits, stats.head) == (2, ids[1])
    assert _summaries(hist, "f.py") == ["step 1", "step 0"]
    repo.git("checkout", "-q", "main")
    assert hist.ingest().new_commits == 2
    assert _summaries(hist, "f.py") == ["step 3", "step 2", "step 1", "step 0"]
    hist.close()


def test_max_commits_bounds_the_first_ingest(make_repo: Callable[[str], Repo]) -> None:
    repo = make_repo("deep")
    repo.write("old.py", "o = 1\n")
    repo.write("f.py", "v = 'first'\n")
    repo.commit("old file")
    _linear(repo, 6)
    hist = History(repo.root, max_commits=4)
    stats = hist.ingest()
    assert (stats.commits, stats.new_commits) == (4, 4)
    assert _summaries(hist, "f.py", limit=4) == ["step 5", "step 4", "step 3", "step 2"]
    assert hist.ingest().commits == 4
    # Older commits are fetched on demand, once, and stored below the cut.
    assert _summaries(hist, "f.py", limit=10) == [
        "step 5",
        "step 4",
        "step 3",
        "step 2",
        "step 1",
        "step 0",
        "old file",
    ]
    assert hist.ingest().commits == 7
    assert _summaries(hist, "old.py") == ["old file"]
    assert [c.path for c in hist.cochanged("old.py")] == ["f.py"]
    _linear(repo, 1, "g.py")
    assert hist.ingest().new_commits == 1
    # More new commits than max_commits since the last run: rebuilt from HEAD.
    _linear(repo, 5, "k.py")
    stats = hist.ingest()
    assert (stats.commits, stats.new_commits) == (4, 4)
    assert _summaries(hist, "k.py", limit=4) == ["step 4", "step 3", "step 2", "step 1"]
    hist.close()


def test_shallow_clone(make_repo: Callable[[str], Repo], tmp_path) -> None:
    repo = make_repo("origin")
    _linear(repo, 5)
    clone = tmp_path / "shallow"
    repo.git("clone", "-q", "--depth", "2", f"file://{repo.root}", str(clone))
    hist = History(clone)
    stats = hist.ingest()
    assert (stats.commits, stats.shallow) == (2, True)
    assert _summaries(hist, "f.py") == ["step 4", "step 3"]
    assert [h.text for h in hist.commits_touching("f.py", 0, 0)[0].hunks] == [
        "@@ -1 +1 @@\n-v = 3\n+v = 4\n"
    ]
    hist.close()


def test_cancelled_ingest_stores_nothing(make_repo: Callable[[str], Repo]) -> None:
    repo = make_repo("cancel")
    _linear(repo, 3)
    hist = History(repo.root)
    stats = hist.ingest(cancel=_Token())
    assert (stats.commits, stats.new_commits) == (0, 0)
    assert hist.commits_touching("f.py") == []
    assert hist.ingest().new_commits == 3
    hist.close()


def test_tables_are_prefixed_and_versioned(make_repo: Callable[[str], Repo]) -> None:
    repo = make_repo("schema")
    _linear(repo, 1)
    hist = History(repo.root)
    hist.ingest()
    hist.close()
    conn = sqlite3.connect(store_path(repo.root))
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    version = conn.execute("SELECT version FROM meta WHERE component = 'history'").fetchone()
    conn.close()
    assert names - {"meta"} == {
        "hist_commits",
        "hist_files",
        "hist_hunks",
        "hist_paths",
        "hist_state",
    }
    assert version == (1,)


def test_unborn_branch(make_repo: Callable[[str], Repo]) -> None:
    repo = make_repo("unborn")
    repo.write("new.py", "n = 1\n")
    repo.git("add", "new.py")
    hist = History(repo.root)
    assert hist.available is True
    stats = hist.ingest()
    assert stats == HistoryStats(0, 0, stats.seconds, None, False, True)
    assert [h.text for h in hist.uncommitted()] == ["@@ -0,0 +1 @@\n+n = 1\n"]
    assert hist.blame("new.py", 0, 0) == []
    hist.close()


def test_odd_messages(make_repo: Callable[[str], Repo]) -> None:
    repo = make_repo("messages")
    repo.write("a.py", "a = 1\n")
    repo.commit("Fix ünïcode ✓\n\n  indented body\n\ttab")
    repo.write("a.py", "a = 2\n")
    repo.git("add", "-A")
    repo.git("commit", "-q", "--allow-empty-message", "-m", "")
    hist = History(repo.root)
    hist.ingest()
    changes = hist.commits_touching("a.py")
    assert [(c.commit.summary, c.commit.message) for c in changes] == [
        ("", ""),
        ("Fix ünïcode ✓", "Fix ünïcode ✓\n\n  indented body\n\ttab"),
    ]
    hist.close()
