"""Edits as LSP values: minimal, workspace-confined `WorkspaceEdit`s.

The diffs, regions and code-block splicing are `actions`' (`actions.diffs`, `actions.regions`);
this module turns their `TextChange`s into lsprotocol edits (UTF-16 positions), confines every
path to the workspace (`confine` refuses symlinks and `..` out of it), reads the current text
of a document, and serves chat's `codeflow.applyCodeBlock`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams
from pygls.uris import to_fs_path

from actions.diffs import TextChange, code_block_text, minimal_edits

from .. import convert

if TYPE_CHECKING:
    from ..server import CodeflowServer


class OutsideWorkspace(ValueError):
    """An edit's path resolves outside the workspace root (or there is no workspace)."""


def confine(root: Path | None, uri: str) -> Path:
    """The file of `uri` if it resolves (symlinks, `..`) inside `root`; else `OutsideWorkspace`."""
    if root is None:
        raise OutsideWorkspace("there is no workspace folder to edit in")
    fs = to_fs_path(uri) if "://" in uri else uri
    if not fs or not Path(fs).is_absolute():
        raise OutsideWorkspace(f"not an absolute file path: {uri}")
    path = Path(fs).resolve()
    try:
        path.relative_to(root.resolve())
    except ValueError:
        raise OutsideWorkspace(f"refusing to edit {path}: it is outside the workspace") from None
    return path


def text_edits(text: str, changes: list[TextChange]) -> list[types.TextEdit]:
    """`TextChange`s (code points) → LSP `TextEdit`s (UTF-16 positions) against `text`."""
    lines = convert.split_lines(text)
    return [
        types.TextEdit(
            types.Range(
                convert.to_position(lines, c.start_line, c.start_col),
                convert.to_position(lines, c.end_line, c.end_col),
            ),
            c.text,
        )
        for c in changes
    ]


def workspace_edit(
    uri: str, text: str, new_text: str, version: int | None = None
) -> types.WorkspaceEdit:
    """The minimal-changes `WorkspaceEdit` text→new_text (versioned when `version` is set)."""
    edits: list[Any] = text_edits(text, minimal_edits(text, new_text))
    if version is None:
        return types.WorkspaceEdit(changes={uri: edits})
    doc = types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=version)
    return types.WorkspaceEdit(document_changes=[types.TextDocumentEdit(doc, edits)])


def _workspace_edit_caps(ls: CodeflowServer) -> Any:
    caps = getattr(ls, "client_capabilities", None)
    workspace = getattr(caps, "workspace", None)
    return getattr(workspace, "workspace_edit", None)


def edit_version(ls: CodeflowServer, uri: str) -> int | None:
    """The open document's version when the client takes versioned `documentChanges`."""
    caps = _workspace_edit_caps(ls)
    return ls.versions.get(uri) if caps is not None and caps.document_changes else None


def can_create_files(ls: CodeflowServer) -> bool:
    """Whether the client applies `CreateFile` operations in a `WorkspaceEdit`."""
    caps = _workspace_edit_caps(ls)
    ops = (caps.resource_operations or []) if caps is not None and caps.document_changes else []
    return types.ResourceOperationKind.Create in ops


def create_file_edit(uri: str, content: str) -> types.WorkspaceEdit:
    """A `WorkspaceEdit` that creates `uri` and fills it with `content`."""
    doc = types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=None)
    insert = types.TextEdit(types.Range(types.Position(0, 0), types.Position(0, 0)), content)
    return types.WorkspaceEdit(
        document_changes=[
            types.CreateFile(uri=uri, options=types.CreateFileOptions(ignore_if_exists=True)),
            types.TextDocumentEdit(doc, [insert]),
        ]
    )


def current_text(ls: CodeflowServer, uri: str, path: Path) -> str:
    """The open buffer of `uri`, else the file on disk ('' when it does not exist)."""
    text = ls.document_text(uri)
    if text is not None:
        return text
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""
    except (OSError, UnicodeDecodeError) as exc:
        raise JsonRpcInvalidParams(f"cannot read {path}: {exc}") from exc


def apply_code_block_edit(ls: CodeflowServer, arg: dict[str, Any]) -> types.WorkspaceEdit:
    """`{uri, code, range?}` → the `WorkspaceEdit` that puts a chat code block into the file."""
    uri = str(arg["uri"])
    try:
        path = confine(ls.root, uri)
    except OutsideWorkspace as exc:
        raise JsonRpcInvalidParams(f"codeflow: {exc}") from exc
    text = current_text(ls, uri, path)
    new_text = code_block_text(text, str(arg["code"]), arg.get("range"))
    return workspace_edit(uri, text, new_text, edit_version(ls, uri))

