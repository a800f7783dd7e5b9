"""Vitest as a test runner (a `package.json` that depends on it): `vitest run` with its JUnit
reporter, read into `Outcome`s.

A test's node id is `<test file>::<full name>` (`calc.test.js::calc > means`); one test re-runs
with `vitest run <file> -t '^calc means$'`. Its failure text lists the stack innermost first:
`❯ <file>:<line>:<col>` (relative) and `at ... (<path>:<line>:<col>)` frames.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from .reports import Frame, NotJUnit, Outcome, relative

__all__ = ["is_vitest_project", "parse_vitest", "vitest_command"]

FRAME = re.compile(
    r"(?:❯|\bat)[ \t]+(?:[^\s(]+[ \t]+\(?)?(?P<path>[^\s():]+):(?P<line>\d+):\d+"
)


def is_vitest_project(root: Path) -> bool:
    """A `package.json` that depends on vitest, with vitest installed."""
    try:
        package = json.loads((root / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    deps = {**package.get("dependencies", {}), **package.get("devDependencies", {})}
    return "vitest" in deps and (root / "node_modules" / ".bin" / "vitest").exists()


def vitest_command(root: Path, report: Path, targets: Sequence[str] = ()) -> list[str]:
    """`vitest run` with the JUnit report at `report`, for every test or one node id."""
    argv = [str(root / "node_modules" / ".bin" / "vitest"), "run", "--reporter=junit"]
    argv += [f"--outputFile={report}", "--no-color", "--no-cache"]  # nothing into node_modules
    if targets:
        path, _, name = targets[0].partition("::")
        argv += [path, "-t", "^" + re.escape(name.replace(" > ", " ")) + "$"]
    return argv


def _frames(text: str, base: Path) -> list[Frame]:
    frames = []
    for m in FRAME.finditer(text):
        path, inside = relative(m.group("path"), base)
        frames.append(Frame(path, int(m.group("line")) - 1, inside))
    frames.reverse()  # the stack lists the innermost frame first
    return frames


def _outcome(case: ET.Element, base: Path) -> Outcome:
    path, name = case.get("classname", ""), case.get("name", "")
    node = f"{path}::{name}"
    test_path = path if (base / path).is_file() else None
    for tag, status in (("failure", "failed"), ("error", "error"), ("skipped", "skipped")):
        child = case.find(tag)
        if child is None:
            continue
        text = (child.text or "").strip()
        if status == "skipped":
            return Outcome(node, test_path, name, status, "", "")
        frames = _frames(text, base)
        in_test = [f for f in frames if f.path == test_path]
        line = in_test[-1].line if in_test else None
        message = child.get("message", "") or "failed"
        return Outcome(node, test_path, name, status, message, text, tuple(frames), line)
    return Outcome(node, test_path, name, "passed", "", "")


def parse_vitest(xml: str, base: Path) -> list[Outcome]:
    """The testcases of Vitest's JUnit report; `NotJUnit` when it is something else."""
    try:
        doc = ET.fromstring(xml)
    except ET.ParseError as exc:
        raise NotJUnit(f"the test report is not JUnit XML ({exc})") from exc
    return [_outcome(case, base) for case in doc.iter("testcase")]
