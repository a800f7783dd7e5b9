"""Jest as a test runner (a `package.json` that depends on it or configures it, or a
`jest.config.*`): `jest --json` (its own report, no extra package), read into `Outcome`s.

A test's node id is `<test file>::<full name>` (`calc.test.js::calc > means`); one test re-runs
with `jest --runTestsByPath <file> -t '^calc means$'`. A failure message is the error text,
then its stack innermost first: `at <fn> (<absolute path>:<line>:<col>)` frames.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .reports import Frame, NotJUnit, Outcome, relative

__all__ = ["is_jest_project", "jest_command", "parse_jest"]

CONFIGS = ("jest.config.js", "jest.config.cjs", "jest.config.mjs", "jest.config.ts")
CONFIGS_MORE = ("jest.config.cts", "jest.config.mts", "jest.config.json")
FRAME = re.compile(r"^\s*at (?:[^\n]*? \()?(?P<path>[^\s()]+?):(?P<line>\d+):\d+\)?\s*$", re.M)
STACK = re.compile(r"^\s*at |^\s*(?:> )?\d+ \|", re.M)  # the stack, or a code frame
ANSI = re.compile(r"\x1b\[[0-9;]*m")
STATUS = {"passed": "passed", "failed": "failed", "pending": "skipped", "skipped": "skipped",
          "todo": "skipped", "disabled": "skipped", "focused": "passed"}


def _package(root: Path) -> dict[str, Any]:
    try:
        package = json.loads((root / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return package if isinstance(package, dict) else {}


def is_jest_project(root: Path) -> bool:
    """A `package.json` depending on jest (or with a `jest` key) or a `jest.config.*`, with
    jest installed."""
    if not (root / "node_modules" / ".bin" / "jest").exists():
        return False
    package = _package(root)
    deps = {**package.get("dependencies", {}), **package.get("devDependencies", {})}
    if "jest" in deps or "jest" in package:
        return True
    return any((root / name).is_file() for name in CONFIGS + CONFIGS_MORE)


def jest_command(
    root: Path, report: Path, cache: Path, targets: Sequence[str] = ()
) -> list[str]:
    """`jest --json` with the report at `report` and its cache under `cache` (nothing written
    into the workspace or `node_modules`), for every test or one node id."""
    argv = [str(root / "node_modules" / ".bin" / "jest"), "--json", f"--outputFile={report}"]
    argv += ["--ci", f"--cacheDirectory={cache}"]
    if targets:
        path, _, name = targets[0].partition("::")
        pattern = "^" + re.escape(name.replace(" > ", " ")) + "$"
        argv += ["--runTestsByPath", path, "-t", pattern]
    return argv


def _frames(text: str, base: Path) -> list[Frame]:
    frames = []
    for m in FRAME.finditer(text):
        path, inside = relative(m.group("path"), base)
        frames.append(Frame(path, int(m.group("line")) - 1, inside))
    frames.reverse()  # the stack lists the innermost frame first
    return frames


def _message(text: str) -> str:
    head = STACK.split(text, maxsplit=1)[0]
    lines = [ln.strip() for ln in head.splitlines() if ln.strip() and "●" not in ln]
    if lines and lines[0].startswith("Error: "):
        lines[0] = lines[0][len("Error: "):]
    return "\n".join(lines) or "failed"


def _failed(
    node: str, test_path: str | None, name: str, status: str, text: str, base: Path
) -> Outcome:
    frames = _frames(text, base)
    in_test = [f for f in frames if f.path == test_path]
    line = in_test[-1].line if in_test else None
    return Outcome(node, test_path, name, status, _message(text), text, tuple(frames), line)


def _suite(suite: dict[str, Any], base: Path) -> list[Outcome]:
    path, _ = relative(str(suite.get("name", "")), base)
    test_path = path if (base / path).is_file() else None
    cases = suite.get("assertionResults") or []
    if not cases and suite.get("status") == "failed":  # the file itself failed (syntax, import)
        text = ANSI.sub("", str(suite.get("message", ""))).strip()
        return [_failed(path, test_path, path, "error", text, base)]
    outcomes = []
    for case in cases:
        titles = [*case.get("ancestorTitles", []), case.get("title", "")]
        name = " > ".join(str(t) for t in titles)
        node = f"{path}::{name}"
        status = STATUS.get(str(case.get("status", "")), "error")
        if status in ("failed", "error"):
            text = ANSI.sub("", "\n".join(case.get("failureMessages") or [])).strip()
            outcomes.append(_failed(node, test_path, name, status, text, base))
        else:
            outcomes.append(Outcome(node, test_path, name, status, "", ""))
    return outcomes


def parse_jest(report: str, base: Path) -> list[Outcome]:
    """The tests of Jest's `--json` report; `NotJUnit` when it is something else."""
    try:
        doc = json.loads(report)
    except ValueError as exc:
        raise NotJUnit(f"the test report is not Jest JSON ({exc})") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("testResults"), list):
        raise NotJUnit("the test report is not Jest JSON (no testResults)")
    return [o for suite in doc["testResults"] for o in _suite(suite, base)]
