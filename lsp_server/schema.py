"""The settings schema, generated from `lsp_server.config` (the single source of the settings).

`entries()` lists every `codeflow.*` setting with its JSON type, default, limits and description;
from it come the VS Code `contributes.configuration` (and the untrusted-workspace list), the
README settings table and the Neovim defaults. `write(root)` regenerates them in a checkout,
`drift(root)` says where a checkout differs (a test runs it); `codeflow settings-schema` prints
the schema and does both from the command line.
"""

from __future__ import annotations

import dataclasses
import json
import re
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import CLIENT_SETTINGS, Config, as_json, camel

PACKAGE_JSON = Path("vscode-extension/package.json")
README = Path("README.md")
NVIM_CONFIG = Path("editors/nvim/lua/codeflow/config.lua")
_SOURCE = "generated from lsp_server/config.py: codeflow settings-schema --write"
TABLE_BEGIN = f"<!-- settings:begin ({_SOURCE}) -->"
TABLE_END = "<!-- settings:end -->"
LUA_BEGIN = f"-- settings:begin ({_SOURCE})"
LUA_END = "-- settings:end"


@dataclass(frozen=True)
class Entry:
    """One setting as the user writes it: `key` is dotted camelCase below `codeflow.`."""

    key: str
    type: str | list[str]
    default: Any
    doc: str
    lo: float | None = None
    hi: float | None = None
    choices: tuple[str, ...] = ()
    restricted: bool = False
    scope: str = ""
    client: bool = False


def _json_type(kind: Any) -> str | list[str]:
    args = typing.get_args(kind)
    if type(None) in args:
        inner = _json_type(next(a for a in args if a is not type(None)))
        return [inner if isinstance(inner, str) else inner[0], "null"]
    if typing.get_origin(kind) is tuple:
        return "array"
    return {bool: "boolean", int: "integer", float: "number", str: "string"}[kind]


def _server_entries(cls: type, prefix: str) -> list[Entry]:
    out: list[Entry] = []
    hints = typing.get_type_hints(cls)
    defaults = cls()
    for f in dataclasses.fields(cls):
        kind = hints[f.name]
        key = prefix + camel(f.name)
        if dataclasses.is_dataclass(kind):
            out += _server_entries(kind, key + ".")
            continue
        default = getattr(defaults, f.name)
        m = f.metadata
        out.append(Entry(key, _json_type(kind), list(default) if isinstance(default, tuple)
                         else default, m["doc"], m["lo"], m["hi"], m["choices"],
                         m["restricted"], m["scope"]))
    return out


def entries() -> list[Entry]:
    """Every setting: the client's executable settings, the server's tree, then the trace."""
    client = [Entry(c.key, "string", c.default, c.doc, choices=c.choices,
                    restricted=c.restricted, scope=c.scope, client=True)
              for c in CLIENT_SETTINGS]
    head = [e for e in client if e.key != "trace.server"]
    tail = [e for e in client if e.key == "trace.server"]
    return [*head, *_server_entries(Config, ""), *tail]


def _property(e: Entry) -> dict[str, Any]:
    prop: dict[str, Any] = {"type": e.type, "default": e.default}
    if e.type == "array":
        prop["items"] = {"type": "string"}
    if e.choices:
        prop["enum"] = list(e.choices)
    if e.lo is not None:
        prop["minimum"] = e.lo
    if e.hi is not None:
        prop["maximum"] = e.hi
    if e.scope:
        prop["scope"] = e.scope
    prop["markdownDescription"] = e.doc
    return prop


def vscode_configuration() -> dict[str, Any]:
    """The `contributes.configuration` object of the VS Code extension."""
    return {"title": "codeflow",
            "properties": {f"codeflow.{e.key}": _property(e) for e in entries()}}


def restricted_configurations() -> list[str]:
    """Settings ignored from an untrusted workspace (they run programs or pick the model)."""
    return [f"codeflow.{e.key}" for e in entries() if e.restricted]


def _num(x: float | None) -> str:
    return "" if x is None else str(int(x)) if float(x).is_integer() else str(x)


def markdown_table() -> str:
    """The README's settings table (between its markers)."""
    rows = ["| setting | default | meaning |", "| --- | --- | --- |"]
    for e in entries():
        if e.client:
            continue
        limits = ""
        if e.lo is not None:
            limits = f" ({_num(e.lo)}–{_num(e.hi)})"
        doc = e.doc.replace("|", "\\|")
        rows.append(f"| `{e.key}` | `{as_json(e.default)}`{limits} | {doc} |")
    return "\n".join(rows)


def _lua_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    return repr(value)


def lua_defaults() -> str:
    """`M.settings_defaults = {...}` of the Neovim plugin (null and [] stay unset: a Lua nil or
    {} would not reach the server as JSON null or [])."""
    tree: dict[str, Any] = {}
    for e in entries():
        node = tree
        *parents, leaf = e.key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = e.default

    def render(node: dict[str, Any], indent: str) -> list[str]:
        lines: list[str] = []
        for key, value in node.items():
            if isinstance(value, dict):
                lines += [f"{indent}{key} = {{", *render(value, indent + "  "), f"{indent}}},"]
            elif value is None or value == []:
                lines.append(f"{indent}-- {key}: {as_json(value)} (the server's default)")
            else:
                lines.append(f"{indent}{key} = {_lua_value(value)},")
        return lines

    return "\n".join(["M.settings_defaults = {", *render(tree, "  "), "}"])


def _between(text: str, begin: str, end: str, body: str) -> str:
    pattern = re.compile(re.escape(begin) + r"\n.*?\n" + re.escape(end), re.S)
    if not pattern.search(text):
        raise ValueError(f"markers {begin!r} … {end!r} not found")
    return pattern.sub(lambda _: f"{begin}\n{body}\n{end}", text, count=1)


def _package_json(text: str) -> str:
    pkg = json.loads(text)
    pkg["contributes"]["configuration"] = vscode_configuration()
    trust = pkg["capabilities"]["untrustedWorkspaces"]
    trust["restrictedConfigurations"] = restricted_configurations()
    return json.dumps(pkg, indent=2, ensure_ascii=False) + "\n"


def generated(root: Path) -> dict[Path, str]:
    """What each generated file of the checkout at `root` should hold."""
    return {
        PACKAGE_JSON: _package_json((root / PACKAGE_JSON).read_text(encoding="utf-8")),
        README: _between((root / README).read_text(encoding="utf-8"), TABLE_BEGIN, TABLE_END,
                         markdown_table()),
        NVIM_CONFIG: _between((root / NVIM_CONFIG).read_text(encoding="utf-8"), LUA_BEGIN,
                              LUA_END, lua_defaults()),
    }


def drift(root: Path) -> list[str]:
    """The generated files whose text differs from what `lsp_server/config.py` says."""
    return [str(rel) for rel, text in generated(root).items()
            if (root / rel).read_text(encoding="utf-8") != text]


def write(root: Path) -> list[str]:
    """Regenerate the files that drifted; returns their paths."""
    changed = drift(root)
    for rel, text in generated(root).items():
        if str(rel) in changed:
            (root / rel).write_text(text, encoding="utf-8")
    return changed
