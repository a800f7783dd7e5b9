"""The Neovim chat buffer folds a reasoning model's reasoning: headless Neovim (0.7.2 and 0.12),
the real server, a scripted Thinking model (its own chat template; `<think>` text streamed token
by token).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.unit.assemble.templates import THINKING

from .nvim_versions import NVIM_VERSIONS, nvim_binary
from .test_nvim_plugin import ROOT, codeflow_server

pytestmark = [pytest.mark.timeout(300)]
REPLY = "<think>\nStep one.\nStep two: ```py\nbad()\n```\n</think>\n\nUse `sum`."


@pytest.mark.parametrize("version", [v.id for v in NVIM_VERSIONS])
def test_reasoning_is_folded_in_the_chat_buffer(version: str, tmp_path: Path) -> None:
    nvim = nvim_binary(version)
    script = tmp_path / "script.json"
    # the second answer thought nothing (an empty block, as Qwen3 writes it)
    outputs = [REPLY, "<think>\n\n</think>\n\nPlain answer."]
    script.write_text(json.dumps({"outputs": outputs, "chatTemplate": THINKING}))
    result = tmp_path / "result.json"
    env = {
        **os.environ,
        "CODEFLOW_SERVER": codeflow_server(),
        "CODEFLOW_WORKSPACE": str(tmp_path / "ws"),
        "CODEFLOW_NVIM_RESULT": str(result),
        "CODEFLOW_TEST_COMMANDS": "1",
        "CODEFLOW_TEST_BACKEND": str(script),
        "CODEFLOW_CACHE_DIR": str(tmp_path / "cache"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_CACHE_HOME": str(tmp_path / "xdg-cache"),
    }
    r = subprocess.run(
        [nvim, "--headless", "-u", "NONE", "-i", "NONE", "--cmd", "set rtp+=editors/nvim",
         "-c", "luafile editors/nvim/tests/thinking.lua"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=240,
    )
    assert result.exists(), r.stdout[-3000:] + r.stderr[-3000:]
    data = json.loads(result.read_text())
    failed = [c for c in data["checks"] if not c["ok"]]
    assert not failed, json.dumps(failed, indent=1)[:6000]
    assert len(data["checks"]) == 15
    assert r.returncode == 0
