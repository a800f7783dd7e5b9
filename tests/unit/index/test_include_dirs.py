"""C/C++ quoted includes resolve through the include dirs of compile_commands.json (before the
nearest file with the same name: the decoys under src/old/ are closer to the includers)."""

from __future__ import annotations

import json
from pathlib import Path

from context.index import WorkspaceIndex


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, "utf-8")


def test_include_found_through_compile_commands(tmp_path: Path) -> None:
    root = (tmp_path / "ws").resolve()
    entries = [
        {"directory": str(root / "build"), "file": str(root / "src/main.c"),
         "command": f"cc -I../include/v1 -iquote {root}/third/q -c ../src/main.c"},
        {"directory": str(root), "file": "src/other.c",
         "arguments": ["cc", "-I", "include/v2", "-c", "src/other.c"]},
    ]
    _write(root, {
        "src/main.c": '#include "api.h"\n#include "quoted.h"\nint main(void) { return 0; }\n',
        "src/other.c": '#include "second.h"\n',
        "include/v1/api.h": "int api(void);\n",
        "src/old/api.h": "int old_api(void);\n",
        "src/old/quoted.h": "int old_quoted(void);\n",
        "src/old/second.h": "int old_second(void);\n",
        "third/q/quoted.h": "int quoted(void);\n",
        "include/v2/second.h": "int second(void);\n",
        "compile_commands.json": json.dumps(entries),
    })
    with WorkspaceIndex(root, store_path=tmp_path / "store.sqlite3") as ix:
        ix.refresh()
        targets = {e.module: e.target for e in ix.imports("src/main.c")}
        assert targets == {"api.h": "include/v1/api.h", "quoted.h": "third/q/quoted.h"}
        assert {e.target for e in ix.imports("src/other.c")} == {"include/v2/second.h"}
