"""JS/TS import resolution: an imported name is followed to the file that defines it.

Each test builds a small workspace tree, indexes it with the real index and asks
``resolve_symbol`` (what the definitions source uses) where an import in ``app/main.ts`` leads.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from context.index import WorkspaceIndex
from context.retrieve.definitions import ModuleRef, resolve_symbol
from context.retrieve.jsimports import parse_js_imports, reexports
from context.retrieve.view import WorkspaceView

STORE = "codeflow-store.sqlite3"


@pytest.fixture
def ws(tmp_path: Path) -> Iterator:
    """``ws(files)`` -> a WorkspaceView over an index of those files."""
    opened: list[WorkspaceIndex] = []

    def make(files: dict[str, str]) -> WorkspaceView:
        root = tmp_path / "ws"
        for rel, text in files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, "utf-8")
        index = WorkspaceIndex(root, store_path=tmp_path / STORE)
        index.refresh()
        opened.append(index)
        return WorkspaceView(index)

    yield make
    for index in opened:
        index.close()


def _where(view: WorkspaceView, spec: str, name: str | None,
           importer: str = "app/main.ts") -> tuple[str, int] | str | None:
    found = resolve_symbol(view, importer, spec, name or "")
    if found is None:
        return None
    if isinstance(found, ModuleRef):
        return found.path
    return found.path, found.start_line


STORE_TS = "export class Store {\n  get(key: string): number { return 1; }\n}\n"
HELPER_TS = "export function helper(x: number): number {\n  return x + 1;\n}\n"


def test_parse_named_default_namespace_and_require() -> None:
    text = ("import Def, { a, b as c, type T } from './x';\n"
            "import * as ns from \"../y\";\n"
            "import {\n  multi,\n  line as ml\n} from './z';\n"
            "const { r } = require('./r');\nconst whole = require('./w');\n")
    got = {(b.alias, b.module, b.name) for b in parse_js_imports(text)}
    assert got == {("Def", "./x", "default"), ("a", "./x", "a"), ("c", "./x", "b"),
                   ("T", "./x", "T"), ("ns", "../y", None), ("multi", "./z", "multi"),
                   ("ml", "./z", "line"), ("r", "./r", "r"), ("whole", "./w", None)}


def test_parse_reexports() -> None:
    lines = ["export * from './a';\n", "export * as ns from './b';\n",
             "export { x as y, z } from './c';\n", "export { local as renamed };\n",
             "export default Store;\n"]
    got = [(r.alias, r.spec, r.name) for r in reexports(lines)]
    assert got == [("*", "./a", None), ("ns", "./b", None), ("y", "./c", "x"),
                   ("z", "./c", "z"), ("renamed", None, "local"), ("default", None, "Store")]


def test_relative_file_with_js_extension_spec(ws) -> None:
    view = ws({"app/main.ts": "import { helper } from './util/helper.js';\n",
               "app/util/helper.ts": HELPER_TS})
    assert _where(view, "./util/helper.js", "helper") == ("app/util/helper.ts", 0)


def test_index_folder(ws) -> None:
    view = ws({"app/main.ts": "", "app/store/index.ts": STORE_TS})
    assert _where(view, "./store", "Store") == ("app/store/index.ts", 0)


def test_barrel_export_star_followed_transitively(ws) -> None:
    view = ws({
        "app/main.ts": "",
        "app/internal.ts": "export * from './a';\nexport * from './deep';\n",
        "app/a.ts": "export const A_VALUE = 1;\n",
        "app/deep/index.ts": "export * from './store';\n",
        "app/deep/store.ts": STORE_TS,
    })
    assert _where(view, "./internal", "Store") == ("app/deep/store.ts", 0)
    assert _where(view, "./internal", "Missing") is None


def test_renamed_reexport_and_default(ws) -> None:
    view = ws({
        "app/main.ts": "",
        "app/api.ts": "export { helper as assist } from './helper';\n"
                      "export { default as TheStore } from './store';\n",
        "app/helper.ts": HELPER_TS,
        "app/store.ts": "class Store {\n  get(): number { return 1; }\n}\nexport default Store;\n",
    })
    assert _where(view, "./api", "assist") == ("app/helper.ts", 0)
    assert _where(view, "./api", "TheStore") == ("app/store.ts", 0)
    assert _where(view, "./store", "default") == ("app/store.ts", 0)


def test_imported_then_exported(ws) -> None:
    view = ws({"app/main.ts": "",
               "app/api.ts": "import { helper } from './helper';\nexport { helper };\n",
               "app/helper.ts": HELPER_TS})
    assert _where(view, "./api", "helper") == ("app/helper.ts", 0)


def test_reexport_cycle_terminates(ws) -> None:
    view = ws({"app/main.ts": "", "app/a.ts": "export * from './b';\n",
               "app/b.ts": "export * from './a';\n"})
    assert _where(view, "./a", "Nothing") is None


def test_tsconfig_paths_and_base_url_with_extends(ws) -> None:
    base = {"compilerOptions": {"baseUrl": ".", "paths": {"@lib/*": ["lib/src/*"]}}}
    view = ws({
        "tsconfig.base.json": json.dumps(base),
        "tsconfig.json": '{\n  // comments and trailing commas, as tsc allows\n'
                         '  "extends": "./tsconfig.base.json",\n}\n',
        "app/main.ts": "",
        "lib/src/store.ts": STORE_TS,
        "shared/helper.ts": HELPER_TS,
    })
    assert _where(view, "@lib/store", "Store") == ("lib/src/store.ts", 0)
    assert _where(view, "shared/helper", "helper") == ("shared/helper.ts", 0)
    assert _where(view, "react", "useState") is None


def test_workspace_package_exports_and_main(ws) -> None:
    view = ws({
        "app/main.ts": "",
        "packages/core/package.json": json.dumps(
            {"name": "@acme/core", "exports": {".": {"types": "./src/index.ts"},
                                               "./store": "./src/store.ts"}}),
        "packages/core/src/index.ts": "export * from './helper';\n",
        "packages/core/src/helper.ts": HELPER_TS,
        "packages/core/src/store.ts": STORE_TS,
        "packages/util/package.json": json.dumps({"name": "util", "main": "lib/main.js"}),
        "packages/util/lib/main.js": "function clamp(x) {\n  return x;\n}\n",
    })
    assert _where(view, "@acme/core", "helper") == ("packages/core/src/helper.ts", 0)
    assert _where(view, "@acme/core/store", "Store") == ("packages/core/src/store.ts", 0)
    assert _where(view, "util", None) == "packages/util/lib/main.js"
