"""Verifying a patch in a scratch copy of the workspace: the user's files are never written.

`scratch_copy` copies the workspace without VCS, virtualenv and cache folders; `verify` writes
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

__all__ = ["SCRATCH_IGNORE", "remove_scratch", "scratch_copy", "verify"]

SCRATCH_IGNORE = (".git", ".venv", "venv", "node_modules", "__pycache__", ".pytest_cache", ".tox")


def scratch_copy(root: Path) -> Path:
    """A temp copy of the workspace without VCS, virtualenv and cache dirs; returns its root."""
    tmp = Path(tempfile.mkdtemp(prefix="codeflow-fix-"))
    dest = tmp / root.name
    cargo = ("target",) if (root / "Cargo.toml").is_file() else ()  # the crate's build output
    ignore = shutil.ignore_patterns(*SCRATCH_IGNORE, *cargo)
    shutil.copytree(root, dest, symlinks=True, ignore=ignore)
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
