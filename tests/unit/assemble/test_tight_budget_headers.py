"""A tight budget goes to the headers of the names the line will likely use next: a 600-line
class used in the scope does not crowd out three functions imported (through a barrel file) and
not yet used (TS)."""

from __future__ import annotations

from pathlib import Path

from context.assemble import Assembler, PromptRequest
from context.index import WorkspaceIndex

from .conftest import model_json, write_workspace

BIG_CLASS = "export class Engine {\n" + "".join(
    f"  step{i}(x: number): number {{\n    return x + {i};\n  }}\n" for i in range(200)) + "}\n"
BARREL = {f"app/lib/{name}.ts": f"export function {name}(v: number): number {{\n"
          + "".join(f"  v = v * {k} + 1;\n" for k in range(30)) + "  return v;\n}\n"
          for name in ("scale", "clamp", "shift")}
BARREL["app/lib/index.ts"] = "".join(f"export * from './{n}';\n" for n in ("scale", "clamp",
                                                                           "shift"))
MAIN = ("import { Engine } from './engine';\nimport { scale, clamp, shift } from './lib';\n\n"
        "export function run(e: Engine, n: number): number {\n  const a = e.step1(n);\n"
        "  \n  return a;\n}\n")


def test_three_headers_survive_a_long_class(tmp_path: Path, tokenizer_path: Path) -> None:
    root = write_workspace(tmp_path / "ws", {"app/engine.ts": BIG_CLASS, **BARREL,
                                             "app/main.ts": MAIN})
    index = WorkspaceIndex(root, store_path=tmp_path / "s.sqlite3")
    index.refresh()
    try:
        asm = Assembler(index, None, tokenizer_path, model_json("iquest"))
        prompt = asm.build(PromptRequest("app/main.ts", MAIN, 6, 2, 700))
    finally:
        index.close()
    assert prompt.prompt_tokens <= 700
    context = "".join(s.text for s in prompt.sections if s.path and s.path != "app/main.ts")
    for name in ("scale", "clamp", "shift"):
        assert f"export function {name}(v: number): number {{" in context
    assert len(BIG_CLASS) > 4 * len(context)
