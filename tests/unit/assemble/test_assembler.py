"""The assembler end to end on the real index: layout, budgets, ids, formats, stability."""

from __future__ import annotations

from pathlib import Path

import pytest
from tokenizers import Tokenizer

from context.assemble import (
    ZWSP,
    Assembler,
    BuildCancelled,
    ChatMessage,
    PromptFormat,
    PromptRequest,
)
from context.index import WorkspaceIndex

from .conftest import GEO, MAIN, model_json, write_workspace

BLANKED = MAIN.replace("    edge = util.perimeter(w, h)\n", "    \n")  # cursor at (7, 4)


def build(index: WorkspaceIndex | None, tok: Path, fim: str = "iquest", text: str = BLANKED,
          line: int = 7, col: int = 4, budget: int = 2048, **kw: object):
    asm = Assembler(index, None, tok, model_json(fim))
    return asm, asm.build(PromptRequest("geo/main.py", text, line, col, budget, **kw))


def encode(tok: Path, text: str) -> tuple[int, ...]:
    return tuple(Tokenizer.from_file(str(tok)).encode(text, add_special_tokens=False).ids)


def test_iquest_repo_level_layout_and_exact_ids(geo_index, tokenizer_path) -> None:
    _, p = build(geo_index, tokenizer_path)
    assert p.text.startswith("<|repo_name|>ws\n<|file_sep|>")
    assert p.text.endswith("    return 1\n<|fim_middle|>")
    assert "<|file_sep|>geo/main.py\n<|fim_prefix|>from geo.util import area" in p.text
    assert "    total = area(w, h)\n    <|fim_suffix|>\n    return s.describe()" in p.text
    assert "def perimeter(width, height):\n" in p.text
    assert p.fim is True
    assert sum(s.tokens for s in p.sections) == p.prompt_tokens == len(p.ids)
    assert p.ids == encode(tokenizer_path, p.text)
    assert "".join(s.text for s in p.sections) == p.text


def test_sections_in_prompt_order_with_stable_material_first(geo_index, tokenizer_path) -> None:
    _, p = build(geo_index, tokenizer_path)
    kinds = [s.kind for s in p.sections]
    assert kinds[0] == "format"
    assert kinds[-5:] == ["prefix", "prefix", "format", "suffix", "format"]
    content = [s for s in p.sections if s.kind not in ("format", "prefix", "suffix")]
    assert {s.path for s in content} == {"geo/util.py", "app/cli.py"}
    assert all(s.path is None and s.start_line == -1 for s in p.sections if s.kind == "format")
    prefix = [s for s in p.sections if s.kind == "prefix"]
    assert [(s.path, s.start_line, s.end_line) for s in prefix] == [
        ("geo/main.py", 0, 6), ("geo/main.py", 7, 7)]


@pytest.mark.parametrize("budget", [64, 128, 200, 333, 1000, 4096])
def test_budget_is_never_exceeded_and_counts_are_exact(geo_index, tokenizer_path, budget) -> None:
    _, p = build(geo_index, tokenizer_path, budget=budget)
    assert p.prompt_tokens <= budget
    assert p.prompt_tokens == sum(s.tokens for s in p.sections) == len(p.ids)
    assert p.ids == encode(tokenizer_path, p.text)


def test_small_budget_keeps_enclosing_header_when_top_is_cut(tmp_path, tokenizer_path) -> None:
    body = "".join(f"        v{i} = compute(v{i - 1}, {i})\n" for i in range(1, 120))
    text = f"import os\n\n\nclass Big:\n    def method(self, v0):\n{body}        \n"
    _, p = build(None, tokenizer_path, text=text, line=124, col=8, budget=256)
    prefix = [s for s in p.sections if s.kind == "prefix"]
    assert prefix[0].text == "class Big:\n    def method(self, v0):\n"
    assert (prefix[0].start_line, prefix[0].end_line) == (3, 4)
    assert prefix[1].start_line % 4 == 0 and prefix[1].end_line == 123
    assert "import os" not in p.text
    assert p.prompt_tokens <= 256


