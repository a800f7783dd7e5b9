"""The Neovim plugin in a real headless Neovim (0.7.2 on Debian bookworm) against the real server.

editors/nvim/tests/run.lua types into a buffer like a user (insert-mode autocmds fire), waits for
the ghost text extmark, compares it with the server's inlineCompletion text, accepts it with
<Tab>, accepts a word and dismisses, checks <Tab> falls through, streams a chat answer into the
chat buffer, cancels a second one, runs a failing pytest test (:CodeflowRunTests → diagnostic)
and resolves its "Fix ... with codeflow" action (:CodeflowFix), and runs :checkhealth codeflow.
It writes a JSON result.
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
    "next_word_len",
    "next_line_len",
    "sanitize",
    "utf16_len",
    "visible_part",
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
    "chat request sent",
    "chat params: selection, @reference, history",
    "chat finished",
    "chat streamed deltas",
    "chat buffer holds the answer",
    "chat cancelled",
    "chat buffer says cancelled",
    "failing test is a diagnostic",
    "'Fix with codeflow' offered and resolved",
    "fix edit applied when the server made one",
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
        [
            NVIM,
            "--headless",
            "-u",
            "NONE",
            "-i",
            "NONE",
            "--cmd",
            "set rtp+=editors/nvim",
            "-c",
            "luafile editors/nvim/tests/run.lua",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=800,
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


@pytest.mark.skipif(
    shutil.which("tmux") is None, reason="tmux not installed (CI: apt-get install tmux)"
)
def test_ghost_text_on_a_real_terminal_screen(tmp_path: Path) -> None:
    """Neovim in tmux: the ghost text is on screen (capture-pane) and not in the buffer file."""
    out = Path(os.environ.get("CODEFLOW_CAPTURE_DIR", tmp_path)) / "nvim-ghost-text.txt"
    r = subprocess.run(
        ["bash", "editors/nvim/tests/tmux_ghost.sh", str(out)],
        cwd=ROOT,
        env={**os.environ, "CODEFLOW_SERVER": codeflow_server()},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    text = out.read_text()
    header, screen = text.split("# ---- tmux capture-pane ----\n", 1)
    ghost_lines = [ln[4:] for ln in header.splitlines()[1:] if ln.startswith("#   ")]
    first = next(ln.strip() for ln in ghost_lines if ln.strip())
    assert first[:20] in screen, (first, screen)
    assert "-- INSERT --" in screen
