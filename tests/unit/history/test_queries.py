"""Per-request queries of ``History`` on a small real repository with a rename and edits."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from context.history import UNCOMMITTED, BlameEntry, CoChange, Commit, History, Hunk

from .gitrepo import DAY, T0, Repo


@pytest.fixture
def flow(make_repo: Callable[[str], Repo]) -> tuple[Repo, dict[str, str]]:
    """calc.py is added, edited, renamed to ops.py, edited twice more."""
    repo = make_repo("flow")
    ids = {}
    repo.lines("calc.py", 10, "    v{}")
    repo.write("util.py", "u = 1\n")
    ids["add"] = repo.commit("Add calc module\n\nFirst version.")
    repo.replace("calc.py", "    v5\n", "    five\n")
    repo.write("util.py", "u = 2\n")
    ids["five"] = repo.commit("Fix v5")
    repo.git("mv", "calc.py", "ops.py")
    ids["rename"] = repo.commit("Rename calc to ops")
    repo.replace("ops.py", "    v2\n", "    two\n")
    repo.write("docs.md", "ops\n")
    ids["two"] = repo.commit("Tweak v2")
    repo.replace("ops.py", "    v1\n", "# header\n\n    v1\n")
    ids["header"] = repo.commit("Insert header")
    return repo, ids


def _summaries(changes: list) -> list[str]:
    return [c.commit.summary for c in changes]


def test_commits_touching_follows_renames(flow: tuple[Repo, dict[str, str]]) -> None:
    repo, ids = flow
    hist = History(repo.root)
    hist.ingest()
    changes = hist.commits_touching("ops.py", limit=10)
    assert _summaries(changes) == [
        "Insert header",
        "Tweak v2",
        "Rename calc to ops",
        "Fix v5",
        "Add calc module",
    ]
    assert [(c.path, c.old_path, c.added, c.removed) for c in changes] == [
        ("ops.py", "ops.py", 2, 0),
        ("ops.py", "ops.py", 1, 1),
        ("ops.py", "calc.py", 0, 0),
        ("calc.py", "calc.py", 1, 1),
        ("calc.py", "calc.py", 10, 0),
    ]
    assert changes[4].commit == Commit(
        ids["add"], "Ada", T0 + DAY, "Add calc module", "Add calc module\n\nFirst version."
    )
    assert changes[2].hunks == ()
    assert changes[3].hunks == (
        Hunk(
            "calc.py",
            2,
            7,
            2,
            7,
            "@@ -2,7 +2,7 @@\n     v2\n     v3\n     v4\n"
            "-    v5\n+    five\n     v6\n     v7\n     v8\n",
        ),
    )
    assert [c.commit.summary for c in hist.commits_touching("ops.py", limit=2)] == [
        "Insert header",
        "Tweak v2",
    ]
    hist.close()


def test_range_is_mapped_back_through_later_commits(flow: tuple[Repo, dict[str, str]]) -> None:
    repo, _ = flow
    hist = History(repo.root)
    hist.ingest()
    # 0-based line 6 of ops.py is "    five" (two header lines were inserted above it later).
    changes = hist.commits_touching("ops.py", 6, 6)
    assert _summaries(changes) == ["Fix v5", "Add calc module"]
    assert [h.text.split("\n")[0] for h in changes[0].hunks] == ["@@ -2,7 +2,7 @@"]
    assert changes[1].hunks[0].text.startswith("@@ -0,0 +1,10 @@\n+    v1\n")
    # "    two" at 0-based line 3: changed by "Tweak v2", created by the first commit.
    assert _summaries(hist.commits_touching("ops.py", 3, 3)) == ["Tweak v2", "Add calc module"]
    # The header lines were born in "Insert header": nothing older owns them.
    header = hist.commits_touching("ops.py", 0, 1)
    assert _summaries(header) == ["Insert header"]
    assert header[0].hunks == (
        Hunk("ops.py", 1, 3, 1, 5, "@@ -1,3 +1,5 @@\n+# header\n+\n     v1\n     two\n     v3\n"),
    )
    # A range untouched since the first commit.
    assert _summaries(hist.commits_touching("ops.py", 10, 11)) == ["Add calc module"]
    hist.close()


def test_range_is_mapped_through_uncommitted_changes(flow: tuple[Repo, dict[str, str]]) -> None:
    repo, _ = flow
    repo.replace("ops.py", "# header\n", "# new top line\n# header\n")
    hist = History(repo.root)
    hist.ingest()
    assert hist.uncommitted("ops.py") == [
        Hunk("ops.py", 1, 3, 1, 4, "@@ -1,3 +1,4 @@\n+# new top line\n # header\n \n     v1\n"),
    ]
    assert _summaries(hist.commits_touching("ops.py", 7, 7)) == ["Fix v5", "Add calc module"]
    assert hist.commits_touching("ops.py", 0, 0) == []
    hist.close()


def test_blame_of_the_cursor_region(flow: tuple[Repo, dict[str, str]]) -> None:
    repo, ids = flow
    repo.replace("ops.py", "    v9\n", "    nine\n")
    now = T0 + 30 * DAY
    hist = History(repo.root, clock=lambda: now)
    hist.ingest()
    entries = hist.blame("ops.py", 0, 11)
    spans = [(e.commit.id, e.start_line, e.end_line, e.age_s) for e in entries]
    assert spans == [
        (ids["header"], 0, 1, 25 * DAY),
        (ids["add"], 2, 2, 29 * DAY),
        (ids["two"], 3, 3, 26 * DAY),
        (ids["add"], 4, 5, 29 * DAY),
        (ids["five"], 6, 6, 28 * DAY),
        (ids["add"], 7, 9, 29 * DAY),
        (UNCOMMITTED, 10, 10, 0),
        (ids["add"], 11, 11, 29 * DAY),
    ]
    assert entries[1].commit.message == "Add calc module\n\nFirst version."
    assert entries[6].commit.summary == "Not committed yet"
    assert hist.blame("ops.py", 6, 6) == [
        BlameEntry(Commit(ids["five"], "Ada", T0 + 2 * DAY, "Fix v5", "Fix v5"), 6, 6, 28 * DAY)
    ]
    # Past the end of the file: clamped; a missing file: nothing.
    assert [e.start_line for e in hist.blame("ops.py", 11, 40)] == [11]
    assert hist.blame("missing.py", 0, 3) == []
    hist.close()


def test_blame_maps_through_uncommitted_insertions(flow: tuple[Repo, dict[str, str]]) -> None:
    repo, ids = flow
    hist = History(repo.root, clock=lambda: T0 + 10 * DAY)
    hist.ingest()
    assert [(e.commit.id, e.start_line, e.end_line) for e in hist.blame("ops.py", 0, 2)] == [
        (ids["header"], 0, 1),
        (ids["add"], 2, 2),
    ]
    repo.replace("ops.py", "# header\n", "import os\nimport re\n# header\n")
    entries = hist.blame("ops.py", 0, 3)
    assert [(e.commit.id, e.start_line, e.end_line, e.age_s) for e in entries] == [
        (UNCOMMITTED, 0, 1, 0),
        (ids["header"], 2, 3, 5 * DAY),
    ]
    assert entries[0].commit == Commit(
        UNCOMMITTED, "Not Committed Yet", T0 + 10 * DAY, "Not committed yet", ""
    )
    hist.close()


def test_blame_cache_follows_the_file_content(flow: tuple[Repo, dict[str, str]]) -> None:
    repo, ids = flow
    hist = History(repo.root)
    hist.ingest()
    assert [e.commit.id for e in hist.blame("ops.py", 2, 2)] == [ids["add"]]
    repo.replace("ops.py", "    v1\n", "    one\n")
    assert [e.commit.id for e in hist.blame("ops.py", 2, 2)] == [UNCOMMITTED]
    hist.close()


def _cochange_repo(repo: Repo) -> None:
    for name in "abcd":
        repo.write(f"{name}.py", f"{name} = 0\n")
    repo.commit("c1: a b c d")
    repo.write("a.py", "a = 1\n")
    repo.write("b.py", "b = 1\n")
    repo.commit("c2: a b")
    repo.write("a.py", "a = 2\n")
    repo.write("c.py", "c = 2\n")
    repo.commit("c3: a c", days=8)
    repo.write("a.py", "a = 3\n")
    repo.write("d.py", "d = 3\n")
    repo.commit("c4: a d")
    repo.write("a.py", "a = 4\n")
    for i in range(5):
        repo.write(f"gen/m{i}.py", f"m = {i}\n")
    repo.commit("c5: reformat everything")
    repo.git("mv", "d.py", "e.py")
    repo.commit("c6: rename d to e")
    repo.git("rm", "-q", "c.py")
    repo.commit("c7: drop c")


def test_cochanged_is_recency_weighted_and_skips_mass_changes(
    make_repo: Callable[[str], Repo],
) -> None:
    repo = make_repo("co")
    _cochange_repo(repo)
    hist = History(repo.root, mass_change_files=4)
    hist.ingest()
    # Shared commits with a.py: b in c1 (day 1) and c2 (day 2); c (deleted) in c1, c3;
    # d (now e.py) in c1 and c4 (day 11, the newest counted commit); c5 has 6 files: ignored.
    assert hist.cochanged("a.py") == [
        CoChange("e.py", 0.5**0 + 0.5 ** (10 / 30), 2),
        CoChange("b.py", 0.5 ** (10 / 30) + 0.5 ** (9 / 30), 2),
    ]
    assert hist.cochanged("e.py", limit=1) == [CoChange("a.py", 0.5**0 + 0.5 ** (10 / 30), 2)]
    assert hist.cochanged("nowhere.py") == []
    hist.close()
    wide = History(repo.root, mass_change_files=50)
    wide.ingest()
    names = [c.path for c in wide.cochanged("a.py", limit=3)]
    assert names == ["e.py", "b.py", "gen/m0.py"]
    wide.close()


def test_uncommitted_covers_index_and_worktree(flow: tuple[Repo, dict[str, str]]) -> None:
    repo, _ = flow
    repo.write("util.py", "u = 3\n")
    repo.git("add", "util.py")
    repo.write("docs.md", "ops\nmore\n")
    repo.write("untracked.py", "x = 1\n")
    hist = History(repo.root)
    assert hist.uncommitted() == [
        Hunk("docs.md", 1, 1, 1, 2, "@@ -1 +1,2 @@\n ops\n+more\n"),
        Hunk("util.py", 1, 1, 1, 1, "@@ -1 +1 @@\n-u = 2\n+u = 3\n"),
    ]
    assert hist.uncommitted("util.py") == [
        Hunk("util.py", 1, 1, 1, 1, "@@ -1 +1 @@\n-u = 2\n+u = 3\n")
    ]
    assert hist.uncommitted("ops.py") == []
    # A later save is seen (the cache is keyed by the file's stat).
    repo.write("util.py", "u = 44\n")
    assert [h.text for h in hist.uncommitted("util.py")] == ["@@ -1 +1 @@\n-u = 2\n+u = 44\n"]
    hist.close()


def test_binary_and_huge_diffs_are_summarised(make_repo: Callable[[str], Repo]) -> None:
    repo = make_repo("big")
    repo.write("logo.png", b"\x89PNG\x00\x01\x02")
    repo.lines("big.py", 30)
    repo.commit("assets")
    repo.write("logo.png", b"\x89PNG\x00\x03")
    repo.commit("new logo")
    hist = History(repo.root, max_diff_lines=20)
    hist.ingest()
    (logo,) = hist.commits_touching("logo.png", limit=1)
    assert (logo.added, logo.removed) == (0, 0)
    assert logo.hunks == (
        Hunk("logo.png", 0, 0, 0, 0, "@@ -0,0 +0,0 @@ binary file: diff skipped\n"),
    )
    (big,) = hist.commits_touching("big.py")
    assert big.hunks == (
        Hunk("big.py", 0, 0, 0, 0, "@@ -0,0 +0,0 @@ +30 -0 lines: diff too large, skipped\n"),
    )
    assert hist.commits_touching("logo.png", 0, 0) == []
    repo.write("min.js", "var a=1;" * 30_000 + "\n")
    repo.commit("minified bundle")
    repo.write("min.js", "var b=2;" * 30_000 + "\n")
    repo.commit("rebuild bundle")
    hist.ingest()
    assert [(c.commit.summary, c.hunks) for c in hist.commits_touching("min.js", limit=1)] == [
        (
            "rebuild bundle",
            (Hunk("min.js", 0, 0, 0, 0, "@@ -0,0 +0,0 @@ +1 -1 lines: diff too large, skipped\n"),),
        )
    ]
    repo.lines("big.py", 60)
    assert hist.uncommitted("big.py") == [
        Hunk("big.py", 0, 0, 0, 0, "@@ -0,0 +0,0 @@ +30 -0 lines: diff too large, skipped\n")
    ]
    hist.close()


def test_odd_paths_round_trip(make_repo: Callable[[str], Repo]) -> None:
    repo = make_repo("odd")
    names = ["dir with space/naïve.py", 'quo"te.py', "tab\there.py"]
    for name in names:
        repo.write(name, "x = 1\n")
    repo.commit("odd names")
    for name in names:
        repo.write(name, "x = 2\n")
    repo.commit("edit odd names")
    hist = History(repo.root)
    hist.ingest()
    for name in names:
        changes = hist.commits_touching(name, 0, 0)
        assert _summaries(changes) == ["edit odd names", "odd names"], name
        assert changes[0].hunks == (Hunk(name, 1, 1, 1, 1, "@@ -1 +1 @@\n-x = 1\n+x = 2\n"),)
    hist.close()


def test_commit_files_lists_what_changed_alongside(flow: tuple[Repo, dict[str, str]]) -> None:
    repo, ids = flow
    hist = History(repo.root)
    hist.ingest()
    assert [(c.path, c.old_path, c.added, c.removed) for c in hist.commit_files(ids["two"])] == [
        ("ops.py", "ops.py", 1, 1),
        ("docs.md", "docs.md", 1, 0),
    ]
    assert [c.path for c in hist.commit_files(ids["add"], limit=1)] == ["calc.py"]
    assert hist.commit_files("f" * 40) == []
    hist.close()


def test_blame_is_bounded_by_the_files_newest_commits(flow: tuple[Repo, dict[str, str]]) -> None:
    repo, ids = flow
    hist = History(repo.root, blame_commits=3)  # header, two, rename: older lines left out
    hist.ingest()
    blamed = {e.commit.id for e in hist.blame("ops.py", 0, 11)}
    assert blamed == {ids["header"], ids["two"]}
    hist.close()
    full = History(repo.root)
    full.ingest()
    assert {e.commit.id for e in full.blame("ops.py", 0, 11)} == {
        ids["header"], ids["two"], ids["add"], ids["five"]}
    full.close()


def test_blame_runs_once_per_head_and_again_after_a_commit(
    flow: tuple[Repo, dict[str, str]],
) -> None:
    repo, ids = flow
    hist = History(repo.root)
    hist.ingest()
    assert not hist.blame_ready("ops.py")
    assert hist.warm_blame("ops.py") and hist.blame_ready("ops.py")
    assert [e.commit.id for e in hist.blame("ops.py", 2, 2)] == [ids["add"]]
    assert [e.commit.id for e in hist.blame("ops.py", 3, 3)] == [ids["two"]]
    assert hist._blame.runs == 1  # regions are slices of one blame
    repo.replace("ops.py", "    v1\n", "    one\n")
    new = repo.commit("Spell v1")
    assert hist.head() == new and not hist.blame_ready("ops.py")
    assert [e.commit.id for e in hist.blame("ops.py", 2, 2)] == [new]
    assert hist._blame.runs == 2
    hist.close()


def _whole_blame(hist: History, path: str, lines: int) -> list[tuple[str, int, int]]:
    return [(e.commit.id, e.start_line, e.end_line) for e in hist.blame(path, 0, lines)]


def test_blame_after_a_commit_reads_only_the_new_commits(
    flow: tuple[Repo, dict[str, str]],
) -> None:
    repo, ids = flow
    hist = History(repo.root)
    hist.ingest()
    assert hist.warm_blame("ops.py") and hist._blame.incremental_runs == 0
    repo.replace("ops.py", "    v7\n", "    seven\n    extra\n")
    repo.replace("ops.py", "    v3\n", "")
    first = repo.commit("Spell v7, drop v3")
    repo.replace("ops.py", "# header\n", "# the header\n")
    second = repo.commit("Reword the header")
    hist.ingest()
    got = _whole_blame(hist, "ops.py", 20)
    assert hist._blame.incremental_runs == 1  # from the cached blame of the old HEAD
    fresh = History(repo.root)
    fresh.ingest()
    assert got == _whole_blame(fresh, "ops.py", 20)  # the same as a whole blame
    assert fresh._blame.incremental_runs == 0
    assert {first, second, ids["two"], ids["add"]} <= {commit for commit, _, _ in got}
    hist.close()
    fresh.close()


def test_blame_is_whole_again_when_the_old_head_is_not_an_ancestor(
    flow: tuple[Repo, dict[str, str]],
) -> None:
    repo, ids = flow
    hist = History(repo.root)
    hist.ingest()
    assert hist.warm_blame("ops.py")
    repo.git("checkout", "-q", "-b", "side", ids["two"])
    repo.replace("ops.py", "    v4\n", "    four\n")
    side = repo.commit("Spell v4")
    got = _whole_blame(hist, "ops.py", 20)
    assert hist._blame.incremental_runs == 0 and hist._blame.runs == 2
    assert side in {commit for commit, _, _ in got}
    hist.close()
