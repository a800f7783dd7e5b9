"""The Neovim plugin in a real headless Neovim (0.7.2 on Debian bookworm) against the real server.

editors/nvim/tests/run.lua types into a buffer like a user (insert-mode autocmds fire), waits for
the ghost text extmark, compares it with the server's inlineCompletion text, accepts it with
<Tab>, accepts a word and dismisses, checks <Tab> falls through, streams a chat answer into the
chat buffer, cancels a second one, and runs :checkhealth codeflow. It writes a JSON result.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NVIM = shutil.which("nvim")

pytestmark = [
    pytest.mark.skipif(NVIM is None, reason="nvim not installed (CI: apt-get install neovim)"),
    pytest.mark.timeout(900),
]

EXPECTED = [
    "server command",
    "attached",
    "inlineCompletionProvider",
    "status has model/device",
    "extmark text == the server's insertText",
    "didShowCompletion sent",
    "accept inserted the suggestion",
    "extmarks cleared",
    "didAcceptCompletion sent",
    "one didAccept for the word",
    "<Tab> falls through",
    "chat finished",
    "chat streamed deltas",
    "chat buffer holds the answer",
    "chat cancelled",
    "chat buffer says cancelled",
    "checkhealth",
]


def codeflow_server() -> str:
    here = Path(sys.executable).parent / "codeflow"
    return str(here) if here.exists() else (shutil.which("codeflow") or "codeflow")


def test_nvim_plugin_against_real_server(tmp_path: Path) -> None:
    result = tmp_path / "result.json"
    env = {
        **os.environ,
        "CODEFLOW_SERVER": codeflow_server(),
        "CODEFLOW_WORKSPACE": str(tmp_path / "ws"),
        "CODEFLOW_NVIM_RESULT": str(result),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }
    r = subprocess.run(
        [NVIM, "--headless", "-u", "NONE", "-i", "NONE", "--cmd", "set rtp+=editors/nvim",
         "-c", "luafile editors/nvim/tests/run.lua"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=800,
    )
    assert result.exists(), r.stdout[-3000:] + r.stderr[-3000:]
    data = json.loads(result.read_text())
    failed = [c for c in data["checks"] if not c["ok"]]
    assert not failed, json.dumps(failed, indent=1)[:6000]
    assert [c["name"] for c in data["checks"] if c["name"] in EXPECTED] == EXPECTED
    assert data["nvim"].startswith("0.")
    assert data["suggestion"] and data["shown"], "the model's suggestion was shown"
    assert data["chat"]["answer"].strip()
    assert data["chat_cancel"]["finishReason"] == "cancelled"
    assert r.returncode == 0
