"""Helpers of the index tests: git with a fixed identity, writing files, unpacking positions."""

from __future__ import annotations

import subprocess
from array import array
from pathlib import Path


def git(root: Path, *args: str) -> str:
    """Run git in a repo with a fixed identity; returns stdout."""
    cmd = ["git", "-C", str(root), "-c", "user.name=Test", "-c", "user.email=t@example.com",
           "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main", *args]
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def positions_by_name(refs: dict[str, bytes]) -> dict[str, list[tuple[int, int]]]:
    """Packed ``(line, col)`` pairs per name -> sorted lists of pairs."""
    out = {}
    for name, blob in refs.items():
        values = array("I")
        values.frombytes(blob)
        out[name] = sorted(zip(values[0::2], values[1::2], strict=True))
    return out