def test_special_tokens_in_files_are_neutralised(tmp_path, tokenizer_path) -> None:
    evil = 'MARK = "<|fim_prefix|> and <|endoftext|>"\n'
    root = write_workspace(tmp_path / "ws", {**GEO, "geo/util.py": evil + GEO["geo/util.py"]})
    index = WorkspaceIndex(root, store_path=tmp_path / "s.sqlite3")
    index.refresh()
    try:
        text = BLANKED.replace("def report", "# <|file_sep|> in a comment\ndef report")
        asm, p = build(index, tokenizer_path, text=text, line=8)
    finally:
        index.close()
    ids = asm.tokens.tokenizer
    specials = {t: ids.token_to_id(t) for t in ("<|fim_prefix|>", "<|endoftext|>",
                                                "<|file_sep|>")}
    assert p.ids.count(specials["<|fim_prefix|>"]) == 1
    assert p.ids.count(specials["<|endoftext|>"]) == 0
    assert p.ids.count(specials["<|file_sep|>"]) == p.text.count("<|file_sep|>")
    assert f"# <{ZWSP}|file_sep|> in a comment" in p.text
    assert f'MARK = "<{ZWSP}|fim_prefix|> and <{ZWSP}|endoftext|>"' in p.text


@pytest.mark.parametrize(("fim", "start", "end"), [
    ("starcoder2", "<repo_name>ws<file_sep>", "    return 1\n<fim_middle>"),
    ("deepseek", "<｜begin▁of▁sentence｜><｜fim▁begin｜># ", "    return 1\n<｜fim▁end｜>"),
    ("codellama", "<s><PRE> # ", "    return 1\n <MID>"),
    ("none", "# ", "    total = area(w, h)\n    "),
])
def test_other_formats(geo_index, tokenizer_path, fim, start, end) -> None:
    _, p = build(geo_index, tokenizer_path, fim=fim)
    assert p.text.startswith(start)
    assert p.text.endswith(end)
    assert p.fim is (fim != "none")
    assert sum(s.tokens for s in p.sections) == p.prompt_tokens


def test_starcoder2_current_file_header(geo_index, tokenizer_path) -> None:
    _, p = build(geo_index, tokenizer_path, fim="starcoder2")
    assert "<file_sep><fim_prefix>geo/main.py\nfrom geo.util import" in p.text


def test_chat_layout_messages_and_stops(geo_index, tokenizer_path) -> None:
    msgs = (ChatMessage("user", "What does report return?"), ("assistant", "A tuple."),
            ChatMessage("user", "Explain <|im_end|> please"))
    _, p = build(geo_index, tokenizer_path, kind="chat", messages=msgs, budget=4096)
    assert p.text.startswith("<|im_start|>system\nYou are a coding assistant")
    assert p.text.endswith(
        "<|im_start|>user\nWhat does report return?<|im_end|>\n<|im_start|>assistant\nA tuple."
        f"<|im_end|>\n<|im_start|>user\nExplain <{ZWSP}|im_end|> please<|im_end|>\n"
        "<|im_start|>assistant\n")
    assert "### Current file: geo/main.py (cursor at line 8)" in p.text
    assert p.fim is False
    assert p.stop == ("<|im_end|>", "<|endoftext|>", "<|im_start|>")
    assert [s.kind for s in p.sections].count("message") == 3


def test_stop_strings_of_formats() -> None:
    assert PromptFormat.from_model_json(model_json("iquest")).stop_strings == (
        "<|endoftext|>", "<|file_sep|>", "<|repo_name|>", "<|fim_prefix|>", "<|fim_suffix|>",
        "<|fim_middle|>", "<|im_end|>", "<|im_start|>")
    assert PromptFormat.from_model_json(model_json("codellama")).stop_strings[:2] == (
        "</s>", "<EOT>")
    with pytest.raises(ValueError, match="unknown prompt_format.fim"):
        PromptFormat.from_model_json(model_json("gpt9"))


def test_deterministic_across_assemblers(geo_index, tokenizer_path) -> None:
    _, a = build(geo_index, tokenizer_path)
    _, b = build(geo_index, tokenizer_path)
    assert a.ids == b.ids and a.sections == b.sections


