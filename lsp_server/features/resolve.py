"""Resolving code actions: the model's rewrite of a region (fix, docstring), a new test, the
verified candidates of "Fix failing test", and the `codeflow.explain`/`fixFailingTest` commands.

Regions, patches and diffs run on the CPU pool; the model on the inference worker. Every edit is
a `WorkspaceEdit` of minimal text edits, refused for any file outside the workspace; the user's
files change only when the client applies it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams
from pygls.uris import from_fs_path

from actions.diffs import code_block, code_block_text
from actions.fixing import SYSTEM, Target, patch
from actions.outline import (
    DOC_STYLE,
    doc_edit,
    language_of,
    region_at,
)
from actions.regions import Region, region_text
from actions.testfiles import TEST_STYLE, test_file_for
from inference.cancel import Cancelled, CancelToken

from .. import convert
from ..server import CodeflowServer  # runtime import: pygls resolves command annotations
from . import edits
from .edits import OutsideWorkspace
from .fix_actions import Resolved, resolve_fix_test
from .model import ModelUnavailable, ask_async
from .ui import Progress, show

log = logging.getLogger(__name__)
Handler = Callable[[Any, dict[str, Any], CancelToken, Progress], Awaitable[Resolved]]


def document(ls: CodeflowServer, uri: str) -> tuple[Path, str, str]:
    """(file, workspace path, current text) of `uri`, confined to the workspace."""
    path = edits.confine(ls.root, uri)
    rel = ls.path_of(uri) or path.name
    return path, rel, edits.current_text(ls, uri, path)


def code_prompt(rel: str, text: str, region: Region) -> str:
    what = (
        f"`{region.name}`"
        if region.name
        else f"lines {region.start_line + 1}-{region.end_line + 1}"
    )
    code = region_text(text, region).rstrip()
    return f"The code of {what} in `{rel}`:\n```\n{code}\n```\n\n"


async def _rewrite(
    ls: CodeflowServer, data: dict[str, Any], token: CancelToken, ask: str
) -> Resolved:
    uri = str(data["uri"])
    _, rel, text = document(ls, uri)
    region = await ls.cpu.run(region_at, rel, text, int(data.get("line", 0)))
    messages = [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": code_prompt(rel, text, region) + ask},
    ]
    answer = await ask_async(ls, messages, (rel, text, region.start_line), token)
    new_text, why = await ls.cpu.run(patch, Target(rel, region, text), answer)
    if new_text is None:
        show(ls, types.MessageType.Warning, f"codeflow: {why}")
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
    language = language_of(str(data["uri"]))
    if language is not None and language != "python":
        return await _doc_comment(ls, data, token, language)
    ask = (
        f"Add a concise docstring to `{data.get('name')}`; change nothing else. "
        "Reply with the whole function, docstring included, in one ```python code block."
    )
    return await _rewrite(ls, data, token, ask)


async def _doc_comment(
    ls: CodeflowServer, data: dict, token: CancelToken, language: str
) -> Resolved:
    """Documentation for a definition outside Python: the model writes the text, the comment
    goes into the language's slot (JSDoc, `///`, `//`, Javadoc, `/** */`)."""
    uri, line = str(data["uri"]), int(data.get("line", 0))
    _, rel, text = document(ls, uri)
    region = await ls.cpu.run(region_at, rel, text, line)
    ask = (
        f"Write {DOC_STYLE[language]} for `{data.get('name')}`: what it does, its parameters "
        "and result, in a few lines. Reply with only the text of the comment in one code block."
    )
    messages = [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": code_prompt(rel, text, region) + ask},
    ]
    answer = await ask_async(ls, messages, (rel, text, region.start_line), token)
    new_text = await ls.cpu.run(doc_edit, text, language, line, answer)
    if new_text is None:
        show(ls, types.MessageType.Warning, "codeflow: the answer has no documentation")
        return None, None
    version = edits.edit_version(ls, uri)
    return await ls.cpu.run(edits.workspace_edit, uri, text, new_text, version), None


async def _resolve_test(ls: CodeflowServer, data: dict, token: CancelToken, _p: Any) -> Resolved:
    uri = str(data["uri"])
    path, rel, text = document(ls, uri)
    region = await ls.cpu.run(region_at, rel, text, int(data.get("line", 0)))
    module = Path(rel).with_suffix("").as_posix().replace("/", ".")
    language = language_of(rel) or "python"
    if language == "python":
        ask = (
            f"Write a pytest test for `{region.name}` (import it from `{module}`). Reply with "
            "the test module code (imports and test functions) in one ```python code block."
        )
    else:
        ask = (
            f"Write {TEST_STYLE[language]} for `{region.name}` (from `{rel}`). Reply with the "
            "test code in one code block."
        )
    messages = [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": code_prompt(rel, text, region) + ask},
    ]
    answer = await ask_async(ls, messages, (rel, text, region.start_line), token)
    code = code_block(answer)
    if code is None:
        show(ls, types.MessageType.Warning, "codeflow: the answer has no code block")
        return None, None
    assert ls.root is not None
    dest = test_file_for(path, ls.root)
    dest_uri = from_fs_path(str(dest)) or dest.as_uri()
    edits.confine(ls.root, dest_uri)
    if not dest.is_file() and ls.document_text(dest_uri) is None:
        if not edits.can_create_files(ls):
            message = f"codeflow: this editor cannot create {dest.name} through an edit"
            show(ls, types.MessageType.Warning, message)
            return None, None
        return edits.create_file_edit(dest_uri, code.strip("\n") + "\n"), None
    old = edits.current_text(ls, dest_uri, dest)
    new = await ls.cpu.run(code_block_text, old, code, None)
    version = edits.edit_version(ls, dest_uri)
    return await ls.cpu.run(edits.workspace_edit, dest_uri, old, new, version), None


HANDLERS: dict[str, Handler] = {
    "fix": _resolve_fix,
    "docstring": _resolve_docstring,
    "test": _resolve_test,
    "fixTest": resolve_fix_test,
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
    async with Progress(ls, f"codeflow: {action.title}") as progress:
        try:
            edit, title = await handler(ls, data, token, progress)
        except Cancelled as exc:
            raise convert.request_cancelled(str(exc)) from exc
        except (ModelUnavailable, OutsideWorkspace) as exc:
            text = str(exc) if str(exc).startswith("codeflow") else f"codeflow: {exc}"
            show(ls, types.MessageType.Error, text)
            return action
    action.edit = edit
    if title:
        action.title = title
    return action
