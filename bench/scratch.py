"""Setup time of a fix's scratch copy on workspaces with a 300 MB dependency folder.

Two workspaces are generated in a temp dir: a TypeScript project with a 300 MB `node_modules`
and a Rust crate with a 300 MB `target/` (each beside ~200 small source files). For each, the
scratch copy `actions.scratch.scratch_copy` makes (the setup of a fix: its candidates share one
copy) is timed, then one candidate's own setup (write the patched file, restore it), and the
copy before this change (`shutil.copytree` leaving out only the seven old names: a crate's
`target/` was copied; `node_modules` was left out, so a JS test could not run in the copy).
Target: setup ≤ 1 s per candidate.

    python bench/scratch.py [--mb 300] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# bench/inference.py would shadow the `inference` package; PYTHONPATH entries come first
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

from actions.scratch import remove_scratch, scratch_copy  # noqa: E402

OLD_IGNORE = (".git", ".venv", "venv", "node_modules", "__pycache__", ".pytest_cache", ".tox")
FILE_KB = 100


def _fill(folder: Path, mb: int) -> None:
    """`mb` MB of 100 KB files in nested folders (a dependency tree's shape)."""
    blob = os.urandom(FILE_KB * 1024)
    for i in range(mb * 1024 // FILE_KB):
        path = folder / f"pkg{i // 50}" / "lib" / f"f{i}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(blob)


def _sources(root: Path, suffix: str, n: int = 200) -> None:
    for i in range(n):
        path = root / "src" / f"m{i // 20}" / f"mod{i}{suffix}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"// module {i}\n" + "const x = 1;\n" * 100)


def _old_copy(root: Path) -> Path:
    dest = Path(tempfile.mkdtemp(prefix="codeflow-fix-old-")) / root.name
    shutil.copytree(root, dest, symlinks=True, ignore=shutil.ignore_patterns(*OLD_IGNORE))
    return dest


def _timed(make: Callable[[Path], Path], root: Path, repeat: int) -> tuple[float, Path]:
    times = []
    copy = root
    for _ in range(repeat):
        t0 = time.perf_counter()
        copy = make(root)
        times.append(time.perf_counter() - t0)
        if _ != repeat - 1:
            remove_scratch(copy)
    return statistics.median(times), copy


def _candidate(copy: Path, rel: str) -> float:
    path = copy / rel
    text = path.read_text()
    t0 = time.perf_counter()
    path.write_text(text + "// patched\n")
    path.write_text(text)
    return time.perf_counter() - t0


def _du(path: Path) -> float:
    total = sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())
    return total / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="codeflow-bench-scratch-") as tmp:
        cases = {
            "node_modules": (Path(tmp) / "web", ".ts", "node_modules", "package.json"),
            "target": (Path(tmp) / "crate", ".rs", "target", "Cargo.toml"),
        }
        for name, (root, suffix, deps, marker) in cases.items():
            _sources(root, suffix)
            (root / marker).write_text("{}\n" if marker.endswith(".json") else "[package]\n")
            _fill(root / deps, args.mb)
            new_s, copy = _timed(scratch_copy, root, args.repeat)
            cand_s = _candidate(copy, f"src/m0/mod0{suffix}")
            copied = _du(copy)
            remove_scratch(copy)
            old_s, old = _timed(_old_copy, root, 1)
            old_copied = _du(old)
            shutil.rmtree(old.parent)
            print(
                f"{name:12s} workspace {_du(root):6.0f} MB: scratch copy {new_s * 1000:7.1f} ms "
                f"(median of {args.repeat}, {copied:.1f} MB copied, {deps} linked or left out); "
                f"per candidate {cand_s * 1000:.2f} ms; before: {old_s * 1000:7.1f} ms "
                f"({old_copied:.1f} MB copied)"
            )


if __name__ == "__main__":
    main()
