"""`cargo test` as a test runner: the command, and its libtest output read into `Outcome`s.

Stable libtest prints no machine-readable report, so the human output is read: one
`test <name> ... ok|FAILED|ignored` line per test, and per failure a `---- <name> stdout ----`
section with the panic (`panicked at <file>:<line>:<col>:` and its message) and, with
`RUST_BACKTRACE=1`, a backtrace whose `at <file>:<line>` frames give the failing line in the
test and the deepest frame inside the workspace. A test's node id is its libtest name
(`tests::mean_of_three`); one test re-runs with `cargo test -- --exact <name>`.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Sequence
from pathlib import Path

from .reports import Frame, Outcome, relative

__all__ = ["cargo_command", "cargo_env", "is_cargo_project", "parse_cargo"]

RESULT = re.compile(r"^test (?P<name>\S+) \.\.\. (?P<status>ok|FAILED|ignored)\b", re.M)
SECTION = re.compile(r"^---- (?P<name>\S+) stdout ----$", re.M)
PANIC = re.compile(
    r"panicked at (?P<path>[^\n:]+):(?P<line>\d+):\d+:?\n"
    r"(?P<msg>(?:(?!stack backtrace:|note: ).*\n?)*)"
)
SYMBOL = re.compile(r"^\s*\d+: (?P<symbol>\S.*)$")
AT = re.compile(r"^\s+at (?P<path>.+?):(?P<line>\d+)(?::\d+)?$")
STATUS = {"ok": "passed", "FAILED": "failed", "ignored": "skipped"}


def is_cargo_project(root: Path) -> bool:
    """A `Cargo.toml` at the workspace root."""
    return (root / "Cargo.toml").is_file()


def _cargo() -> str:
    return shutil.which("cargo") or str(Path.home() / ".cargo" / "bin" / "cargo")


def cargo_command(targets: Sequence[str] = ()) -> list[str]:
    """`cargo test` for every test, or for the named ones exactly."""
    argv = [_cargo(), "test", "--no-fail-fast"]
    return [*argv, "--", "--exact", *targets] if targets else argv


def cargo_env(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The test process's environment: backtraces on, no colours."""
    env = dict(os.environ if environ is None else environ)
    env.update(RUST_BACKTRACE="1", CARGO_TERM_COLOR="never")
    return env


def _sections(output: str) -> dict[str, str]:
    heads = list(SECTION.finditer(output))
    out = {}
    for i, head in enumerate(heads):
        end = heads[i + 1].start() if i + 1 < len(heads) else len(output)
        body = output[head.end() : end]
        out[head.group("name")] = body.split("\nfailures:\n", 1)[0].strip("\n")
    return out


def _frames(section: str, base: Path, name: str) -> tuple[list[Frame], Frame | None]:
    """(frames outermost first, the test function's frame) of one failure's output."""
    frames: list[Frame] = []
    symbol, test_frame = "", None
    for line in section.splitlines():
        sym = SYMBOL.match(line)
        if sym:
            symbol = sym.group("symbol")
            continue
        at = AT.match(line)
        if at:
            path, inside = relative(at.group("path"), base)
            frames.append(Frame(path, int(at.group("line")) - 1, inside))
            if test_frame is None and symbol.endswith("::" + name.split("::")[-1]) and inside:
                test_frame = frames[-1]
    frames.reverse()  # a backtrace lists the innermost frame first
    panic = PANIC.search(section)
    if panic:
        path, inside = relative(panic.group("path"), base)
        frames.append(Frame(path, int(panic.group("line")) - 1, inside))
    return frames, test_frame


def parse_cargo(output: str, base: Path) -> list[Outcome]:
    """The tests of a `cargo test` run (`base`: the crate root the paths are relative to)."""
    sections = _sections(output)
    outcomes = []
    for m in RESULT.finditer(output):
        name, status = m.group("name"), STATUS[m.group("status")]
        if status != "failed":
            outcomes.append(Outcome(name, None, name, status, "", ""))
            continue
        section = sections.get(name, "")
        frames, test_frame = _frames(section, base, name)
        panic = PANIC.search(section)
        message = " ".join(panic.group("msg").split()) if panic else "failed"
        test_file = test_frame.path if test_frame else None
        if test_file is None and panic:
            test_file = relative(panic.group("path"), base)[0]
        line = test_frame.line if test_frame else None
        outcomes.append(
            Outcome(name, test_file, name, status, message, section, tuple(frames), line)
        )
    return outcomes
