"""Running the git command line safely: read-only, no pager, no locks, with timeouts.

Every call is ``git -C <root> -c core.quotepath=off ...`` with ``GIT_OPTIONAL_LOCKS=0`` so
that we never take the index lock or write to the repository. ``GitError`` is raised for a
failing or timed-out command; callers log it and degrade.

We use the CLI rather than libgit2 (pygit2): ``bench/history.py`` measures both on the same
history, and the streaming ``git log --numstat -z`` reader wins by a wide margin.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

__all__ = ["EMPTY_TREE", "Git", "GitError", "RepoInfo", "find_git", "read_head"]

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"


class GitError(Exception):
    """A git command failed, timed out, or git could not be started."""


@dataclass(frozen=True)
class RepoInfo:
    """Where the repository is, relative to the workspace, and the state of HEAD."""

    toplevel: Path
    prefix: str  # workspace dir relative to the toplevel, "" or ending with "/"
    git_dir: Path
    head: str | None  # None on an unborn branch
    shallow: bool


def find_git() -> str | None:
    """The git executable on PATH, or None."""
    return shutil.which("git")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        GIT_OPTIONAL_LOCKS="0",
        GIT_PAGER="cat",
        PAGER="cat",
        GIT_TERMINAL_PROMPT="0",
        LC_ALL="C",
        GIT_NO_REPLACE_OBJECTS="1",
    )
    env.pop("GIT_DIR", None)
    env.pop("GIT_WORK_TREE", None)
    env.pop("GIT_INDEX_FILE", None)
    return env


class Git:
    """A git CLI bound to one directory."""

    def __init__(self, root: Path, executable: str, timeout_s: float = 30.0) -> None:
        self.root = root
        self.executable = executable
        self.timeout_s = timeout_s
        self.env = _env()

    def argv(self, args: Sequence[str]) -> list[str]:
        return [
            self.executable,
            "--no-pager",
            "-C",
            str(self.root),
            "-c",
            "core.quotepath=off",
            "-c",
            "color.ui=false",
            "-c",
            "log.showSignature=false",
            *args,
        ]

    def run(
        self,
        args: Sequence[str],
        *,
        stdin: bytes | None = None,
        timeout_s: float | None = None,
        check: bool = True,
    ) -> bytes:
        """Run git and return its stdout; raises ``GitError`` on failure (when ``check``)."""
        try:
            proc = subprocess.run(
                self.argv(args),
                input=stdin,
                capture_output=True,
                env=self.env,
                timeout=timeout_s or self.timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise GitError(f"git {args[0]} timed out after {exc.timeout}s") from exc
        except OSError as exc:
            raise GitError(f"cannot run git: {exc}") from exc
        if check and proc.returncode != 0:
            err = proc.stderr.decode("utf-8", "replace").strip()
            raise GitError(f"git {' '.join(args[:3])} failed ({proc.returncode}): {err}")
        return proc.stdout

    def stream(
        self, args: Sequence[str], chunk: int = 1 << 20, timeout_s: float = 600.0
    ) -> Iterator[bytes]:
        """Yield git's stdout in chunks as it runs; raises ``GitError`` if git fails or runs
        past ``timeout_s``. Closing the generator early kills the process.
        """
        errors = tempfile.TemporaryFile()  # a file, so that a chatty stderr cannot block git
        try:
            proc = subprocess.Popen(
                self.argv(args),
                stdout=subprocess.PIPE,
                stderr=errors,
                stdin=subprocess.DEVNULL,
                env=self.env,
            )
        except OSError as exc:
            errors.close()
            raise GitError(f"cannot run git: {exc}") from exc
        assert proc.stdout is not None
        timer = threading.Timer(timeout_s, proc.kill)
        timer.daemon = True
        timer.start()
        finished = False
        try:
            while data := proc.stdout.read1(chunk):
                yield data
            finished = True
        finally:
            if not finished:
                proc.kill()
            proc.stdout.close()
            code = proc.wait()
            timer.cancel()
            errors.seek(0)
            err = errors.read()
            errors.close()
        if code != 0:
            msg = err.decode("utf-8", "replace").strip()
            raise GitError(f"git {' '.join(args[:3])} failed ({code}): {msg}")

    def info(self) -> RepoInfo:
        """Find the repository around ``root``; raises ``GitError`` when there is none."""
        args = [
            "rev-parse",
            "--is-shallow-repository",
            "--show-toplevel",
            "--absolute-git-dir",
            "--show-prefix",
            "HEAD",
        ]
        lines = self.run(args, check=False).decode("utf-8", "replace").split("\n")
        if len(lines) < 5 or not lines[1] or not lines[2]:
            raise GitError(f"{self.root} is not inside a git work tree")
        head = lines[4] if _is_sha(lines[4]) else None
        return RepoInfo(
            toplevel=Path(lines[1]),
            prefix=lines[3],
            git_dir=Path(lines[2]),
            head=head,
            shallow=lines[0] == "true",
        )

    def head(self) -> str | None:
        """The commit id of HEAD, or None on an unborn branch."""
        out = self.run(["rev-parse", "--verify", "--quiet", "HEAD^{commit}"], check=False)
        text = out.decode("ascii", "replace").strip()
        return text or None

    def is_ancestor(self, old: str, new: str) -> bool:
        try:
            self.run(["merge-base", "--is-ancestor", old, new])
        except GitError:
            return False
        return True

    def has_commit(self, sha: str) -> bool:
        out = self.run(["cat-file", "-t", sha], check=False)
        return out.strip() == b"commit"


def _is_sha(text: str) -> bool:
    return len(text) == 40 and all(c in "0123456789abcdef" for c in text)


def read_head(git_dir: Path) -> str | None:
    """HEAD's commit id read from the files in ``git_dir`` (no subprocess), or None if unsure.

    Handles a detached HEAD, loose refs, packed refs and linked worktrees (``commondir``).
    """
    try:
        text = (git_dir / "HEAD").read_text("utf-8").strip()
    except OSError:
        return None
    if _is_sha(text):
        return text
    if not text.startswith("ref: "):
        return None
    ref = text[5:].strip()
    common = git_dir
    try:
        common = (git_dir / (git_dir / "commondir").read_text("utf-8").strip()).resolve()
    except OSError:
        pass
    for base in (git_dir, common):
        try:
            value = (base / ref).read_text("utf-8").strip()
        except OSError:
            continue
        return value if _is_sha(value) else None
    return _packed_ref(common / "packed-refs", ref)


def _packed_ref(path: Path, ref: str) -> str | None:
    try:
        with path.open("r", encoding="utf-8") as fh:
            for line in fh:
                sha, _, name = line.rstrip("\n").partition(" ")
                if name == ref and _is_sha(sha):
                    return sha
    except OSError:
        return None
    return None
