"""Code actions: listed instantly, computed on `codeAction/resolve` (`resolve`, `fix_actions`).

Listed for the cursor: "Fix with codeflow: …" for each diagnostic in the context; "Fix failing
test with codeflow" for a `codeflow-tests` diagnostic (once computed, each applicable candidate
with its edit, verified ones first); "Explain `f`", "Add docstring to `f`" (undocumented, in its
language's convention) and "Write a test for `f`" for the function, method or class at the
cursor in any indexed language (Python: a parse of the top-level statement around the cursor,
else of the whole text once per text; others: the tree-sitter index's definitions, once per
text). Listing never calls the model and runs on the CPU pool; a newer listing for the same
document supersedes an older one that has not started yet.
"""

from __future__ import annotations

import asyncio
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams

from actions.outline import DefinitionCache, definition_at, language_of
from actions.regions import Outlines, Region, function_at
from inference.cancel import Cancelled, CancelToken

from .. import convert
from ..server import CodeflowServer  # runtime import: pygls resolves command annotations
from . import fixes
from . import tests as test_feature
from .explain import explain
from .fix_actions import FIX_TEST_TITLE, candidate_actions, fix_failing_test_command
from .resolve import resolve

KINDS = [
    types.CodeActionKind.QuickFix,
    types.CodeActionKind.RefactorRewrite,
    types.CodeActionKind.Refactor,
]


def _short(message: str, limit: int = 60) -> str:
    first = message.strip().splitlines()[0] if message.strip() else "problem"
    return first if len(first) <= limit else first[: limit - 1] + "…"


def _action(title: str, kind: str, data: dict[str, Any], **extra: Any) -> types.CodeAction:
    return types.CodeAction(title=title, kind=kind, data={"codeflow": data}, **extra)


def _node_id(diag: types.Diagnostic) -> str | None:
    data = diag.data if isinstance(diag.data, dict) else {}
    node = data.get("nodeId") or diag.code
    return str(node) if node else None


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
    if not documented and language_of(uri) is not None:
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


def _outlines(ls: CodeflowServer) -> tuple[Outlines, DefinitionCache]:
    found = getattr(ls, "action_outlines", None)
    if found is None:
        found = (Outlines(), DefinitionCache())
        ls.action_outlines = found  # type: ignore[attr-defined]
    return found


def _function_at(ls: CodeflowServer, uri: str, text: str, line: int) -> tuple[Region, bool] | None:
    """The function (else class) around `line` and whether it is documented: Python's from a
    parse of the statement around it, every other indexed language's from tree-sitter."""
    outlines, cache = _outlines(ls)
    language = language_of(uri)
    if language is None or language == "python":
        return function_at(outlines, uri, text, line)
    found = cache.get(uri, text, language)
    hit = definition_at(found, line, functions_only=True) or definition_at(found, line)
    return (hit.region, hit.documented) if hit is not None else None


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

