"""Parsers of git output and the range arithmetic over hunks, on exact inputs."""

from __future__ import annotations

import difflib
from collections.abc import Callable

from hypothesis import given, settings
from hypothesis import strategies as st

from context.history import Hunk
from context.history.gitcli import Git, find_git, read_head
from context.history.ingest import log_args
from context.history.parse import (
    LogRecord,
    NumstatEntry,
    parse_blame,
    parse_diff,
    parse_log_record,
    split_records,
    unquote_path,
)
from context.history.ranges import Block, blocks_of, line_origins, map_range_back, touching

from .gitrepo import DAY, T0, Repo


def test_log_records_from_real_git(make_repo: Callable[[str], Repo]) -> None:
    repo = make_repo("log")
    repo.write("a.txt", "one\ntwo\nthree\nfour\n")
    repo.write("bin.dat", b"\x00\x01")
    first = repo.commit("first\n\nwith a body")
    repo.git("mv", "a.txt", "b.txt")
    repo.write("bin.dat", b"\x00\x02")
    second = repo.commit("second")
    git = Git(repo.root, find_git() or "git")
    # Tiny chunks: records must survive being split anywhere.
    chunks = list(git.stream(log_args(["HEAD"], 10), chunk=7))
    records = [parse_log_record(raw) for raw in split_records(chunks)]
    assert records == [
        LogRecord(
            second,
            (first,),
            "Ada",
            T0 + 2 * DAY,
            "second\n",
            (
                NumstatEntry("b.txt", "a.txt", 0, 0, False),
                NumstatEntry("bin.dat", "bin.dat", 0, 0, True),
            ),
        ),
        LogRecord(
            first,
            (),
            "Ada",
            T0 + DAY,
            "first\n\nwith a body\n",
            (
                NumstatEntry("a.txt", "a.txt", 4, 0, False),
                NumstatEntry("bin.dat", "bin.dat", 0, 0, True),
            ),
        ),
    ]
    assert parse_log_record(b"garbage") is None


def test_diff_tree_stdin_output_is_split_per_commit(make_repo: Callable[[str], Repo]) -> None:
    repo = make_repo("difftree")
    repo.write("x.py", "a\nb\n")
    one = repo.commit("one")
    repo.write("x.py", "a\nB\n")
    repo.write("y.py", "y\n")
    two = repo.commit("two")
    out = repo.git("diff-tree", "--stdin", "-p", "--root", input_text=f"{one}\n{two}\n")
    files = [(sha, d.path, d.old_path, [h.text for h in d.hunks]) for sha, d in parse_diff(out)]
    assert files == [
        (one, "x.py", "x.py", ["@@ -0,0 +1,2 @@\n+a\n+b\n"]),
        (two, "x.py", "x.py", ["@@ -1,2 +1,2 @@\n a\n-b\n+B\n"]),
        (two, "y.py", "y.py", ["@@ -0,0 +1 @@\n+y\n"]),
    ]


def test_unquote_path() -> None:
    assert unquote_path("plain name.py") == "plain name.py"
    assert unquote_path('"tab\\there.py"') == "tab\there.py"
    assert unquote_path('"quo\\"te.py"') == 'quo"te.py'
    assert unquote_path('"na\\303\\257ve.py"') == "naïve.py"


def test_parse_blame_porcelain() -> None:
    sha_a = "a" * 40
    sha_b = "b" * 40
    text = (
        f"{sha_a} 1 1 2\nauthor Ada\nauthor-time 100\nsummary first\nfilename f\n\tx\n"
        f"{sha_a} 2 2\n\ty\n"
        f"{sha_b} 3 3 1\nauthor Bob\nauthor-time 200\nsummary second\nfilename f\n\tz\n"
    )
    lines = [(b.sha, b.final_line, b.author, b.author_time, b.summary) for b in parse_blame(text)]
    assert lines == [
        (sha_a, 1, "Ada", 100, "first"),
        (sha_a, 2, "Ada", 100, "first"),
        (sha_b, 3, "Bob", 200, "second"),
    ]


def _hunk(old_start: int, old_lines: int, new_start: int, new_lines: int, body: str) -> Hunk:
    header = f"@@ -{old_start},{old_lines} +{new_start},{new_lines} @@\n"
    return Hunk("f.py", old_start, old_lines, new_start, new_lines, header + body)


