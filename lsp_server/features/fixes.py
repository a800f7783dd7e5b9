"""Model rewrites, and "Fix failing test": candidate patches verified by re-running the test.

`ask` is the one model call of the code actions: a chat prompt (the assembler's, or plain ChatML
when no assembler is available) answered on the inference worker (priority FIX).

`fix_failing_test` turns a `Failure` (from `tests`) into ranked candidates:
1. find the code under test: the function around the deepest workspace frame outside the test
   file, else the function the failing line calls (through the test file's imports);
2. prompt = failure + traceback, the test, that function, and its code flow (recent commits and
   uncommitted hunks touching it: what most likely broke it);
3. up to `tests.fixCandidates` answers (the first greedy, then sampled with other seeds), each
   spliced into the function;
4. each patch is written into a scratch copy of the workspace (a temp dir without .git, .venv,
   node_modules) and only the failing test (its pytest node id) is re-run there, with the
   workspace's own Python (`tests.scratch_python`, resolved once per fix); generation stops
   at the first patch that makes it pass. The user's files are never written.
"""

from __future__ import annotations

import ast
import hashlib
import logging
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from inference.cancel import CancelToken

from .. import convert
from ..workers import Priority
from . import edits
from .edits import Region
from .interpreter import Interpreter
from .tests import CommandError, Failure, Progress, run_tests, say_runs_with, scratch_python

if TYPE_CHECKING:
    from ..server import CodeflowServer

log = logging.getLogger(__name__)
SCRATCH_IGNORE = (".git", ".venv", "venv", "node_modules", "__pycache__", ".pytest_cache", ".tox")
FLOW_CHARS = 4000
SAMPLE_TEMPERATURE = 0.8
SYSTEM = (
    "You are codeflow, a careful software engineer inside the user's editor. When asked for "
    "code, reply with exactly one fenced code block holding the complete rewritten code."
)
VERIFIED = "verified: test passes"
UNVERIFIED = "unverified: test still fails"


class ModelUnavailable(RuntimeError):
    """No model backend is loaded; the message says why."""


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


# ---- model calls ------------------------------------------------------------------------------
def _chatml_ids(backend: Any, messages: Sequence[dict[str, str]]) -> list[int]:
    specials = getattr(backend.spec, "special_tokens", {}) or {}
    start, end = specials.get("im_start") or "", specials.get("im_end") or ""
    text = "".join(f"{start}{m['role']}\n{m['content']}{end}\n" for m in messages)
    return list(backend.tokenizer.encode(text + f"{start}assistant\n").ids)


def model_prompt(
    ls: CodeflowServer,
    backend: Any,
    messages: Sequence[dict[str, str]],
    anchor: tuple[str, str, int],
    token: CancelToken,
) -> list[int]:
    """Prompt ids: the assembler's chat prompt around `anchor` (path, text, line), else ChatML."""
    from .generation import answer_tokens, chat_prompt, fit_budget

    assembler = ls.services.assembler()
    if assembler is not None:
        path, text, line = anchor
        budget = fit_budget(backend, ls.config.chat.budget_tokens,
                            answer_tokens(ls.config, ls.services.chat_spec))
        try:
            return list(chat_prompt(assembler, messages, path, text, line, budget, token).ids)
        except (ValueError, OSError, RuntimeError, LookupError) as exc:
            token.check()
            log.warning("chat prompt assembly failed (%s); using a plain prompt", exc)
    return _chatml_ids(backend, messages)


def ask(
    ls: CodeflowServer,
    messages: Sequence[dict[str, str]],
    anchor: tuple[str, str, int],
    token: CancelToken,
    temperature: float = 0.0,
    seed: int = 0,
) -> str:
    """One answer from the model (runs on the inference worker thread). A reasoning model's
    reasoning is dropped (its allowance added to the tokens): only the answer is returned."""
    from .generation import answer_tokens, special_tokens, stream_answer

    backend = ls.services.load_backend()
    if backend is None:
        raise ModelUnavailable(ls.services.backend_error or "codeflow: no model is loaded")
    ids = model_prompt(ls, backend, messages, anchor, token)
    spec = ls.services.chat_spec
    max_tokens = answer_tokens(ls.config, spec)
    text, _ = stream_answer(backend, ids, max_tokens, token, _ignore, "chat", temperature, seed,
                            reasons=bool(spec and spec.reasoning))
    for special in special_tokens(backend):
        text = text.replace(special, "")
    return text


def _ignore(_delta: str) -> None:
    return None


async def ask_async(
    ls: CodeflowServer,
    messages: Sequence[dict[str, str]],
    anchor: tuple[str, str, int],
    token: CancelToken,
    temperature: float = 0.0,
    seed: int = 0,
) -> str:
    """`ask` on the inference worker; cancelling the await trips `token`."""

    def work(t: CancelToken) -> str:
        return ask(ls, messages, anchor, t, temperature, seed)

    return await ls.inference.run(work, Priority.FIX, token)


