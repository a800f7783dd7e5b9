"""The `actions` room imports downward only: the standard library and `context`, never the
model (`inference`), the server (`lsp_server`) or LSP types (`lsprotocol`, `pygls`)."""

from __future__ import annotations

import ast
from pathlib import Path

import actions

ROOM = Path(actions.__file__).parent
FORBIDDEN = ("inference", "lsp_server", "lsprotocol", "pygls")


def imported_modules(source: str) -> set[str]:
    """Absolute module names a module's source imports (relative ones resolve inside the room)."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def _forbidden(names: set[str]) -> list[str]:
    return sorted(n for n in names if n.split(".")[0] in FORBIDDEN)


def test_the_scan_sees_every_kind_of_import() -> None:
    source = (
        "import lsprotocol.types\nfrom pygls.uris import from_fs_path\n"
        "def f():\n    from inference.cancel import CancelToken\n"
        "if True:\n    import lsp_server.convert as c\nfrom .lines import lsp_lines\n"
    )
    assert _forbidden(imported_modules(source)) == [
        "inference.cancel",
        "lsp_server.convert",
        "lsprotocol.types",
        "pygls.uris",
    ]


def test_no_module_of_actions_imports_inference_or_lsp() -> None:
    modules = sorted(ROOM.rglob("*.py"))
    assert len(modules) >= 8
    found = {
        p.relative_to(ROOM).as_posix(): _forbidden(imported_modules(p.read_text("utf-8")))
        for p in modules
    }
    assert {path: names for path, names in found.items() if names} == {}
