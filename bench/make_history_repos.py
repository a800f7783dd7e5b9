"""Build the two benchmark repositories of ``bench/history.py`` into a directory (never committed).

1. ``synthetic``: 10,000 commits over 2,000 files, with renames, merges of side branches and a
   few mass reformatting commits, written in one ``git fast-import`` stream (deterministic).
2. ``six``: the real code flow of the ``six`` package: its sdists for successive releases
   (``pip download --no-deps --no-binary :all: six==VER``, cached under the bench cache dir)
   replayed as one commit per release, with the version as the message. When the download
   fails the repo is skipped and the reason is returned.

3. ``big``: an old, large repository for ``bench/big_repo.py``: ``build_big`` writes >= 15,000
   commits over ~400 modules and one ~8,400-line ``pkg/checker.py`` (touched by every 8th
   commit, like mypy's checker), streamed into ``git fast-import``; ``cached_big`` builds it once
   per ``BIG_VERSION`` under the bench cache dir.

Run it alone to build both into a temp dir and print what was built:
``.venv/bin/python bench/make_history_repos.py [OUT_DIR]``.
"""

from __future__ import annotations

import io
import os
import random
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

SIX_VERSIONS = (
    "1.4.1 1.5.2 1.6.1 1.7.3 1.8.0 1.9.0 1.10.0 1.11.0 1.12.0 1.13.0 1.14.0 1.15.0 1.16.0 1.17.0"
).split()
T0 = 1_600_000_000
ENV = {
    "GIT_AUTHOR_NAME": "Bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "Bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(ENV)
    env.update(extra or {})
    return env


def git(
    root: Path, *args: str, env: dict[str, str] | None = None, data: bytes | None = None
) -> str:
    proc = subprocess.run(
        ["git", "-C", str(root), *args],
        input=data,
        capture_output=True,
        env=git_env(env),
        check=True,
    )
    return proc.stdout.decode()


class _Stream:
    """Writes a fast-import stream."""

    def __init__(self) -> None:
        self.out = io.BytesIO()
        self.mark = 0

    def blob_inline(self, path: str, text: str) -> None:
        data = text.encode()
        self.out.write(b"M 100644 inline %s\ndata %d\n%s\n" % (path.encode(), len(data), data))

    def commit(
        self,
        branch: str,
        when: int,
        message: str,
        parent: int | None,
        merge: int | None = None,
    ) -> int:
        self.mark += 1
        msg = message.encode()
        self.out.write(b"commit refs/heads/%s\nmark :%d\n" % (branch.encode(), self.mark))
        self.out.write(b"author Bench <bench@example.com> %d +0000\n" % when)
        self.out.write(b"committer Bench <bench@example.com> %d +0000\n" % when)
        self.out.write(b"data %d\n%s\n" % (len(msg), msg))
        if parent is not None:
            self.out.write(b"from :%d\n" % parent)
        if merge is not None:
            self.out.write(b"merge :%d\n" % merge)
        return self.mark


def _body(rng: random.Random, name: str, lines: int) -> list[str]:
    out = [f'"""Module {name}."""', ""]
    for i in range(lines // 4):
        out += [f"def {name}_f{i}(x):", f"    y = x * {rng.randint(1, 99)}", "    return y", ""]
    return out


def build_synthetic(out: Path, commits: int = 10_000, files: int = 2_000, seed: int = 7) -> Path:
    """The synthetic repository: ``commits`` commits over ``files`` files (fast-import)."""
    rng = random.Random(seed)
    root = out / "synthetic"
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    names = [f"src/pkg{i % 40}/mod{i}.py" for i in range(files)]
    content = {n: _body(rng, f"m{i}", 40) for i, n in enumerate(names)}
    s = _Stream()
    when = T0
    head = s.commit("main", when, "initial import", None)
    s.out.write(b"deleteall\n")
    for n in names:
        s.blob_inline(n, "\n".join(content[n]) + "\n")
    made = 1
    while made < commits:
        when += 600
        made_now, head, when = _one_step(s, rng, names, content, head, when, made)
        made += made_now
    proc = subprocess.run(
        ["git", "-C", str(root), "fast-import", "--quiet"],
        input=s.out.getvalue(),
        env=git_env(),
        capture_output=True,
        check=True,
    )
    del proc
    git(root, "checkout", "-q", "-f", "main")
    return root


def _edit(s: _Stream, rng: random.Random, content: dict[str, list[str]], name: str) -> None:
    lines = content[name]
    i = rng.randrange(2, len(lines))
    lines[i] = lines[i] + f"  # edit {rng.randint(0, 10**6)}"
    if rng.random() < 0.3:
        lines.insert(i, f"    z = {rng.randint(0, 999)}")
    s.blob_inline(name, "\n".join(lines) + "\n")


def _one_step(
    s: _Stream,
    rng: random.Random,
    names: list[str],
    content: dict[str, list[str]],
    head: int,
    when: int,
    made: int,
) -> tuple[int, int, int]:
    """One commit on main, or a side branch of 3 commits merged back (4 commits)."""
    if made % 97 == 0:  # a side branch, merged back
        side = head
        for k in range(3):
            side = s.commit("side", when, f"side work {made + k}", side)
            for n in rng.sample(names, 2):
                _edit(s, rng, content, n)
            when += 60
        merged = s.commit("main", when, f"Merge side work {made}", head, side)
        return 4, merged, when
    if made % 2500 == 0:  # mass reformatting
        head = s.commit("main", when, f"reformat {made}", head)
        for n in rng.sample(names, 300):
            _edit(s, rng, content, n)
        return 1, head, when
    if made % 53 == 0:  # a rename, with a small edit
        i = rng.randrange(len(names))
        old = names[i]
        new = old.replace(".py", f"_r{made}.py")
        head = s.commit("main", when, f"rename {old} -> {new}", head)
        s.out.write(b"R %s %s\n" % (old.encode(), new.encode()))
        names[i] = new
        content[new] = content.pop(old)
        return 1, head, when
    touched = rng.sample(names[:200], 1) + rng.sample(names, rng.randint(0, 3))
    touched = list(dict.fromkeys(touched))
    head = s.commit("main", when, f"change {made}: {', '.join(touched)}\n\nBody {made}.", head)
    for n in touched:
        _edit(s, rng, content, n)
    return 1, head, when


BIG_VERSION = 1
COMMON = ("visit", "check", "accept", "run", "close")


def _module(rng: random.Random, k: int) -> list[str]:
    """A small module: helpers, a class with common method names, a few imports."""
    out = [f'"""Module mod{k}: helpers for part {k}."""', "", "from __future__ import annotations",
           "", f"from pkg.mod{(k + 1) % 400} import helper_{(k + 1) % 400}_0", ""]
    for i in range(14):
        out += [f"def helper_{k}_{i}(value, scale={rng.randint(1, 9)}):",
                f'    """Scale value for step {i} of part {k}."""',
                f"    total = value * scale + {rng.randint(0, 99)}",
                "    if total > 1000:",
                f"        total = helper_{(k + 1) % 400}_0(total // 2)" if i == 0 else
                "        total -= 1000",
                "    return total", ""]
    out += [f"class Node{k}:", f'    """A node of kind {k}."""', "",
            "    def __init__(self, name):", "        self.name = name", ""]
    for name in COMMON:
        out += [f"    def {name}(self, other):", f"        return helper_{k}_1(len(self.name))", ""]
    return out


def _checker(rng: random.Random, functions: int = 560) -> list[str]:
    """The big file: imports from 40 modules, ``functions`` functions of ~15 lines each."""
    mods = list(range(0, 400, 10))
    out = ['"""The checker: type checks a program, one node at a time."""', "",
           "from __future__ import annotations", "", "import pkg.mod1 as m1", ""]
    out += [f"from pkg.mod{k} import Node{k}, helper_{k}_2, helper_{k}_3" for k in mods]
    out.append("")
    for i in range(functions):
        k = mods[i % len(mods)]
        callee = f"check_part_{i - 1}" if i else "helper_0_2"
        out += [f"def check_part_{i}(node: Node{k}, depth: int = 0) -> int:",
                f'    """Check part {i} of the program."""',
                f"    score = helper_{k}_2(depth, {rng.randint(1, 9)})",
                "    for child in range(depth):",
                f"        score += helper_{k}_3(child)",
                "        if score > 100:",
                "            break",
                "    node.visit(node)",
                f"    if depth < {rng.randint(2, 5)}:",
                f"        score += {callee}(node, depth + 1)",
                "    result = m1.helper_1_4(score)",
                "    if result < 0:",
                f"        raise ValueError('part {i}')",
                "    return result", ""]
    return out


def build_big(out: Path, commits: int = 15_200, seed: int = 11) -> Path:
    """The big repository (see the module docstring), streamed into ``git fast-import``."""
    rng = random.Random(seed)
    root = out / "big"
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    content = {f"pkg/mod{k}.py": _module(rng, k) for k in range(400)}
    content["pkg/__init__.py"] = ['"""The package."""']
    big = "pkg/checker.py"
    content[big] = _checker(rng)
    proc = subprocess.Popen(["git", "-C", str(root), "fast-import", "--quiet"],
                            stdin=subprocess.PIPE, env=git_env())
    assert proc.stdin is not None
    s = _Stream()
    when = T0
    head = s.commit("main", when, "initial import", None)
    for n, lines in content.items():
        s.blob_inline(n, "\n".join(lines) + "\n")
    small = [n for n in content if n not in (big, "pkg/__init__.py")]
    for made in range(1, commits):
        when += 1800
        touched = [big] if made % 8 == 0 else []
        touched += rng.sample(small, rng.randint(1, 3))
        head = s.commit("main", when, f"change {made}: {', '.join(touched)}", head)
        for n in touched:
            _edit(s, rng, content, n)
        if s.out.tell() > 8 << 20:
            proc.stdin.write(s.out.getvalue())
            s.out = io.BytesIO()
    proc.stdin.write(s.out.getvalue())
    proc.stdin.close()
    if proc.wait() != 0:
        raise subprocess.CalledProcessError(proc.returncode, "git fast-import")
    git(root, "checkout", "-q", "-f", "main")
    return root


def cached_big() -> Path:
    """The big repository, built once per ``BIG_VERSION`` under the bench cache dir."""
    base = sdist_cache().parent / f"big-v{BIG_VERSION}"
    root = base / "big"
    if not (base / "done").exists():
        build_big(base)
        (base / "done").write_text("ok\n")
    return root


def sdist_cache() -> Path:
    base = os.environ.get("CODEFLOW_BENCH_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "codeflow-bench"
    )
    path = Path(base) / "sdists"
    path.mkdir(parents=True, exist_ok=True)
    return path


def download_six(versions: tuple[str, ...] | list[str] = SIX_VERSIONS) -> list[Path]:
    """The sdists of ``six`` (downloaded once into the cache); raises OSError on failure."""
    cache = sdist_cache()
    found = []
    for ver in versions:
        hits = sorted(cache.glob(f"six-{ver}.tar.gz"))
        if not hits:
            cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps"]
            cmd += ["--no-binary", ":all:", f"six=={ver}", "-d", str(cache)]
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
            hits = sorted(cache.glob(f"six-{ver}.tar.gz"))
            if proc.returncode != 0 or not hits:
                raise OSError(f"pip download six=={ver} failed: {proc.stderr.strip()[-300:]}")
        found.append(hits[0])
    return found


def build_six(out: Path) -> Path:
    """Replay the six releases as commits (one per release, message = version)."""
    sdists = download_six()
    root = out / "six"
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    for i, (ver, sdist) in enumerate(zip(SIX_VERSIONS, sdists, strict=True)):
        for child in root.iterdir():
            if child.name != ".git":
                shutil.rmtree(child) if child.is_dir() else child.unlink()
        _extract(sdist, root)
        git(root, "add", "-A")
        stamp = f"@{T0 + i * 86400 * 60} +0000"
        git(
            root,
            "commit",
            "-q",
            "-m",
            ver,
            env={"GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp},
        )
    return root


def _extract(sdist: Path, root: Path) -> None:
    with tarfile.open(sdist) as tar:
        for member in tar.getmembers():
            parts = Path(member.name).parts[1:]
            if not member.isfile() or not parts or ".." in parts:
                continue
            target = root.joinpath(*parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            handle = tar.extractfile(member)
            if handle is not None:
                target.write_bytes(handle.read())


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="cf-hist-"))
    keep = len(sys.argv) > 1
    start = time.perf_counter()
    syn = build_synthetic(out)
    count = git(syn, "rev-list", "--count", "HEAD").strip()
    print(f"synthetic: {count} commits at {syn} ({time.perf_counter() - start:.1f}s)")
    try:
        six = build_six(out)
        print(f"six: {git(six, 'rev-list', '--count', 'HEAD').strip()} releases at {six}")
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"six: skipped ({exc})")
    if not keep:
        shutil.rmtree(out)


if __name__ == "__main__":
    main()
