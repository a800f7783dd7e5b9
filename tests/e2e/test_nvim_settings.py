"""The Neovim plugin's settings object (its defaults are generated from lsp_server/config.py)
reaches the server as the server's own defaults, with the user's values on top, silently."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from lsp_server.config import Config, parse_config

from .nvim_versions import NVIM_VERSIONS, nvim_binary

ROOT = Path(__file__).resolve().parents[2]
VERSIONS = [v.id for v in NVIM_VERSIONS]


def _server_settings(version: str, setup_lua: str) -> dict:
    code = (f'local c = require("codeflow.config"); c.set({setup_lua}); '
            "io.stdout:write(vim.fn.json_encode(c.server_settings()))")
    out = subprocess.run([nvim_binary(version), "--headless", "-u", "NONE", "-i", "NONE", "--cmd",
                          f"set rtp+={ROOT / 'editors/nvim'}", "-c", f"lua {code}", "-c", "qa!"],
                         capture_output=True, text=True, timeout=60, check=True)
    return json.loads(out.stdout)


@pytest.mark.parametrize("version", VERSIONS)
def test_defaults_are_the_servers(version: str) -> None:
    assert parse_config(_server_settings(version, "{}")) == (Config(), [])


@pytest.mark.parametrize("version", VERSIONS)
def test_user_settings_go_through(version: str) -> None:
    cfg, problems = parse_config(_server_settings(version,
        '{ settings = { remote = { timeoutS = 90 }, context = { exclude = { "dist/**" } }, '
        'threads = 2 } }'))
    assert problems == []
    assert (cfg.remote.timeout_s, cfg.context.exclude, cfg.threads) == (90.0, ("dist/**",), 2)
