"""The fixflow workspace (tests/data/fixflow) as a git repo whose last commit introduced a bug."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "data" / "fixflow"
BUG_COMMIT = "mean: divide by n-1 (sample size)"
GOOD_COMMIT = "Add total and mean"


def _git(root: Path, *args: str) -> None:
    env = {
        "GIT_AUTHOR_NAME": "Ada",
        "GIT_AUTHOR_EMAIL": "ada@example.com",
        "GIT_COMMITTER_NAME": "Ada",
        "GIT_COMMITTER_EMAIL": "ada@example.com",
        "GIT_CONFIG_NOSYSTEM": "1",
        "HOME": str(root),
        "PATH": "/usr/bin:/bin:/usr/local/bin",
    }
    subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)


def make_workspace(dest: Path, git: bool = True) -> Path:
    """Copy the fixture to `dest` (good version committed, then the buggy one)."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(DATA / "test_calc.py.in", dest / "test_calc.py")
    shutil.copy(DATA / "calc_good.py.in", dest / "calc.py")
    if git:
        _git(dest, "init", "-q", "-b", "main")
        _git(dest, "add", "calc.py", "test_calc.py")
        _git(dest, "commit", "-q", "-m", GOOD_COMMIT)
    shutil.copy(DATA / "calc.py", dest / "calc.py")
    if git:
        _git(dest, "commit", "-q", "-am", BUG_COMMIT)
    return dest


def digest(root: Path, names: tuple[str, ...] = ("calc.py", "test_calc.py")) -> dict[str, str]:
    """sha256 of the workspace's source files."""
    return {n: hashlib.sha256((root / n).read_bytes()).hexdigest() for n in names}


GOOD_MEAN = '''def mean(values):
    """Arithmetic mean of a non-empty list."""
    count = len(values)
    return total(values) / count
'''
WRONG_MEAN = '''def mean(values):
    """Arithmetic mean of a non-empty list."""
    count = max(len(values) - 1, 1)
    return total(values) / count
'''


def answer(code: str) -> str:
    """A model answer holding `code` in a fenced block."""
    return f"Here is the fix:\n```python\n{code}```\n"
