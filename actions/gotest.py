"""`go test -json` as a test runner: the command, and its event stream read into `Outcome`s.

Each test's `output` events hold `    <file>:<line>: <message>` lines (`t.Errorf`, `t.Fatalf`,
paths relative to the package's directory) and, for a panic, a goroutine trace whose
`\t<path>:<line> +0x..` frames give the deepest frame inside the workspace. A test's node id is
`<package dir>::<TestName>` (`.::TestMean`); one test re-runs with
`go test -json -run '^TestMean$' ./<package dir>`.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Sequence
from pathlib import Path

from .reports import Frame, Outcome, relative

__all__ = ["go_command", "is_go_project", "parse_go"]

LOCATION = re.compile(r"^\s+(?P<file>[\w./-]+\.go):(?P<line>\d+): (?P<msg>.*)$")
TRACE = re.compile(r"^\t(?P<path>/\S+\.go):(?P<line>\d+)(?: \+0x[0-9a-f]+)?$")
CALL = re.compile(r"^(?P<func>\S+)\(.*\)$")
STATUS = {"pass": "passed", "fail": "failed", "skip": "skipped"}


def is_go_project(root: Path) -> bool:
    """A `go.mod` at the workspace root."""
    return (root / "go.mod").is_file()


def _go() -> str:
    return shutil.which("go") or "go"


def go_command(targets: Sequence[str] = ()) -> list[str]:
    """`go test -json` for every package, or for one test (`<dir>::<TestName>`)."""
    if not targets:
        return [_go(), "test", "-json", "./..."]
    directory, _, name = targets[0].partition("::")
    pattern = "/".join(f"^{re.escape(part)}$" for part in name.split("/"))
    return [_go(), "test", "-json", "-run", pattern, f"./{directory}"]


def _module(root: Path) -> str:
    try:
        text = (root / "go.mod").read_text(encoding="utf-8")
    except OSError:
        return ""
    match = re.search(r"^module\s+(\S+)", text, re.M)
    return match.group(1) if match else ""


def _directory(module: str, package: str) -> str:
    if package == module or not package.startswith(module + "/"):
        return "."
    return package[len(module) + 1 :]


def _test_file(base: Path, directory: str, name: str) -> str | None:
    top = name.split("/")[0]
    for path in sorted((base / directory).glob("*_test.go")):
        if f"func {top}(" in path.read_text(encoding="utf-8", errors="replace"):
            return path.relative_to(base).as_posix()
    return None


def _locate(base: Path, directory: str, name: str, output: str) -> Outcome:
    """A failed test: its message, file, failing line and (for a panic) its frames."""
    test_file = _test_file(base, directory, name)
    frames: list[Frame] = []
    line, messages, func = None, [], ""
    for text in output.splitlines():
        loc = LOCATION.match(text)
        if loc:
            path = (Path(directory) / loc.group("file")).as_posix()
            test_file = test_file or path
            if path == test_file and line is None:
                line = int(loc.group("line")) - 1
            messages.append(loc.group("msg"))
            continue
        call = CALL.match(text)
        if call:
            func = call.group("func")
            continue
        at = TRACE.match(text)
        if at:
            path, inside = relative(at.group("path"), base)
            frames.append(Frame(path, int(at.group("line")) - 1, inside))
            if path == test_file and line is None and func.endswith("." + name.split("/")[0]):
                line = frames[-1].line
        elif text.startswith("panic: "):
            messages.append(text)
    frames.reverse()  # a goroutine trace lists the innermost call first
    message = "; ".join(messages) or "failed"
    node = f"{directory}::{name}"
    return Outcome(node, test_file, name, "failed", message, output, tuple(frames), line)


def parse_go(output: str, base: Path) -> list[Outcome]:
    """The tests of a `go test -json` run (`base`: the module root)."""
    module = _module(base)
    outputs: dict[tuple[str, str], list[str]] = {}
    outcomes = []
    for raw in output.splitlines():
        try:
            event = json.loads(raw)
        except ValueError:
            continue
        if not isinstance(event, dict) or not event.get("Test"):
            continue
        key = (str(event.get("Package", "")), str(event["Test"]))
        action = event.get("Action")
        if action == "output":
            outputs.setdefault(key, []).append(str(event.get("Output", "")))
        elif action in STATUS:
            directory = _directory(module, key[0])
            if action == "fail":
                text = "".join(outputs.get(key, []))
                outcomes.append(_locate(base, directory, key[1], text))
            else:
                node = f"{directory}::{key[1]}"
                outcomes.append(Outcome(node, None, key[1], STATUS[action], "", ""))
    return outcomes
