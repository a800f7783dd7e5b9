""""Fix failing test" as code actions: the verified candidates listed with their edits, the
resolve of the generic action, and the `codeflow.fixFailingTest` command (all candidates with
their verification, for clients without resolve support and for measurements)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams
from pygls.uris import from_fs_path

from actions.fixing import VERIFIED, FixResult
from inference.cancel import Cancelled, CancelToken

from .. import convert
from ..server import CodeflowServer  # runtime import: pygls resolves command annotations
from . import edits, fixes
from . import tests as test_feature
from .edits import OutsideWorkspace
from .model import ModelUnavailable
from .ui import Progress, show

FIX_TEST_TITLE = "Fix failing test with codeflow"
Resolved = tuple[types.WorkspaceEdit | None, str | None]


def uri_of(ls: CodeflowServer, path: str) -> str:
    """The URI of a workspace-relative path."""
    assert ls.root is not None
    full = str(ls.root / path)
    return from_fs_path(full) or Path(full).as_uri()


def candidate_actions(ls: CodeflowServer, result: FixResult) -> list[types.CodeAction]:
    """One action per offered candidate, its edit included (no model call)."""
    uri = uri_of(ls, result.target.path)
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


async def resolve_fix_test(
    ls: CodeflowServer, data: dict, token: CancelToken, progress: Progress
) -> Resolved:
    result = await _fix_result(ls, str(data.get("nodeId")), token, progress)
    offered = result.offered()
    if offered and offered[0].verified:
        best = offered[0]
        uri = uri_of(ls, result.target.path)
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
    show(ls, types.MessageType.Warning, message)
    return None, None


async def _fix_result(
    ls: CodeflowServer, node_id: str, token: CancelToken, progress: Progress
) -> FixResult:
    failure = test_feature.state(ls).failures.get(node_id)
    if failure is None or test_feature.refusal(ls) is not None:
        why = test_feature.refusal(ls) or f"no known failure {node_id}; run the tests again"
        raise JsonRpcInvalidParams(why)
    cached = fixes.cached(ls, node_id)
    if cached is not None:
        return cached
    return await fixes.fix_failing_test(ls, failure, token, progress)


async def fix_failing_test_command(ls: CodeflowServer, arg: dict[str, Any]) -> dict[str, Any]:
    """All candidates for `arg["nodeId"]`, with their verification and edits."""
    token = CancelToken()
    node_id = str(arg.get("nodeId", ""))
    async with Progress(ls, f"codeflow: fixing {node_id}") as progress:
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

