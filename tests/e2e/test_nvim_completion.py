"""Headless Neovim's built-in LSP client (no plugin; on 0.7.2 and 0.12) asks `codeflow serve` for
`textDocument/completion` and gets the bundled model's suggestion as a completion item; the
item's text is exactly what `codeflow complete` prints for the same file and position."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from inference import default_model_dir

from .nvim_versions import NVIM_VERSIONS, nvim_binary

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).parent / "nvim" / "completion_fallback.lua"
DRAFT = '''from inventory.models import Item, Stock


def restock(stock: Stock, item: Item, quantity: int) -> None:
    """Add quantity of item to the stock."""
    '''

pytestmark = [
    pytest.mark.skipif(
        not (default_model_dir() / "model.onnx").exists(), reason="bundled model not built"
    ),
    pytest.mark.timeout(300),
]


def _server() -> str:
    exe = Path(sys.executable).parent / "codeflow"
    return str(exe) if exe.exists() else shutil.which("codeflow") or "codeflow"


@pytest.mark.parametrize("version", [v.id for v in NVIM_VERSIONS])
def test_neovim_gets_the_models_item_through_textdocument_completion(
    version: str, tmp_path: Path
) -> None:
    nvim = nvim_binary(version)
    ws = tmp_path / "ws"
    shutil.copytree(ROOT / "examples" / "inventory", ws)
    draft = ws / "inventory" / "draft.py"
    draft.write_text(DRAFT, encoding="utf-8")
    line, col = DRAFT.count("\n"), len(DRAFT.split("\n")[-1])
    env = dict(os.environ, CODEFLOW_CACHE_DIR=str(tmp_path / "cache"), CODEFLOW_TEST_COMMANDS="1",
               CODEFLOW_SERVER=_server(), CODEFLOW_OUT=str(tmp_path / "out.json"),
               CODEFLOW_FILE=str(draft), CODEFLOW_ROOT=str(ws), CODEFLOW_LINE=str(line),
               CODEFLOW_COL=str(col))
    subprocess.run([nvim, "--headless", "-u", "NONE", "-i", "NONE", "-c", f"luafile {SCRIPT}"],
                   env=env, timeout=240, check=True, capture_output=True)
    got = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    assert got["ok"] is True, got
    assert got["completion_provider"] is True
    [item] = got["items"]
    assert item["detail"] == "codeflow"
    edit = item["textEdit"]
    assert edit["range"]["start"] == {"line": line, "character": col}
    cli = subprocess.run(
        [_server(), "complete", "--workspace", str(ws), "--file", "inventory/draft.py",
         "--line", str(line), "--character", str(col), "--json"],
        env=dict(env, CODEFLOW_CACHE_DIR=str(tmp_path / "cache-cli")), timeout=120, check=True,
        capture_output=True, text=True,
    )
    expected = json.loads(cli.stdout.strip().splitlines()[-1])["text"]
    assert expected.strip() != ""
    assert edit["newText"] == expected