# ---- the code under test ----------------------------------------------------------------------
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
    deep = failure.deepest
    if deep is not None and deep.inside and deep.path != failure.test_path:
        text = read(deep.path)
        region = edits.enclosing_function(text, deep.line)
        if region is not None:
            return Target(deep.path, region, text)
    test_text = read(failure.test_path)
    for name in _called_names(test_text, failure.test_line):
        for module in _imported_from(test_text, name):
            for path in _module_files(root, failure.test_path, module):
                text = read(path)
                region = edits.function_named(text, name)
                if region is not None:
                    return Target(path, region, text)
    region = edits.enclosing_function(test_text, failure.test_line)
    if region is None:
        lines = convert.lsp_lines(test_text)
        region = Region(0, max(len(lines) - 1, 0), "", "")
    return Target(failure.test_path, region, test_text)


# ---- code flow ---------------------------------------------------------------------------------
def _overlaps(hunk: Any, region: Region) -> bool:
    start = int(hunk.new_start) - 1
    end = start + max(int(hunk.new_lines), 1) - 1
    return start <= region.end_line + 2 and end >= region.start_line - 2


def _flow_from_history(history: Any, target: Target) -> str:
    region = target.region
    parts = []
    for change in history.commits_touching(target.path, region.start_line, region.end_line, 3):
        commit = change.commit
        hunks = "\n".join(h.text for h in change.hunks)
        parts.append(f"commit {commit.id[:10]} {commit.summary}\n{hunks}")
    hunks = [h.text for h in history.uncommitted(target.path) if _overlaps(h, region)]
    if hunks:
        parts.append("uncommitted changes:\n" + "\n".join(hunks))
    return "\n\n".join(parts)


def _git(root: Path, *args: str) -> str:
    try:
        done = subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout if done.returncode == 0 else ""


def _flow_from_git(root: Path, target: Target) -> str:
    r = target.region
    spec = f"-L{r.start_line + 1},{r.end_line + 1}:{target.path}"
    log_text = _git(root, "log", "-n", "3", "--format=commit %h %s", spec)
    diff = _git(root, "diff", "HEAD", "-U2", "--", target.path)
    parts = [log_text.strip()] + ([f"uncommitted changes:\n{diff.strip()}"] if diff.strip() else [])
    return "\n\n".join(p for p in parts if p)


def code_flow(ls: CodeflowServer, target: Target) -> str:
    """Recent commits and uncommitted hunks touching the target (History, else the git CLI)."""
    root = ls.root
    history = ls.services.history
    text = ""
    if history is not None and getattr(history, "available", True):
        try:
            text = _flow_from_history(history, target)
        except Exception:  # noqa: BLE001 - history is best effort; fall back to git
            log.warning("history query failed for %s", target.path, exc_info=True)
    if not text and root is not None:
        text = _flow_from_git(root, target)
    return text[:FLOW_CHARS]


