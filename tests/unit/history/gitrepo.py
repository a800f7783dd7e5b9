"""A real git repository in a temp dir with deterministic commits, for the history tests."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

T0 = 1_700_000_000  # 2023-11-14T22:13:20Z, the first commit's time in every test repo
DAY = 86400


class Repo:
    """A real git repository in a temp dir, with deterministic commits."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.clock = T0
        root.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")
        self.git("config", "commit.gpgsign", "false")

    def git(
        self, *args: str, env: dict[str, str] | None = None, input_text: str | None = None
    ) -> str:
        full_env = dict(os.environ)
        full_env.update(env or {})
        proc = subprocess.run(
            ["git", "-C", str(self.root), *args],
            capture_output=True,
            text=True,
            input=input_text,
            env=full_env,
            check=True,
        )
        return proc.stdout

    def write(self, path: str, text: str | bytes) -> None:
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            target.write_bytes(text)
        else:
            target.write_text(text, encoding="utf-8")

    def lines(self, path: str, count: int, fmt: str = "line {}") -> None:
        self.write(path, "".join(fmt.format(i) + "\n" for i in range(1, count + 1)))

    def replace(self, path: str, old: str, new: str) -> None:
        text = (self.root / path).read_text(encoding="utf-8")
        assert old in text, (path, old)
        self.write(path, text.replace(old, new, 1))

    def commit(self, message: str, days: float = 1.0) -> str:
        """Stage everything and commit ``days`` after the previous commit; returns the id."""
        self.clock += int(days * DAY)
        stamp = f"@{self.clock} +0000"
        self.git("add", "-A")
        self.git(
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            message,
            env={"GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp},
        )
        return self.git("rev-parse", "HEAD").strip()
