"""Failing tests as LSP diagnostics: one on the failing line of the test file, one on the deepest
workspace frame when that is elsewhere, cross-linked; each carries the message and traceback."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from lsprotocol import types
from pygls.uris import from_fs_path

from actions.reports import Failure

from .. import convert

__all__ = ["SOURCE", "diagnostics_for"]

SOURCE = "codeflow-tests"
TRACEBACK_LINES = 60


def _tail(traceback: str) -> str:
    lines = traceback.splitlines()
    return "\n".join(lines[-TRACEBACK_LINES:])


def _line_range(text: str, line: int) -> types.Range:
    lines = convert.split_lines(text)
    line = min(max(line, 0), len(lines) - 1)
    body = lines[line].rstrip("\r\n")
    start = len(body) - len(body.lstrip())
    return types.Range(
        convert.to_position(lines, line, start), convert.to_position(lines, line, len(body))
    )


def diagnostics_for(
    failures: Sequence[Failure], root: Path, read: Callable[[str], str]
) -> dict[str, list[types.Diagnostic]]:
    """Diagnostics per document URI for `failures` (`read(path)` gives a file's current text)."""
    out: dict[str, list[types.Diagnostic]] = {}

    def uri(path: str) -> str:
        return from_fs_path(str(root / path)) or (root / path).as_uri()

    for f in failures:
        test_loc = types.Location(uri(f.test_path), _line_range(read(f.test_path), f.test_line))
        body = f"{f.message}\n\n{_tail(f.traceback)}"
        related = []
        if f.deepest is not None:
            deep_loc = types.Location(
                uri(f.deepest.path), _line_range(read(f.deepest.path), f.deepest.line)
            )
            related = [
                types.DiagnosticRelatedInformation(deep_loc, "deepest frame in the workspace")
            ]
            back = [types.DiagnosticRelatedInformation(test_loc, f"failing test {f.node_id}")]
            out.setdefault(deep_loc.uri, []).append(
                _diagnostic(deep_loc.range, f"{f.node_id} failed here: {body}", f.node_id, back)
            )
        out.setdefault(test_loc.uri, []).append(
            _diagnostic(test_loc.range, f"{f.node_id} failed: {body}", f.node_id, related)
        )
    return out


def _diagnostic(
    rng: types.Range, message: str, node_id: str, related: list[types.DiagnosticRelatedInformation]
) -> types.Diagnostic:
    return types.Diagnostic(
        range=rng,
        message=message,
        severity=types.DiagnosticSeverity.Error,
        source=SOURCE,
        code=node_id,
        related_information=related or None,
        data={"nodeId": node_id},
    )