# ---- prompts and patches ----------------------------------------------------------------------
def fix_messages(failure: Failure, test_source: str, target: Target, flow: str) -> list[dict]:
    """The chat messages asking for a fixed version of the target function."""
    r = target.region
    tb = "\n".join(failure.traceback.splitlines()[-40:])
    user = (
        f"The test `{failure.node_id}` fails:\n```\n{failure.message}\n\n{tb}\n```\n\n"
        f"The test (`{failure.test_path}`):\n```python\n{test_source.rstrip()}\n```\n\n"
        f"The code under test (`{target.path}`, lines {r.start_line + 1}-{r.end_line + 1}):\n"
        f"```python\n{edits.region_text(target.text, r).rstrip()}\n```\n\n"
        "How this code changed recently (most likely what broke it):\n"
        f"```diff\n{flow.rstrip() or 'no recorded changes'}\n```\n\n"
        f"Fix `{r.name or target.path}` so that the test passes; keep its name and signature. "
        "Reply with the whole fixed function in one ```python code block."
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
    code = edits.code_block(answer) or _bare_definition(answer, target.region.name)
    if code is None:
        return None, "patch does not apply: the answer has no code block"
    name = edits.defined_name(code)
    if target.region.name and name != target.region.name:
        return None, f"patch does not apply: the answer does not define `{target.region.name}`"
    new_text = edits.replace_region(target.text, target.region, code)
    if target.path.endswith(".py"):
        try:
            ast.parse(new_text)
        except SyntaxError as exc:
            return None, f"patch does not apply: syntax error at line {exc.lineno}"
    if new_text == target.text:
        return None, "patch does not apply: it changes nothing"
    return new_text, ""


# ---- scratch verification ---------------------------------------------------------------------
def scratch_copy(root: Path) -> Path:
    """A temp copy of the workspace without VCS, virtualenv and cache dirs; returns its root."""
    tmp = Path(tempfile.mkdtemp(prefix="codeflow-fix-"))
    dest = tmp / root.name
    shutil.copytree(root, dest, symlinks=True, ignore=shutil.ignore_patterns(*SCRATCH_IGNORE))
    return dest


def _write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


async def verify(
    ls: CodeflowServer,
    scratch: Path,
    target: Target,
    new_text: str,
    node_id: str,
    python: Interpreter | CommandError | None = None,
) -> tuple[bool, float, str]:
    """Run only `node_id` in `scratch` with the patch in place: (passes, seconds, note).
    `python` is the workspace's interpreter (`scratch_python`; None with `tests.command`)."""
    if isinstance(python, CommandError):
        return False, 0.0, f"unverified: {python}"
    dest = scratch / target.path
    try:
        dest.resolve().relative_to(scratch.resolve())
    except ValueError:
        return False, 0.0, "unverified: the file is a link out of the workspace copy"
    await ls.cpu.run(_write, dest, new_text)
    try:
        root = ls.root or scratch
        result = await run_tests(root, ls.config.tests, [node_id], cwd=scratch, python=python)
    finally:
        await ls.cpu.run(_write, dest, target.text)
    if not result.ok:
        return False, result.seconds, f"unverified: {result.message.removeprefix('codeflow: ')}"
    ran = [o for o in result.outcomes if o.node_id == node_id]
    passed = bool(ran) and all(o.status == "passed" for o in ran) and result.returncode == 0
    return passed, result.seconds, VERIFIED if passed else UNVERIFIED


# ---- the flow ---------------------------------------------------------------------------------
def _reader(ls: CodeflowServer, root: Path) -> Callable[[str], str]:
    from .tests import reader

    return reader(ls, root)


def _cache(ls: CodeflowServer) -> dict[str, FixResult]:
    cache = getattr(ls, "fix_results", None)
    if cache is None:
        cache = {}
        ls.fix_results = cache  # type: ignore[attr-defined]
    return cache


def cached(ls: CodeflowServer, node_id: str) -> FixResult | None:
    """Candidates computed earlier for `node_id`, if its target file has not changed since."""
    result = _cache(ls).get(node_id)
    if result is None or ls.root is None:
        return None
    current = _reader(ls, ls.root)(result.target.path)
    return result if _digest(current) == _digest(result.target.text) else None


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


async def _candidate(
    ls: CodeflowServer,
    i: int,
    ctx: tuple[Failure, Target, list[dict], Path, Interpreter | CommandError | None],
    token: CancelToken,
    tried: dict[str, Candidate],
) -> Candidate:
    failure, target, messages, scratch, python = ctx
    temperature, seed = (0.0, 0) if i == 0 else (SAMPLE_TEMPERATURE, i)
    anchor = (target.path, target.text, target.region.start_line)
    answer = await ask_async(ls, messages, anchor, token, temperature, seed)
    log.debug("fix candidate %d answer: %r", i, answer[:2000])
    new_text, why = await ls.cpu.run(patch, target, answer)
    if new_text is None:
        return Candidate(i, temperature, seed, None, False, why, 0.0)
    if new_text in tried:
        old = tried[new_text]
        return Candidate(i, temperature, seed, new_text, old.verified, old.note, 0.0)
    ok, seconds, note = await verify(ls, scratch, target, new_text, failure.node_id, python)
    return Candidate(i, temperature, seed, new_text, ok, note, seconds)


def _test_source(test_text: str, line: int) -> str:
    """The failing test's function, else the whole test file."""
    region = edits.enclosing_function(test_text, line)
    return edits.region_text(test_text, region) if region else test_text


async def _python(ls: CodeflowServer, root: Path) -> Interpreter | CommandError | None:
    """The workspace's interpreter for verifying in a scratch copy (or why there is none)."""
    try:
        python = await scratch_python(ls.config.tests, root)
    except CommandError as exc:
        return exc
    if python is not None:
        say_runs_with(ls, python.describe())
    return python


async def fix_failing_test(
    ls: CodeflowServer, failure: Failure, token: CancelToken, progress: Progress
) -> FixResult:
    """Generate, patch and verify candidates for `failure` (stops at the first verified one)."""
    root = ls.root
    assert root is not None
    read = _reader(ls, root)
    target = await ls.cpu.run(find_target, root, failure, read)
    test_text = read(failure.test_path)
    test_source = await ls.cpu.run(_test_source, test_text, failure.test_line)
    flow = await ls.cpu.run(code_flow, ls, target)
    messages = fix_messages(failure, test_source, target, flow)
    python = await _python(ls, root)
    scratch = await ls.cpu.run(scratch_copy, root)
    candidates: list[Candidate] = []
    tried: dict[str, Candidate] = {}
    total = ls.config.tests.fix_candidates
    try:
        for i in range(total):
            progress.report(f"candidate {i + 1}/{total}", int(100 * i / total))
            t0 = time.monotonic()
            ctx = (failure, target, messages, scratch, python)
            cand = await _candidate(ls, i, ctx, token, tried)
            log.info(
                "fix candidate %d for %s: %s (%.2f s, test %.2f s)",
                i,
                failure.node_id,
                cand.note or VERIFIED,
                time.monotonic() - t0,
                cand.seconds,
            )
            candidates.append(cand)
            if cand.new_text is not None:
                tried.setdefault(cand.new_text, cand)
            if cand.verified:
                break
    finally:
        await ls.cpu.run(shutil.rmtree, scratch.parent, True)
    result = FixResult(failure.node_id, target, tuple(candidates))
    _cache(ls)[failure.node_id] = result
    return result
