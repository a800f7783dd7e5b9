"""A workspace's own virtualenv, made offline: `python -m venv --without-pip`, then pytest and
the distributions it needs are linked in from this environment (only those, so codeflow's
packages and pytest plugins stay out), and a module `teamlib` that codeflow's environment does
not have is written into its site-packages."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from pathlib import Path

from packaging.requirements import Requirement

TEAMLIB = "RATE = 3\n\n\ndef rate():\n    return RATE\n"


def _requirements(name: str) -> set[str]:
    """`name` and every distribution it needs here (markers evaluated, extras left out)."""
    found: set[str] = set()
    todo = [name]
    while todo:
        dist = importlib.metadata.distribution(todo.pop())
        key = dist.metadata["Name"].lower().replace("_", "-")
        if key in found:
            continue
        found.add(key)
        for line in dist.requires or []:
            req = Requirement(line)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return found


def _top_level(dist: importlib.metadata.Distribution) -> set[str]:
    """The names a distribution installs at the top of site-packages (dist-info included)."""
    names = set()
    for f in dist.files or []:
        top = f.parts[0]
        if top.endswith(".pth") or top in ("..", "__pycache__"):
            continue
        names.add(top)
    return names


def make_venv(dest: Path) -> Path:
    """A virtualenv holding pytest (linked from here) and `teamlib`; returns its python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(dest)], check=True)
    python = dest / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    site_dir = Path(site)
    for name in sorted(_requirements("pytest")):
        dist = importlib.metadata.distribution(name)
        base = Path(str(dist.locate_file("")))
        for top in _top_level(dist):
            (site_dir / top).symlink_to(base / top)
    (site_dir / "teamlib.py").write_text(TEAMLIB)
    return python
