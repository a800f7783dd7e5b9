"""The Neovim plugin's settings object (its defaults are generated from lsp_server/config.py)
reaches the server as the server's own defaults, with the user's values on top, silently."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from lsp_server.config import Config, parse_config

ROOT = Path(__file__).resolve().parents[2]
NVIM = shutil.which("nvim")
pytestmark = pytest.mark.skipif(NVIM is None,
                                reason="nvim not installed (CI: apt-get install neovim)")


def _server_settings(setup_lua: str) -> dict:
    code = (f'local c = require("codeflow.config"); c.set({setup_lua}); '
            "io.stdout:write(vim.fn.json_encode(c.server_settings()))")
    out = subprocess.run([NVIM, "--headless", "-u", "NONE", "-i", "NONE", "--cmd",
                          f"set rtp+={ROOT / 'editors/nvim'}", "-c", f"lua {code}", "-c", "qa!"],
                         capture_output=True, text=True, timeout=60, check=True)
    return json.loads(out.stdout)


def test_defaults_are_the_servers() -> None:
    assert parse_config(_server_settings("{}")) == (Config(), [])


def test_user_settings_go_through() -> None:
    cfg, problems = parse_config(_server_settings(
        '{ settings = { remote = { timeoutS = 90 }, context = { exclude = { "dist/**" } }, '
        'threads = 2 } }'))
    assert problems == []
    assert (cfg.remote.timeout_s, cfg.context.exclude, cfg.threads) == (90.0, ("dist/**",), 2)
