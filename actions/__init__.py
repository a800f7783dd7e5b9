"""What the assistant does to a workspace: run its tests, locate failures, compute edits, and
verify fix candidates in a scratch copy.

Beside `context` (what the model reads) and `inference` (the model): `actions` imports
`context` at most, never `inference`, `lsp_server`, `lsprotocol` or `pygls`
(tests/unit/actions/test_room.py checks). Lines are LSP lines (`actions.lines`), columns
code points, paths workspace-relative POSIX strings.

- `lines`: the LSP line model; `regions`: the definition around a line; `diffs`: minimal
  `TextChange`s and code-block splicing;
- `interpreter`: the workspace's Python; `runner`: the test command and its run;
  `reports`: JUnit XML and tracebacks → located `Failure`s;
- `fixing`: the code under test, the fix prompt, candidate patches; `scratch`: verification.
"""

from __future__ import annotations

from .diffs import TextChange, apply_changes, code_block, minimal_edits, replace_region
from .fixing import Candidate, FixResult, Target, find_target, fix_messages, patch
from .interpreter import Interpreter, NoInterpreter
from .regions import Region, enclosing_function, function_named
from .reports import Failure, Frame, NotJUnit, Outcome, failure_of, parse_junit
from .runner import CommandError, RunResult, build_command, run_tests
from .scratch import scratch_copy, verify

__all__ = [
    "Candidate",
    "CommandError",
    "Failure",
    "FixResult",
    "Frame",
    "Interpreter",
    "NoInterpreter",
    "NotJUnit",
    "Outcome",
    "Region",
    "RunResult",
    "Target",
    "TextChange",
    "apply_changes",
    "build_command",
    "code_block",
    "enclosing_function",
    "failure_of",
    "find_target",
    "fix_messages",
    "function_named",
    "minimal_edits",
    "parse_junit",
    "patch",
    "replace_region",
    "run_tests",
    "scratch_copy",
    "verify",
]
