"""Code actions: listed instantly, computed on `codeAction/resolve` (with progress, cancellable).

Listed for the cursor:
- "Fix with codeflow: …" for each diagnostic the client sends in the context (any source);
- "Fix failing test with codeflow" for a `codeflow-tests` diagnostic; once its candidates are
  computed, each applicable one is listed with its edit: verified ones first, titled
  "(verified: test passes)", the others "(unverified: test still fails)";
- "Explain `f`" (command `codeflow.explain`: the answer comes as a message and as the result),
  "Add docstring to `f`" (Python functions without one), "Write a test for `f`".

Listing never calls the model and never blocks the event loop: the document is read on the
loop, everything that parses or diffs it runs on the CPU pool: the enclosing function and its
docstring come from a parse of the top-level statement around the cursor (a few lines: the
parse holds the GIL, so a whole-file parse in a thread would still stall the loop), or of the
whole text when that statement does not parse alone (once per text). A newer listing for the
same document supersedes an older one that has not started yet. Resolve (regions, patches,
diffs also on the pool) asks the model for the rewritten function (or a test)
in a fenced block and turns it into a `WorkspaceEdit` of minimal text edits, refusing any file
outside the workspace. The user's files change only when the client applies the edit.
Commands: `codeflow.explain {uri, line}`, `codeflow.fixFailingTest {nodeId}` (the candidates
with their verification, for clients without resolve support and for measurements).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams
from pygls.uris import from_fs_path

from inference.cancel import Cancelled, CancelToken

from .. import convert
from ..server import CodeflowServer  # runtime import: pygls resolves command annotations
from . import edits, fixes
from . import tests as test_feature
from .edits import OutsideWorkspace, Region
from .fixes import VERIFIED, FixResult, ModelUnavailable, Target

log = logging.getLogger(__name__)
FIX_TEST_TITLE = "Fix failing test with codeflow"
WINDOW = 5
OUTLINES = 8
KINDS = [
    types.CodeActionKind.QuickFix,
    types.CodeActionKind.RefactorRewrite,
    types.CodeActionKind.Refactor,
]
Resolved = tuple[types.WorkspaceEdit | None, str | None]
Handler = Callable[[Any, dict[str, Any], CancelToken, test_feature.Progress], Awaitable[Resolved]]


# ---- listing ----------------------------------------------------------------------------------
def _short(message: str, limit: int = 60) -> str:
    first = message.strip().splitlines()[0] if message.strip() else "problem"
    return first if len(first) <= limit else first[: limit - 1] + "…"


def _action(title: str, kind: str, data: dict[str, Any], **extra: Any) -> types.CodeAction:
    return types.CodeAction(title=title, kind=kind, data={"codeflow": data}, **extra)


def _node_id(diag: types.Diagnostic) -> str | None:
    data = diag.data if isinstance(diag.data, dict) else {}
    node = data.get("nodeId") or diag.code
    return str(node) if node else None


def candidate_actions(ls: CodeflowServer, result: FixResult) -> list[types.CodeAction]:
    """One action per offered candidate, its edit included (no model call)."""
    uri = _uri(ls, result.target.path)
    try:
        edits.confine(ls.root, uri)
    except OutsideWorkspace:
        return []
    out = []
    for k, cand in enumerate(result.offered(), 1):
        assert cand.new_text is not None
        edit = edits.workspace_edit(
            uri, result.target.text, cand.new_text, edits.edit_version(ls, uri)
        )
        title = f"{FIX_TEST_TITLE} #{k} ({cand.note})"
        out.append(
            types.CodeAction(
                title,
                kind=types.CodeActionKind.QuickFix,
                edit=edit,
                is_preferred=cand.verified and k == 1,
            )
        )
    return out


def _diagnostic_actions(ls: CodeflowServer, uri: str, diag: types.Diagnostic) -> list[Any]:
    node = _node_id(diag) if diag.source == test_feature.SOURCE else None
    if node is not None and node in test_feature.state(ls).failures:
        result = fixes.cached(ls, node)
        if result is not None and result.offered():
            return candidate_actions(ls, result)
        data = {"action": "fixTest", "uri": uri, "nodeId": node}
        return [_action(FIX_TEST_TITLE, types.CodeActionKind.QuickFix, data, diagnostics=[diag])]
    data = {
        "action": "fix",
        "uri": uri,
        "line": diag.range.start.line,
        "message": diag.message,
        "source": diag.source or "",
    }
    title = f"Fix with codeflow: {_short(diag.message)}"
    return [_action(title, types.CodeActionKind.QuickFix, data, diagnostics=[diag])]


def _function_actions(
    uri: str, region: Region, documented: bool
) -> list[types.CodeAction]:
    data = {"uri": uri, "line": region.start_line, "name": region.name}
    explain = types.Command(
        title=f"Explain `{region.name}`",
        command="codeflow.explain",
        arguments=[{"uri": uri, "line": region.start_line}],
    )
    out = [
        types.CodeAction(
            f"Explain `{region.name}` with codeflow",
            kind=types.CodeActionKind.Refactor,
            command=explain,
        )
    ]
    if uri.endswith(".py") and not documented:
        out.append(
            _action(
                f"Add docstring to `{region.name}` with codeflow",
                types.CodeActionKind.RefactorRewrite,
                {**data, "action": "docstring"},
            )
        )
    if not region.name.startswith("test"):
        out.append(
            _action(
                f"Write a test for `{region.name}` with codeflow",
                types.CodeActionKind.Refactor,
                {**data, "action": "test"},
            )
        )
    return out


def _overlaps(a: types.Range, b: types.Range) -> bool:
    return a.start.line <= b.end.line and a.end.line >= b.start.line


def _wanted(kind: str | None, only: list[str] | None) -> bool:
    if not only:
        return True
    return kind is not None and any(kind == k or kind.startswith(f"{k}.") for k in only)


class Outlines:
    """The functions of the last few document texts, so that moving the cursor in an unchanged
    document does not parse it again (used from the CPU pool's threads)."""

    def __init__(self, size: int = OUTLINES) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._items: OrderedDict[str, tuple[str, Any]] = OrderedDict()

    def functions(self, uri: str, text: str) -> tuple[tuple[Region, bool], ...] | None:
        """`edits.python_functions(text)`, parsed at most once per (uri, text)."""
        with self._lock:
            hit = self._items.get(uri)
            if hit is not None and (hit[0] is text or hit[0] == text):
                self._items.move_to_end(uri)
                return hit[1]
        functions = edits.python_functions(text)
        with self._lock:
            self._items[uri] = (text, functions)
            self._items.move_to_end(uri)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return functions


def _outlines(ls: CodeflowServer) -> Outlines:
    found = getattr(ls, "action_outlines", None)
    if found is None:
        found = Outlines()
        ls.action_outlines = found  # type: ignore[attr-defined]
    return found


def _function_at(ls: CodeflowServer, uri: str, text: str, line: int) -> tuple[Region, bool] | None:
    """The function around `line` and whether it has a docstring: from a parse of the top-level
    statement holding `line`, else of the whole text (once per text)."""
    if not uri.endswith(".py"):
        region = edits.enclosing_function(text, line)
        return (region, False) if region is not None else None
    functions = edits.functions_around(text, line)
    if functions is None:
        functions = _outlines(ls).functions(uri, text)
    if functions is None:
        region = edits.heuristic_region(text, line)
        return (region, False) if region is not None else None
    return edits.innermost(functions, line)


def _compute(
    ls: CodeflowServer, params: types.CodeActionParams, text: str, token: CancelToken
) -> list[types.CodeAction]:
    """The actions for a range: diagnostics first, then the enclosing function's (CPU pool)."""
    token.check()
    uri = params.text_document.uri
    out: list[types.CodeAction] = []
    for diag in params.context.diagnostics:
        if _overlaps(diag.range, params.range):
            out.extend(_diagnostic_actions(ls, uri, diag))
    found = _function_at(ls, uri, text, params.range.start.line)
    if found is not None and found[0].name:
        out.extend(_function_actions(uri, *found))
    only = [str(k) for k in params.context.only] if params.context.only else None
    return [a for a in out if _wanted(a.kind, only)]


async def list_actions(
    ls: CodeflowServer, params: types.CodeActionParams
) -> list[types.CodeAction]:
    """The actions for a range, computed off the event loop (see the module docstring)."""
    uri = params.text_document.uri
    text = ls.document_text(uri)
    if text is None or ls.path_of(uri) is None:
        return []
    key = ("codeAction", uri)
    token = ls.supersede.begin(key)
    try:
        return await ls.cpu.run(_compute, ls, params, text, token)
    except Cancelled:
        raise asyncio.CancelledError() from None
    finally:
        ls.supersede.end(key, token)


# ---- resolve ----------------------------------------------------------------------------------
def _uri(ls: CodeflowServer, path: str) -> str:
    assert ls.root is not None
    full = str(ls.root / path)
    return from_fs_path(full) or Path(full).as_uri()


def _document(ls: CodeflowServer, uri: str) -> tuple[Path, str, str]:
    """(file, workspace path, current text) of `uri`, confined to the workspace."""
    path = edits.confine(ls.root, uri)
    rel = ls.path_of(uri) or path.name
    return path, rel, edits.current_text(ls, uri, path)


def _region(text: str, line: int) -> Region:
    region = edits.enclosing_function(text, line)
    if region is not None:
        return region
    last = max(len(convert.lsp_lines(text)) - 1, 0)
    return Region(max(line - WINDOW, 0), min(line + WINDOW, last), "", "")


def _code_prompt(rel: str, text: str, region: Region) -> str:
    what = (
        f"`{region.name}`"
        if region.name
        else f"lines {region.start_line + 1}-{region.end_line + 1}"
    )
    code = edits.region_text(text, region).rstrip()
    return f"The code of {what} in `{rel}`:\n```\n{code}\n```\n\n"


async def _rewrite(
    ls: CodeflowServer, data: dict[str, Any], token: CancelToken, ask: str
) -> Resolved:
    uri = str(data["uri"])
    _, rel, text = _document(ls, uri)
    region = await ls.cpu.run(_region, text, int(data.get("line", 0)))
    messages = [
        {"role": "system", "content": fixes.SYSTEM},
        {"role": "user", "content": _code_prompt(rel, text, region) + ask},
    ]
    answer = await fixes.ask_async(ls, messages, (rel, text, region.start_line), token)
    new_text, why = await ls.cpu.run(fixes.patch, Target(rel, region, text), answer)
    if new_text is None:
        test_feature.show(ls, types.MessageType.Warning, f"codeflow: {why}")
        return None, None
    version = edits.edit_version(ls, uri)
    return await ls.cpu.run(edits.workspace_edit, uri, text, new_text, version), None


async def _resolve_fix(ls: CodeflowServer, data: dict, token: CancelToken, _p: Any) -> Resolved:
    source = f" ({data['source']})" if data.get("source") else ""
    ask = (
        f"Line {int(data.get('line', 0)) + 1} has this problem{source}: {data.get('message')}\n"
        "Fix it. Reply with the whole fixed code above in one code block."
    )
    return await _rewrite(ls, data, token, ask)


async def _resolve_docstring(
    ls: CodeflowServer, data: dict, token: CancelToken, _p: Any
) -> Resolved:
    ask = (
        f"Add a concise docstring to `{data.get('name')}`; change nothing else. "
        "Reply with the whole function, docstring included, in one ```python code block."
    )
    return await _rewrite(ls, data, token, ask)


def _test_file(path: Path, root: Path) -> Path:
    """An existing test module for `path`, else `test_<stem>.py` beside it."""
    name = f"test_{path.stem}{path.suffix}"
    for cand in (path.parent / name, root / "tests" / name):
        if cand.is_file():
            return cand
    return path.parent / name


async def _resolve_test(ls: CodeflowServer, data: dict, token: CancelToken, _p: Any) -> Resolved:
    uri = str(data["uri"])
    path, rel, text = _document(ls, uri)
    region = await ls.cpu.run(_region, text, int(data.get("line", 0)))
    module = Path(rel).with_suffix("").as_posix().replace("/", ".")
    ask = (
        f"Write a pytest test for `{region.name}` (import it from `{module}`). Reply with the "
        "test module code (imports and test functions) in one ```python code block."
    )
    messages = [
        {"role": "system", "content": fixes.SYSTEM},
        {"role": "user", "content": _code_prompt(rel, text, region) + ask},
    ]
    answer = await fixes.ask_async(ls, messages, (rel, text, region.start_line), token)
    code = edits.code_block(answer)
    if code is None:
        test_feature.show(ls, types.MessageType.Warning, "codeflow: the answer has no code block")
        return None, None
    assert ls.root is not None
    dest = _test_file(path, ls.root)
    dest_uri = from_fs_path(str(dest)) or dest.as_uri()
    edits.confine(ls.root, dest_uri)
    if not dest.is_file() and ls.document_text(dest_uri) is None:
        if not edits.can_create_files(ls):
            message = f"codeflow: this editor cannot create {dest.name} through an edit"
            test_feature.show(ls, types.MessageType.Warning, message)
            return None, None
        return edits.create_file_edit(dest_uri, code.strip("\n") + "\n"), None
    old = edits.current_text(ls, dest_uri, dest)
    new = await ls.cpu.run(edits.code_block_text, old, code, None)
    version = edits.edit_version(ls, dest_uri)
    return await ls.cpu.run(edits.workspace_edit, dest_uri, old, new, version), None


async def _resolve_fix_test(
    ls: CodeflowServer, data: dict, token: CancelToken, progress: test_feature.Progress
) -> Resolved:
    result = await _fix_result(ls, str(data.get("nodeId")), token, progress)
    offered = result.offered()
    if offered and offered[0].verified:
        best = offered[0]
        uri = _uri(ls, result.target.path)
        edits.confine(ls.root, uri)
        assert best.new_text is not None
        version = edits.edit_version(ls, uri)
        edit = await ls.cpu.run(
            edits.workspace_edit, uri, result.target.text, best.new_text, version
        )
        progress.finish(VERIFIED)
        return edit, f"{FIX_TEST_TITLE} ({VERIFIED})"
    tried = len(result.candidates)
    unverified = (
        f"; {len(offered)} unverified patch(es) are listed as code actions, "
        "labelled (unverified: test still fails)"
        if offered
        else ""
    )
    message = f"codeflow: none of {tried} candidate fix(es) made {result.node_id} pass{unverified}"
    progress.finish("no verified fix")
    test_feature.show(ls, types.MessageType.Warning, message)
    return None, None


async def _fix_result(
    ls: CodeflowServer, node_id: str, token: CancelToken, progress: test_feature.Progress
) -> FixResult:
    failure = test_feature.state(ls).failures.get(node_id)
    if failure is None or test_feature.refusal(ls) is not None:
        why = test_feature.refusal(ls) or f"no known failure {node_id}; run the tests again"
        raise JsonRpcInvalidParams(why)
    cached = fixes.cached(ls, node_id)
    if cached is not None:
        return cached
    return await fixes.fix_failing_test(ls, failure, token, progress)


HANDLERS: dict[str, Handler] = {
    "fix": _resolve_fix,
    "docstring": _resolve_docstring,
    "test": _resolve_test,
    "fixTest": _resolve_fix_test,
}


async def resolve(ls: CodeflowServer, action: types.CodeAction) -> types.CodeAction:
    """Compute the edit of a listed action."""
    data = convert.plain(action.data) or {}
    data = data.get("codeflow") if isinstance(data, dict) else None
    handler = HANDLERS.get(str((data or {}).get("action")))
    if data is None or handler is None or action.edit is not None:
        return action
    if not isinstance(data.get("uri"), str) or not isinstance(data.get("line", 0), int):
        raise JsonRpcInvalidParams("codeflow: malformed code action data (needs uri and line)")
    token = CancelToken()
    async with test_feature.Progress(ls, f"codeflow: {action.title}") as progress:
        try:
            edit, title = await handler(ls, data, token, progress)
        except Cancelled as exc:
            raise convert.request_cancelled(str(exc)) from exc
        except (ModelUnavailable, OutsideWorkspace) as exc:
            text = str(exc) if str(exc).startswith("codeflow") else f"codeflow: {exc}"
            test_feature.show(ls, types.MessageType.Error, text)
            return action
    action.edit = edit
    if title:
        action.title = title
    return action


# ---- commands ---------------------------------------------------------------------------------
async def explain(ls: CodeflowServer, arg: dict[str, Any]) -> dict[str, str]:
    """Explain the function at `arg` (`{uri, line}`); the answer is shown and returned."""
    uri = str(arg.get("uri", ""))
    try:
        _, rel, text = _document(ls, uri)
    except OutsideWorkspace as exc:
        raise JsonRpcInvalidParams(f"codeflow: {exc}") from exc
    region = await ls.cpu.run(_region, text, int(arg.get("line", 0)))
    messages = [
        {"role": "system", "content": "You are codeflow, a concise code explainer. Use Markdown."},
        {
            "role": "user",
            "content": _code_prompt(rel, text, region)
            + "Explain what this code does, its inputs and outputs, and any pitfalls.",
        },
    ]
    token = CancelToken()
    async with test_feature.Progress(ls, "codeflow: explaining"):
        try:
            answer = await fixes.ask_async(ls, messages, (rel, text, region.start_line), token)
        except Cancelled as exc:
            raise convert.request_cancelled(str(exc)) from exc
        except ModelUnavailable as exc:
            raise JsonRpcInvalidParams(str(exc)) from exc
    test_feature.show(ls, types.MessageType.Info, answer.strip())
    return {"markdown": answer.strip()}


async def fix_failing_test_command(ls: CodeflowServer, arg: dict[str, Any]) -> dict[str, Any]:
    """All candidates for `arg["nodeId"]`, with their verification and edits."""
    token = CancelToken()
    node_id = str(arg.get("nodeId", ""))
    async with test_feature.Progress(ls, f"codeflow: fixing {node_id}") as progress:
        try:
            result = await _fix_result(ls, node_id, token, progress)
        except Cancelled as exc:
            raise convert.request_cancelled(str(exc)) from exc
        except ModelUnavailable as exc:
            raise JsonRpcInvalidParams(str(exc)) from exc
    actions = {
        id(c): a for c, a in zip(result.offered(), candidate_actions(ls, result), strict=True)
    }
    return {
        "nodeId": result.node_id,
        "target": result.target.path,
        "function": result.target.region.name,
        "candidates": [
            {
                "index": c.index,
                "temperature": c.temperature,
                "seed": c.seed,
                "verified": c.verified,
                "note": c.note,
                "seconds": c.seconds,
                "title": actions[id(c)].title if id(c) in actions else None,
                "edit": convert.plain(actions[id(c)].edit) if id(c) in actions else None,
            }
            for c in result.candidates
        ],
    }


def _arg(args: tuple[Any, ...]) -> dict[str, Any]:
    arg = convert.plain(args[0]) if args else None
    if not isinstance(arg, dict):
        raise JsonRpcInvalidParams("expected one object argument")
    return arg


def register(server: CodeflowServer) -> None:
    """Attach code actions, their resolve, and the `codeflow.explain`/`fixFailingTest` commands."""
    options = types.CodeActionOptions(code_action_kinds=KINDS, resolve_provider=True)

    @server.feature(types.TEXT_DOCUMENT_CODE_ACTION, options)
    async def code_action(ls: CodeflowServer, params: types.CodeActionParams) -> list | None:
        return await list_actions(ls, params) or None

    @server.feature(types.CODE_ACTION_RESOLVE)
    async def code_action_resolve(ls: CodeflowServer, params: types.CodeAction) -> Any:
        return await resolve(ls, params)

    @server.command("codeflow.explain")
    async def explain_command(ls: CodeflowServer, *args: Any) -> dict[str, str]:
        return await explain(ls, _arg(args))

    @server.command("codeflow.fixFailingTest")
    async def fix_command(ls: CodeflowServer, *args: Any) -> dict[str, Any]:
        return await fix_failing_test_command(ls, _arg(args))