def test_typing_keeps_everything_before_the_cursor_line(geo_index, tokenizer_path) -> None:
    asm = Assembler(geo_index, None, tokenizer_path, model_json("iquest"))
    typed = "edge = util.perimeter(w, h)"
    prev = None
    for n in range(len(typed) + 1):
        text = BLANKED.replace("    \n    return s", f"    {typed[:n]}\n    return s", 1)
        p = asm.build(PromptRequest("geo/main.py", text, 7, 4 + n, 2048))
        stable = [s for s in p.sections if not (s.kind == "prefix" and s.start_line == 7)]
        stable = stable[: stable.index(next(s for s in stable if s.kind == "suffix")) - 1]
        if prev is not None:
            assert stable == prev
        prev = stable
    assert asm.tokens._ids.hits > 0


def test_without_index_or_history_only_the_current_file(tokenizer_path) -> None:
    _, p = build(None, tokenizer_path)
    assert {s.kind for s in p.sections} == {"format", "prefix", "suffix"}


def test_cancelled_request_raises(geo_index, tokenizer_path) -> None:
    class Tripped:
        cancelled = True

    with pytest.raises(BuildCancelled):
        build(geo_index, tokenizer_path, cancel=Tripped())


def test_retrieval_weights_switch_sources_off(geo_index, tokenizer_path) -> None:
    from context.assemble import AssemblerConfig

    cfg = AssemblerConfig().with_weights("completion", definitions=0.0, similar=0.0,
                                         repo_map=0.0, flow=0.0)
    asm = Assembler(geo_index, None, tokenizer_path, model_json("iquest"), config=cfg)
    p = asm.build(PromptRequest("geo/main.py", BLANKED, 7, 4, 2048))
    assert [s.kind for s in p.sections if s.path and s.path != "geo/main.py"] == ["usage"]


def _workspace_index(tmp_path: Path, files: dict[str, str]) -> WorkspaceIndex:
    root = write_workspace(tmp_path / "ws", files)
    index = WorkspaceIndex(root, store_path=tmp_path / "s.sqlite3")
    index.refresh()
    return index


LONG_DOC = "".join(f"    {' '.join(f'word{i}x{j}' for j in range(40))}\n" for i in range(3))
BIG = "def crunch(data, scale):\n    \"\"\"Crunch it.\n" + LONG_DOC + "    \"\"\"\n" + "".join(
    f"    data = data + {i} * scale  # step {i}\n" for i in range(60)) + "    return data\n"


def test_too_big_definition_falls_back_to_its_signature(tmp_path, tokenizer_path) -> None:
    user = "from lib import crunch\n\n\ndef run(xs):\n    ys = crunch(xs, 2)\n    \n"
    index = _workspace_index(tmp_path, {"lib.py": BIG, "app.py": user})
    try:
        asm = Assembler(index, None, tokenizer_path, model_json("iquest"))
        p = asm.build(PromptRequest("app.py", user, 5, 4, 700))
    finally:
        index.close()
    defs = [s for s in p.sections if s.path == "lib.py" and s.kind == "definition"]
    assert [s.text for s in defs] == ["def crunch(data, scale):\n    ...\n"]
    assert p.prompt_tokens <= 700


def test_unused_module_import_brings_its_outline_most_used_first(tmp_path, tokenizer_path) -> None:
    lib = "".join(f"def f{i}(x):\n    return x + {i}\n\n\n" for i in range(40))
    other = "import lib\n\n\ndef g():\n    return lib.f37(1) + lib.f37(2) + lib.f5(3)\n"
    user = "import lib\n\n\ndef run(xs):\n    \n"
    index = _workspace_index(tmp_path, {"lib.py": lib, "other.py": other, "app.py": user})
    try:
        asm = Assembler(index, None, tokenizer_path, model_json("iquest"))
        p = asm.build(PromptRequest("app.py", user, 4, 4, 2048))
    finally:
        index.close()
    outline = next(s for s in p.sections if s.kind == "outline")
    assert outline.path == "lib.py"
    assert outline.text.splitlines()[:3] == ["def f37(x):", "def f5(x):", "def f0(x):"]