# Old file: l1..l10. New file: l1 l2 NEW l3 l4 X5 Y5 l6 l8 l9 l10
# (insert after l2; l5 replaced by two lines; l7 deleted).
HUNKS = [
    _hunk(1, 9, 1, 10, " l1\n l2\n+NEW\n l3\n l4\n-l5\n+X5\n+Y5\n l6\n-l7\n l8\n l9\n"),
]


def test_blocks_of_a_hunk() -> None:
    assert blocks_of(HUNKS[0]) == (Block(3, 0, 3, 1), Block(5, 1, 6, 2), Block(7, 1, 9, 0))
    pure_add = Hunk("f.py", 0, 0, 1, 2, "@@ -0,0 +1,2 @@\n+a\n+b\n")
    assert blocks_of(pure_add) == (Block(1, 0, 1, 2),)


def test_touching_hunks() -> None:
    assert touching(HUNKS, 1, 2) == []
    assert touching(HUNKS, 3, 3) == HUNKS
    # l7 was deleted between new lines 8 and 9: it touches both neighbours.
    assert touching(HUNKS, 8, 8) == HUNKS
    assert touching(HUNKS, 9, 9) == HUNKS
    assert touching(HUNKS, 10, 11) == []
    assert touching([Hunk("f.py", 0, 0, 0, 0, "@@ -0,0 +0,0 @@ binary\n")], 1, 5) == []


def test_map_range_back() -> None:
    assert map_range_back(HUNKS, 1, 2) == (1, 2)
    assert map_range_back(HUNKS, 3, 3) is None  # NEW has no past
    assert map_range_back(HUNKS, 3, 4) == (3, 3)
    assert map_range_back(HUNKS, 6, 7) == (5, 5)  # X5 Y5 replaced l5
    assert map_range_back(HUNKS, 8, 9) == (6, 8)  # l6..l8, with the deleted l7 between
    assert map_range_back(HUNKS, 11, 11) == (10, 10)
    assert map_range_back([], 4, 6) == (4, 6)


def test_line_origins() -> None:
    assert line_origins(HUNKS, 1, 11) == [1, 2, None, 3, 4, None, None, 6, 8, 9, 10]
    assert line_origins([], 3, 4) == [3, 4]


def test_read_head_without_a_subprocess(make_repo: Callable[[str], Repo]) -> None:
    repo = make_repo("heads")
    repo.write("a.py", "a\n")
    first = repo.commit("one")
    git_dir = repo.root / ".git"
    assert read_head(git_dir) == first
    repo.git("pack-refs", "--all")
    assert read_head(git_dir) == first
    repo.git("checkout", "-q", "--detach")
    assert read_head(git_dir) == first
    repo.git("checkout", "-q", "main")
    repo.git("worktree", "add", "-q", "-b", "side", str(repo.root.parent / "wt"))
    wt_git_dir = repo.root / ".git" / "worktrees" / "wt"
    assert read_head(wt_git_dir) == first
    assert read_head(repo.root / "nope") is None


def _unified_zero(old: list[str], new: list[str]) -> list[Hunk]:
    """A -U0 diff of two line lists in git's numbering, from difflib's opcodes."""
    hunks = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        old_start = i1 + 1 if i2 > i1 else i1
        new_start = j1 + 1 if j2 > j1 else j1
        body = "".join(f"-{x}\n" for x in old[i1:i2]) + "".join(f"+{x}\n" for x in new[j1:j2])
        header = f"@@ -{old_start},{i2 - i1} +{new_start},{j2 - j1} @@\n"
        hunks.append(Hunk("f.py", old_start, i2 - i1, new_start, j2 - j1, header + body))
    return hunks


_LINES = st.lists(st.sampled_from(["a", "b", "c", "d", "e"]), max_size=25)


@settings(max_examples=150, deadline=None)
@given(old=_LINES, new=_LINES)
def test_line_origins_point_at_equal_lines(old: list[str], new: list[str]) -> None:
    hunks = _unified_zero(old, new)
    origins = line_origins(hunks, 1, len(new)) if new else []
    kept = [o for o in origins if o is not None]
    assert kept == sorted(set(kept))  # monotonic, no line used twice
    for line, origin in enumerate(origins, start=1):
        if origin is not None:
            assert new[line - 1] == old[origin - 1]
    # Every old line that survived is the origin of exactly one new line.
    survived = sum(
        size
        for _, _, size in difflib.SequenceMatcher(
            a=old, b=new, autojunk=False
        ).get_matching_blocks()
    )
    assert len(kept) == survived
    # Every line the diff added is touched by one of its hunks.
    for line, origin in enumerate(origins, start=1):
        if origin is None:
            assert touching(hunks, line, line) != []
