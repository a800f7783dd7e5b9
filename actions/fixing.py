"""Fix candidates for a failing test: the code under test, the prompt, and the patches.

1. `find_target`: the function around the deepest workspace frame outside the test file, else
   the function the failing line calls (through the test file's imports), else the test itself;
2. `fix_messages`: failure + traceback, the test, that function, and its code flow;
3. `patch`: an answer's code block spliced into the function (it must define the same name and,
   for Python, parse). `FixResult.offered` ranks the applicable, distinct candidates.
Verification in a scratch copy is `actions.scratch`'s; the model call is the caller's.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .diffs import code_block, replace_region
from .lines import lsp_lines
from .locate import called_names, function_region, workspace_definition
from .outline import defines, language_of
from .regions import Region, enclosing_function, function_named, region_text
from .reports import Failure

__all__ = [
    "SAMPLE_TEMPERATURE",
    "SYSTEM",
    "UNVERIFIED",
    "VERIFIED",
    "Candidate",
    "FixResult",
    "Target",
    "find_target",
    "fix_messages",
    "patch",
    "failing_test_source",
]

SAMPLE_TEMPERATURE = 0.8
SYSTEM = (
    "You are codeflow, a careful software engineer inside the user's editor. When asked for "
    "code, reply with exactly one fenced code block holding the complete rewritten code."
)
VERIFIED = "verified: test passes"
UNVERIFIED = "unverified: test still fails"


@dataclass(frozen=True)
class Target:
    """The code a rewrite replaces: a region of `path` (workspace-relative) whose text is `text`."""

    path: str
    region: Region
    text: str


@dataclass(frozen=True)
class Candidate:
    """One generated patch: `new_text` is the whole patched file (None: it did not apply)."""

    index: int
    temperature: float
    seed: int
    new_text: str | None
    verified: bool
    note: str
    seconds: float


@dataclass(frozen=True)
class FixResult:
    """All candidates for one failing test, against `text` (the target file as it was)."""

    node_id: str
    target: Target
    candidates: tuple[Candidate, ...]

    def offered(self) -> list[Candidate]:
        """Applicable, distinct candidates: verified ones first, in generation order."""
        seen: set[str] = set()
        out = []
        for c in sorted(self.candidates, key=lambda c: (not c.verified, c.index)):
            if c.new_text is not None and c.new_text not in seen:
                seen.add(c.new_text)
                out.append(c)
        return out


def _called_names(text: str, line: int) -> list[str]:
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return []
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.lineno - 1 <= line <= node.end_lineno - 1:
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if name:
                names.append((node.col_offset, name))
    return [n for _, n in sorted(names)]


def _imported_from(text: str, name: str) -> list[str]:
    """Module names the test file imports `name` from (`from calc import mean` → calc)."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return []
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            if any((a.asname or a.name) == name for a in node.names):
                out.append(node.module)
        elif isinstance(node, ast.Import):
            out.extend(a.name for a in node.names)
    return out


def _module_files(root: Path, test_path: str, module: str) -> list[str]:
    rel = module.replace(".", "/")
    bases = [Path(""), Path(test_path).parent]
    found = []
    for base in bases:
        for cand in (base / f"{rel}.py", base / rel / "__init__.py"):
            if (root / cand).is_file():
                found.append(cand.as_posix())
    return found


def find_target(root: Path, failure: Failure, read: Callable[[str], str]) -> Target:
    """The function to rewrite for `failure` (the test function itself when nothing else fits)."""
    python = language_of(failure.test_path) in (None, "python")
    deep = failure.deepest
    if deep is not None and deep.inside and deep.path != failure.test_path:
        text = read(deep.path)
        region = _function_around(deep.path, text, deep.line)
        if region is not None:
            return Target(deep.path, region, text)
    test_text = read(failure.test_path)
    test_region = _function_around(failure.test_path, test_text, failure.test_line)
    found = (
        _python_callee(root, failure, test_text, read)
        if python
        else _callee(root, failure, test_text, read, test_region)
    )
    if found is not None:
        return found
    if test_region is None:
        lines = lsp_lines(test_text)
        test_region = Region(0, max(len(lines) - 1, 0), "", "")
    return Target(failure.test_path, test_region, test_text)


def _function_around(path: str, text: str, line: int) -> Region | None:
    if language_of(path) in (None, "python"):
        return enclosing_function(text, line)
    return function_region(path, text, line)


def _python_callee(
    root: Path, failure: Failure, test_text: str, read: Callable[[str], str]
) -> Target | None:
    for name in _called_names(test_text, failure.test_line):
        for module in _imported_from(test_text, name):
            for path in _module_files(root, failure.test_path, module):
                text = read(path)
                region = function_named(text, name)
                if region is not None:
                    return Target(path, region, text)
    return None


def _callee(
    root: Path, failure: Failure, test_text: str, read: Callable[[str], str], test: Region | None
) -> Target | None:
    first = test.start_line if test is not None else failure.test_line
    for line in range(failure.test_line, first - 1, -1):  # the failing line, then the ones above
        for name in called_names(test_text, line):
            found = workspace_definition(root, failure.test_path, name, read, test)
            if found is not None:
                return Target(*found)
    return None


def fix_messages(failure: Failure, test_source: str, target: Target, flow: str) -> list[dict]:
    """The chat messages asking for a fixed version of the target function."""
    r = target.region
    tb = "\n".join(failure.traceback.splitlines()[-40:])
    fence = language_of(target.path) or "python"
    user = (
        f"The test `{failure.node_id}` fails:\n```\n{failure.message}\n\n{tb}\n```\n\n"
        f"The test (`{failure.test_path}`):\n```{fence}\n{test_source.rstrip()}\n```\n\n"
        f"The code under test (`{target.path}`, lines {r.start_line + 1}-{r.end_line + 1}):\n"
        f"```{fence}\n{region_text(target.text, r).rstrip()}\n```\n\n"
        "How this code changed recently (most likely what broke it):\n"
        f"```diff\n{flow.rstrip() or 'no recorded changes'}\n```\n\n"
        f"Fix `{r.name or target.path}` so that the test passes; keep its name and signature. "
        f"Reply with the whole fixed function in one ```{fence} code block."
    )
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def _bare_definition(answer: str, name: str) -> str | None:
    """Unfenced code that starts with `def name` (small models often skip the fence)."""
    match = re.search(rf"^[ \t]*(?:async[ \t]+)?def[ \t]+{re.escape(name)}\b", answer, re.M)
    if not name or match is None:
        return None
    return answer[match.start() :]


def patch(target: Target, answer: str) -> tuple[str | None, str]:
    """(patched file text, '') or (None, why the answer does not apply)."""
    code = code_block(answer) or _bare_definition(answer, target.region.name)
    if code is None:
        return None, "patch does not apply: the answer has no code block"
    if target.region.name and not defines(code, target.path, target.region.name):
        return None, f"patch does not apply: the answer does not define `{target.region.name}`"
    new_text = replace_region(target.text, target.region, code)
    if target.path.endswith(".py"):
        try:
            ast.parse(new_text)
        except SyntaxError as exc:
            return None, f"patch does not apply: syntax error at line {exc.lineno}"
    if new_text == target.text:
        return None, "patch does not apply: it changes nothing"
    return new_text, ""



def failing_test_source(test_text: str, line: int, path: str = "test.py") -> str:
    """The failing test's function, else the whole test file."""
    region = _function_around(path, test_text, line)
    return region_text(test_text, region) if region else test_text
