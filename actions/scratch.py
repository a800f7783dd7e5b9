"""Verifying a patch in a scratch copy of the workspace: the user's files are never written.

`scratch_copy` copies the workspace's sources (dependency folders are linked, not copied: see
`bench/scratch.py` for the setup time on a workspace with 300 MB of them); `verify` writes
one patched file into it, re-runs only the failing test there (with the workspace's own
interpreter) and restores the file.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path

from .fixing import UNVERIFIED, VERIFIED, Target
from .interpreter import Interpreter
from .runner import CommandError, TestSettings, run_tests

__all__ = ["SCRATCH_IGNORE", "SHARED", "remove_scratch", "scratch_copy", "verify"]

SCRATCH_IGNORE = (".git", ".venv", "venv", "__pycache__", ".pytest_cache", ".tox")
SHARED = ("node_modules",)  # dependencies the tests need: linked into the copy, never copied
CARGO_OUTPUT = "target"  # a crate's build output: left out (the copy builds its own)


def scratch_copy(root: Path) -> Path:
    """A temp copy of the workspace for verifying patches; returns its root. Left out: VCS,
    virtualenvs, caches and a crate's `target/`; dependency folders (`node_modules`, at any
    depth) are symlinks to the workspace's own, so that setting up a copy costs the size of the
    sources, not of the dependencies."""
    tmp = Path(tempfile.mkdtemp(prefix="codeflow-fix-"))
    dest = tmp / root.name
    skipped = set(SCRATCH_IGNORE)
    if (root / "Cargo.toml").is_file():
        skipped.add(CARGO_OUTPUT)
    shared: list[Path] = []

    def ignore(folder: str, names: list[str]) -> set[str]:
        links = {n for n in names if n in SHARED}
        shared.extend(Path(folder) / n for n in sorted(links))
        return links | (skipped & set(names))

    shutil.copytree(root, dest, symlinks=True, ignore=ignore)
    for source in shared:
        if source.exists():
            (dest / source.relative_to(root)).symlink_to(source.resolve(), target_is_directory=True)
    return dest


def remove_scratch(scratch: Path) -> None:
    """Delete a copy made by `scratch_copy` (its temp dir included)."""
    shutil.rmtree(scratch.parent, ignore_errors=True)


def _write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


async def verify(
    root: Path,
    settings: TestSettings,
    scratch: Path,
    target: Target,
    new_text: str,
    node_id: str,
    python: Interpreter | CommandError | None = None,
) -> tuple[bool, float, str]:
    """Run only `node_id` in `scratch` with the patch in place: (passes, seconds, note).
    `python` is the workspace's interpreter (`scratch_python`; None with `tests.command`)."""
    if isinstance(python, CommandError):
        return False, 0.0, f"unverified: {python}"
    dest = scratch / target.path
    try:
        dest.resolve().relative_to(scratch.resolve())
    except ValueError:
        return False, 0.0, "unverified: the file is a link out of the workspace copy"
    await asyncio.to_thread(_write, dest, new_text)
    try:
        result = await run_tests(root, settings, [node_id], cwd=scratch, python=python)
    finally:
        await asyncio.to_thread(_write, dest, target.text)
    if not result.ok:
        return False, result.seconds, f"unverified: {result.message.removeprefix('codeflow: ')}"
    ran = [o for o in result.outcomes if o.node_id == node_id]
    passed = bool(ran) and all(o.status == "passed" for o in ran) and result.returncode == 0
    return passed, result.seconds, VERIFIED if passed else UNVERIFIED
