"""`codeflow index DIR [--json] [--no-history]`: build or refresh the index and history store.

Prints the index's stats (files, symbols, refs, languages, skipped with reasons, seconds) and
the number of commits the git history store holds. The history room is imported lazily: when it
is missing or fails, the index still runs and the output says why (``history_error``).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

from context.index import WorkspaceIndex

log = logging.getLogger(__name__)

__all__ = ["run"]


def _history(root: Path) -> tuple[int, str | None]:
    """(commits, error) from ``context.history.History(root).ingest()``."""
    try:
        from context.history import History
    except ImportError as exc:
        return 0, f"history unavailable: {exc}"
    history = None
    try:
        history = History(root)
        stats = history.ingest()
        return int(getattr(stats, "commits", 0) or 0), None
    except Exception as exc:  # noqa: BLE001 - another room's failure must not fail the index
        log.warning("git history ingest failed: %s", exc)
        return 0, f"{type(exc).__name__}: {exc}"
    finally:
        close = getattr(history, "close", None)
        if callable(close):
            close()


def collect(root: Path, history: bool = True) -> dict[str, Any]:
    """Refresh the index (and history) of a workspace; the stats as one JSON-able dict."""
    started = time.perf_counter()
    with WorkspaceIndex(root) as index:
        stats = index.refresh()
    out: dict[str, Any] = {
        "files": stats.files, "symbols": stats.symbols, "refs": stats.refs,
        "languages": stats.languages, "skipped": stats.skipped, "parsed": stats.parsed,
        "removed": stats.removed, "rebuilt": stats.rebuilt,
        "index_seconds": round(stats.seconds, 3),
        "commits": 0,
    }
    if history:
        commits, error = _history(root)
        out["commits"] = commits
        if error is not None:
            out["history_error"] = error
    out["seconds"] = round(time.perf_counter() - started, 3)
    return out


def _print_text(stats: dict[str, Any]) -> None:
    languages = ", ".join(f"{k} {v}" for k, v in stats["languages"].items()) or "none"
    skipped = ", ".join(f"{k} {v}" for k, v in stats["skipped"].items()) or "none"
    print(f"files    {stats['files']} ({languages})")
    print(f"symbols  {stats['symbols']}")
    print(f"refs     {stats['refs']}")
    print(f"skipped  {skipped}")
    print(f"commits  {stats['commits']}" + (
        f"  ({stats['history_error']})" if "history_error" in stats else ""))
    if stats["rebuilt"]:
        print("store    was corrupt or outdated and has been rebuilt")
    print(f"seconds  {stats['seconds']}")


def run(args: argparse.Namespace) -> int:
    """Entry point of the subcommand; returns the exit status."""
    root = Path(args.dir)
    if not root.is_dir():
        print(f"codeflow index: {root} is not a directory", file=sys.stderr)
        return 2
    stats = collect(root, history=not getattr(args, "no_history", False))
    if args.json:
        print(json.dumps(stats, sort_keys=True))
    else:
        _print_text(stats)
    return 0
