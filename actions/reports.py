"""Test reports → located failures: JUnit XML, traceback frames, the failing line.

`parse_junit` reads the testcases of a JUnit XML report into `Outcome`s; `failure_of` locates a
failed one: its line in the test file (the traceback's last frame there, else the test's
definition) and the deepest traceback frame inside the workspace (outside virtualenvs and
dependency folders) when that is elsewhere.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from .regions import function_named

__all__ = [
    "Failure",
    "Frame",
    "NotJUnit",
    "Outcome",
    "failure_of",
    "node_id_of",
    "parse_frames",
    "parse_junit",
    "relative",
]

OUTSIDE_DIRS = {".venv", "venv", "site-packages", "node_modules", ".tox", ".git"}
FRAME = re.compile(r"^(?![E>] )(?P<path>\S[^\n]*?):(?P<line>\d+):(?: (?P<msg>.*))?$", re.M)


class NotJUnit(ValueError):
    """The test command's report is not JUnit XML."""


@dataclass(frozen=True)
class Frame:
    """A traceback entry: workspace-relative POSIX path (absolute when outside), 0-based line."""

    path: str
    line: int
    inside: bool


@dataclass(frozen=True)
class Outcome:
    """One JUnit testcase: status is passed, failed, error or skipped."""

    node_id: str
    test_path: str | None
    name: str
    status: str
    message: str
    traceback: str
    frames: tuple[Frame, ...] | None = None  # outermost first; None: read from `traceback`
    test_line: int | None = None  # the failing line in the test, when the runner says


@dataclass(frozen=True)
class Failure:
    """A failing test, located: its line in the test file and the deepest workspace frame."""

    node_id: str
    test_path: str
    test_line: int
    message: str
    traceback: str
    deepest: Frame | None


def parse_junit(xml: str, base: Path) -> list[Outcome]:
    """The testcases of a JUnit XML report; `NotJUnit` when it is something else."""
    try:
        doc = ET.fromstring(xml)
    except ET.ParseError as exc:
        raise NotJUnit(f"the test report is not JUnit XML ({exc})") from exc
    if doc.tag not in ("testsuites", "testsuite"):
        raise NotJUnit(f"the test report is not JUnit XML (root element <{doc.tag}>)")
    return [_outcome(case, base) for case in doc.iter("testcase")]


def _outcome(case: ET.Element, base: Path) -> Outcome:
    name = case.get("name", "")
    node_id, test_path = node_id_of(case.get("classname", ""), name, base)
    for status in ("failure", "error", "skipped"):
        child = case.find(status)
        if child is not None:
            kind = {"failure": "failed", "error": "error"}.get(status, "skipped")
            return Outcome(
                node_id, test_path, name, kind, child.get("message", ""), (child.text or "").strip()
            )
    return Outcome(node_id, test_path, name, "passed", "", "")


def node_id_of(classname: str, name: str, base: Path) -> tuple[str, str | None]:
    """pytest node id and test file from a JUnit classname (`pkg.test_mod.TestX`) and name."""
    parts = [p for p in classname.split(".") if p]
    for i in range(len(parts), 0, -1):
        rel = "/".join(parts[:i]) + ".py"
        if (base / rel).is_file():
            return "::".join([rel, *parts[i:], name]), rel
    return "::".join([*parts, name]), None


def relative(path: str, base: Path) -> tuple[str, bool]:
    p = Path(path)
    full = (p if p.is_absolute() else base / p).resolve()
    try:
        rel = full.relative_to(base.resolve())
    except ValueError:
        return full.as_posix(), False
    return rel.as_posix(), not (set(rel.parts) & OUTSIDE_DIRS)


def parse_frames(traceback: str, base: Path) -> list[Frame]:
    """The `path:line:` entries of a pytest traceback, outermost first."""
    frames = []
    for m in FRAME.finditer(traceback):
        path, inside = relative(m.group("path"), base)
        frames.append(Frame(path, int(m.group("line")) - 1, inside))
    return frames


def _def_line(base: Path, test_path: str, name: str) -> int:
    try:
        text = (base / test_path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return 0
    region = function_named(text, name.split("[")[0])
    return region.start_line if region else 0


def failure_of(outcome: Outcome, base: Path) -> Failure | None:
    """Locate a failed/errored outcome; None for passed/skipped or an unlocatable one."""
    if outcome.status not in ("failed", "error"):
        return None
    given = outcome.frames
    frames = list(given) if given is not None else parse_frames(outcome.traceback, base)
    test_path = outcome.test_path or next(
        (f.path for f in frames if f.inside and Path(f.path).name.startswith("test")), None
    )
    if test_path is None:
        return None
    in_test = [f for f in frames if f.path == test_path]
    test_line = outcome.test_line
    if test_line is None:
        test_line = in_test[-1].line if in_test else _def_line(base, test_path, outcome.name)
    inside = [f for f in frames if f.inside]
    deepest = inside[-1] if inside else None
    if deepest is not None and (deepest.path, deepest.line) == (test_path, test_line):
        deepest = None
    message = outcome.message or next(
        (ln[1:].strip() for ln in outcome.traceback.splitlines() if ln.startswith("E ")), "failed"
    )
    return Failure(outcome.node_id, test_path, test_line, message, outcome.traceback, deepest)