def test_module_outline_lists_private_names_used_through_the_module(
    tmp_path, tokenizer_path
) -> None:
    lib = ("def _helper(x):\n    return x\n\n\ndef _unused(x):\n    return x\n\n\n"
           "def public(x):\n    return x\n")
    other = "import lib\n\n\ndef g():\n    return lib._helper(1) + lib._helper(2)\n"
    user = "import lib\n\n\ndef run(xs):\n    \n"
    index = _workspace_index(tmp_path, {"lib.py": lib, "other.py": other, "app.py": user})
    try:
        asm = Assembler(index, None, tokenizer_path, model_json("iquest"))
        p = asm.build(PromptRequest("app.py", user, 4, 4, 2048))
    finally:
        index.close()
    outline = next(s for s in p.sections if s.kind == "outline")
    assert outline.path == "lib.py"
    assert outline.text.splitlines() == ["def _helper(x):", "def public(x):"]


def test_attributes_of_a_from_imported_module_bring_their_definitions(
    tmp_path, tokenizer_path
) -> None:
    lib = "".join(f"def f{i}(x):\n    return x + {i}\n\n\n" for i in range(60))
    lib += "def _check(sock):\n    return sock\n"
    user = ("from pkg import lib\n\n\ndef a(s):\n    lib._check(s)\n\n\n"
            "def run(s):\n    \n")
    files = {"pkg/__init__.py": "", "pkg/lib.py": lib, "app.py": user}
    index = _workspace_index(tmp_path, files)
    try:
        asm = Assembler(index, None, tokenizer_path, model_json("iquest"))
        p = asm.build(PromptRequest("app.py", user, 8, 4, 2048))
    finally:
        index.close()
    defs = [s.text for s in p.sections if s.path == "pkg/lib.py" and s.kind == "definition"]
    assert any("def _check(sock):" in t for t in defs)


def test_blank_line_at_column_zero_inside_a_body_keeps_the_scope() -> None:
    from context.retrieve import Cursor, scope_span

    text = "def f(a):\n    x = 1\n\n    return x\n"
    assert scope_span(Cursor.of(text, 2, 0)) == (0, 3)


def test_history_and_edit_ring_sections(tmp_path, tokenizer_path) -> None:
    import subprocess

    from context.history import EditRing, History

    root = write_workspace(tmp_path / "ws", {**GEO, ".env": "TOKEN=x\n"})
    git = ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@e"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "geo: first"], check=True)
    (root / "app" / "cli.py").write_text(GEO["app/cli.py"] + "\n\ndef extra():\n    pass\n")
    index = WorkspaceIndex(root, store_path=tmp_path / "s.sqlite3")
    index.refresh()
    history = History(root, store_path=tmp_path / "h.sqlite3")
    history.ingest()
    ring = EditRing()
    ring.record("geo/util.py", 10, "def perimeter(width, height):\n",
                "def perimeter(width, height, depth=0):\n")
    ring.record(".env", 0, "TOKEN=x\n", "TOKEN=secret\n")
    try:
        asm = Assembler(index, history, tokenizer_path, model_json("iquest"), edit_ring=ring)
        p = asm.build(PromptRequest("geo/main.py", BLANKED, 7, 4, 4096))
    finally:
        history.close()
        index.close()
    kinds = [(s.kind, s.path) for s in p.sections if s.kind not in ("format", "prefix", "suffix")]
    assert ("uncommitted", "app/cli.py") in kinds
    assert ("edit", "geo/util.py") in kinds
    assert all(path != ".env" for _, path in kinds)
    assert "+def extra():" in p.text and "+def perimeter(width, height, depth=0):" in p.text
    edit_at = kinds.index(("edit", "geo/util.py"))
    assert all(k in ("similar", "edit", "definition") for k, _ in kinds[edit_at:])


def test_long_conversations_drop_their_oldest_turns(geo_index, tokenizer_path) -> None:
    old = ("user", "blah " * 2000)
    msgs = (old, ("assistant", "ok"), ("user", "Now what?"))
    _, p = build(geo_index, tokenizer_path, kind="chat", messages=msgs, budget=1024)
    assert [s.text for s in p.sections if s.kind == "message"] == ["ok", "Now what?"]
    assert p.prompt_tokens <= 1024


def test_public_names() -> None:
    import context
    import context.assemble
    import context.retrieve

    assert set(context.__all__) <= set(context.assemble.__all__)
    assert {"Assembler", "Prompt", "PromptFormat", "PromptRequest", "Section"} <= set(
        context.__all__)
    for mod in (context, context.assemble, context.retrieve):
        assert all(hasattr(mod, name) for name in mod.__all__)
