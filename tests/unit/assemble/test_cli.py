"""`codeflow context` end to end: single requests and batches, JSON per the contract."""

from __future__ import annotations

import json

import pytest

from lsp_server.cli import main
from lsp_server.commands.context import utf16_to_codepoints

from .conftest import GEO, dump_model_dir, write_workspace


@pytest.fixture
def setup(tmp_path, tokenizer_path, monkeypatch):
    monkeypatch.setenv("CODEFLOW_CACHE_DIR", str(tmp_path / "cache"))
    ws = write_workspace(tmp_path / "ws", GEO)
    model = dump_model_dir(tmp_path / "model", tokenizer_path)
    return ws, model, tmp_path


def test_batch_prints_one_json_line_per_request_in_order(setup, capsys) -> None:
    ws, model, tmp = setup
    batch = tmp / "req.jsonl"
    reqs = [
        {"file": "geo/main.py", "line": 7, "character": 4, "budget": 1024},
        {"file": "geo/main.py", "line": 5, "character": 11, "budget": 300,
         "text": GEO["geo/main.py"].replace("    s = Shape", "    s = Sha", 1)},
        {"file": "app/cli.py", "line": 4, "character": 4},
    ]
    batch.write_text("".join(json.dumps(r) + "\n" for r in reqs), "utf-8")
    rc = main(["context", "--workspace", str(ws), "--batch", str(batch), "--model", str(model)])
    out = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert rc == 0 and len(out) == 3
    for obj, req in zip(out, reqs, strict=True):
        assert set(obj) == {"prompt_tokens", "sections", "elapsed_ms"}
        assert sum(s["tokens"] for s in obj["sections"]) == obj["prompt_tokens"]
        assert obj["prompt_tokens"] <= req.get("budget", 2048)
        assert all(set(s) == {"kind", "path", "start_line", "end_line", "tokens"}
                   for s in obj["sections"])
        prefix = [s for s in obj["sections"] if s["kind"] == "prefix"]
        assert prefix[-1]["path"] == req["file"]
        assert prefix[-1]["start_line"] == req["line"]
    assert out[0]["sections"][0] == {"kind": "format", "path": None, "start_line": -1,
                                     "end_line": -1, "tokens": 4}
    assert "geo/util.py" in {s["path"] for s in out[0]["sections"]}


def test_single_request_json_and_text(setup, capsys) -> None:
    ws, model, tmp = setup
    buf = tmp / "buffer.py"
    buf.write_text(GEO["geo/main.py"].replace("    edge = util.perimeter(w, h)\n", "    \n"))
    args = ["context", "--workspace", str(ws), "--file", "geo/main.py", "--line", "7",
            "--character", "4", "--model", str(model), "--text-file", str(buf)]
    assert main([*args, "--json", "--budget", "512"]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert obj["prompt_tokens"] <= 512
    assert main(args) == 0
    text = capsys.readouterr().out
    assert text.startswith("<|repo_name|>ws\n") and text.endswith("<|fim_middle|>")
    assert "    total = area(w, h)\n    <|fim_suffix|>\n" in text


def test_bad_model_dir_and_missing_position(setup, capsys) -> None:
    ws, model, tmp = setup
    assert main(["context", "--workspace", str(ws), "--file", "geo/main.py", "--line", "1",
                 "--character", "0", "--model", str(tmp)]) == 2
    assert "needs tokenizer.json" in capsys.readouterr().err
    assert main(["context", "--workspace", str(ws), "--model", str(model)]) == 2
    assert "--file, --line and --character" in capsys.readouterr().err


def test_utf16_columns() -> None:
    assert utf16_to_codepoints("a😀b", 3) == 2
    assert utf16_to_codepoints("abc", 2) == 2
    assert utf16_to_codepoints("ab", 9) == 2
