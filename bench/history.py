"""Benchmark of ``context.history`` against ``git log --numstat`` on the same histories.

Builds two repositories in a temp dir (``bench/make_history_repos.py``): a synthetic 10,000
commit history and the real release history of ``six``. For each it prints: full ingest time
and its ratio to ``git log --numstat`` (the peer, run in the same process, median of 3 each),
incremental ingest of 10 new commits, and p50/p95 of each per-request query, cold (first call
for that path) and warm. It also times libgit2 (pygit2) and the streaming ``git log`` reader
over the same 2,000 commits, the measurement behind using the git CLI.

Run: ``.venv/bin/python bench/history.py`` (CPU-heavy: a minute or two). pygit2 comes with the
``bench`` extra (``pip install -e '.[bench]'``; ``make bench`` installs it).
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import make_history_repos as repos  # noqa: E402

from context.history import EditRing, History  # noqa: E402
from context.history.gitcli import Git, find_git  # noqa: E402
from context.history.ingest import log_args  # noqa: E402
from context.history.parse import parse_log_record, split_records  # noqa: E402
from context.store import store_path  # noqa: E402

TARGET_INGEST_RATIO = 2.0
TARGET_INCREMENTAL_MS = 100.0
TARGET_QUERY_MS = 10.0


def ms(seconds: float) -> float:
    return seconds * 1000.0


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def peer_git_log(root: Path) -> float:
    """``git log --numstat`` over the whole history, output read through a pipe."""
    cmd = ["git", "-C", str(root), "--no-pager", "log", "--numstat"]
    return timed(lambda: subprocess.run(cmd, capture_output=True, check=True))


def fresh_ingest(root: Path) -> tuple[float, int]:
    for suffix in ("", "-wal", "-shm"):
        Path(str(store_path(root)) + suffix).unlink(missing_ok=True)
    hist = History(root)
    start = time.perf_counter()
    stats = hist.ingest()
    took = time.perf_counter() - start
    hist.close()
    return took, stats.new_commits


def add_commits(root: Path, count: int, round_no: int) -> None:
    for i in range(count):
        target = root / f"bench_new_{round_no}.py"
        with target.open("a", encoding="utf-8") as fh:
            fh.write(f"x_{i} = {i}\n")
        repos.git(root, "add", target.name)
        repos.git(root, "commit", "-q", "-m", f"bench round {round_no} commit {i}")


def hot_files(root: Path, count: int) -> list[str]:
    """The ``count`` most often changed files that exist at HEAD."""
    out = repos.git(root, "log", "--format=", "--name-only", "-n", "3000")
    current = set(repos.git(root, "ls-files").split("\n"))
    freq: dict[str, int] = {}
    for name in out.split("\n"):
        if name in current and name.endswith(".py"):
            freq[name] = freq.get(name, 0) + 1
    return [n for n, _ in sorted(freq.items(), key=lambda kv: (-kv[1], kv[0]))[:count]]


def report(name: str, cold: list[float], warm: list[float]) -> None:
    ok = "ok" if pct(warm, 0.5) <= TARGET_QUERY_MS else "MISSED"
    print(
        f"  {name:<34} cold p50 {pct(cold, 0.5):7.2f} p95 {pct(cold, 0.95):7.2f} | "
        f"warm p50 {pct(warm, 0.5):6.2f} p95 {pct(warm, 0.95):6.2f} ms  "
        f"(target p50 <= {TARGET_QUERY_MS:.0f} ms warm: {ok})"
    )


def bench_queries(root: Path, hist: History, files: list[str]) -> None:
    spans = {}
    for path in files:
        lines = (root / path).read_text(encoding="utf-8", errors="replace").count("\n")
        mid = max(0, lines // 2 - 5)
        spans[path] = (mid, min(mid + 9, max(lines - 1, 0)))
    queries: list[tuple[str, Callable[[str], object]]] = [
        ("uncommitted(path)", lambda p: hist.uncommitted(p)),
        ("commits_touching(path, limit=5)", lambda p: hist.commits_touching(p)),
        ("commits_touching(path, 10 lines)", lambda p: hist.commits_touching(p, *spans[p])),
        ("blame(path, 10 lines)", lambda p: hist.blame(p, *spans[p])),
        ("cochanged(path)", lambda p: hist.cochanged(p)),
    ]
    for name, query in queries:
        cold = [ms(timed(lambda p=p, q=query: q(p))) for p in files]
        warm = [ms(timed(lambda p=p, q=query: q(p))) for _ in range(3) for p in files]
        report(name, cold, warm)
    cold = [ms(timed(hist.uncommitted))]
    warm = [ms(timed(hist.uncommitted)) for _ in range(30)]
    report("uncommitted() whole tree", cold, warm)
    ring = EditRing()
    record = [
        ms(timed(lambda i=i: ring.record(f"f{i % 7}.py", i * 3, "a\n", "b\n", float(i))))
        for i in range(2000)
    ]
    recent = [ms(timed(lambda: ring.recent(20))) for _ in range(200)]
    report("EditRing.record", record, record)
    report("EditRing.recent(20)", recent, recent)


def bench_repo(name: str, root: Path, query_files: int) -> None:
    commits = repos.git(root, "rev-list", "--count", "HEAD").strip()
    print(f"\n== {name}: {commits} commits ({root})")
    peer = statistics.median(peer_git_log(root) for _ in range(3))
    runs = [fresh_ingest(root) for _ in range(3)]
    ingest = statistics.median(t for t, _ in runs)
    ratio = ingest / peer
    print(
        f"  full ingest {ingest:.3f}s ({runs[0][1]} commits) vs git log --numstat {peer:.3f}s: "
        f"ratio {ratio:.2f} (target <= {TARGET_INGEST_RATIO:.1f}: "
        f"{'ok' if ratio <= TARGET_INGEST_RATIO else 'MISSED'})"
    )
    hist = History(root)
    hist.ingest()
    incremental = []
    for round_no in range(5):
        add_commits(root, 10, round_no)
        start = time.perf_counter()
        stats = hist.ingest()
        incremental.append(ms(time.perf_counter() - start))
        assert stats.new_commits == 10, stats
    med = statistics.median(incremental)
    print(
        f"  incremental ingest of 10 commits: median {med:.1f} ms, max {max(incremental):.1f} ms "
        f"over 5 rounds (target <= {TARGET_INCREMENTAL_MS:.0f} ms: "
        f"{'ok' if med <= TARGET_INCREMENTAL_MS else 'MISSED'})"
    )
    files = hot_files(root, query_files)
    for path in files[:5]:
        with (root / path).open("a", encoding="utf-8") as fh:
            fh.write("# uncommitted edit\n")
    print(f"  queries over {len(files)} files (5 with uncommitted edits), ms:")
    bench_queries(root, hist, files)
    hist.close()


def pygit2_numstat(root: Path, limit: int) -> int:
    """What ingest needs, through libgit2: walk, diff each commit, find renames, line stats."""
    import pygit2

    repo = pygit2.Repository(str(root))
    seen = 0
    for commit in repo.walk(repo.head.target, pygit2.enums.SortMode.TIME):
        if len(commit.parents) == 1:
            diff = repo.diff(commit.parents[0], commit)
            diff.find_similar()
            for patch in diff:
                if patch is not None:
                    _ = patch.line_stats
        elif not commit.parents:
            diff = commit.tree.diff_to_tree(swap=True)
            for patch in diff:
                if patch is not None:
                    _ = patch.line_stats
        seen += 1
        if seen >= limit:
            break
    return seen


def cli_numstat(root: Path, limit: int) -> int:
    git = Git(root, find_git() or "git")
    return sum(
        1 for raw in split_records(git.stream(log_args(["HEAD"], limit))) if parse_log_record(raw)
    )


def bench_access(root: Path, limit: int) -> None:
    print(f"\n== git access, same {limit} commits of the synthetic history (median of 3)")
    cli = statistics.median(timed(lambda: cli_numstat(root, limit)) for _ in range(3))
    print(f"  git log -z --numstat stream + parse: {cli:.3f}s")
    if importlib.util.find_spec("pygit2") is None:
        print("  pygit2 not installed (pip install -e '.[bench]'): no comparison")
        return
    lib = statistics.median(timed(lambda: pygit2_numstat(root, limit)) for _ in range(3))
    print(f"  pygit2 walk + diff + find_similar + line_stats: {lib:.3f}s")
    print(f"  pygit2 / CLI: {lib / cli:.1f}x -> keeping the {'CLI' if cli <= lib else 'pygit2'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--commits", type=int, default=10_000, help="synthetic history size")
    parser.add_argument("--files", type=int, default=2_000, help="synthetic file count")
    parser.add_argument("--no-six", action="store_true", help="skip the six release history")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    out = Path(tempfile.mkdtemp(prefix="cf-hist-bench-"))
    os.environ["CODEFLOW_CACHE_DIR"] = str(out / "cache")
    os.environ.update(repos.ENV)
    try:
        start = time.perf_counter()
        synthetic = repos.build_synthetic(out, args.commits, args.files)
        print(f"built the synthetic repo in {time.perf_counter() - start:.1f}s")
        built = [("synthetic", synthetic, 50)]
        try:
            if not args.no_six:
                built.append(("six releases", repos.build_six(out), 5))
        except (OSError, subprocess.CalledProcessError) as exc:
            print(f"six releases: skipped ({exc})")
        for name, root, query_files in built:
            bench_repo(name, root, query_files)
        bench_access(synthetic, min(2000, args.commits))
    finally:
        shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
