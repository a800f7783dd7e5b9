"""The VS Code chat page with a reasoning model, in headless Chromium against the real server
(a scripted Thinking model): the reasoning sits in a collapsed "Thinking" section above the
answer, with its time, and only the answer's code is offered to apply
(vscode-extension/test/webview/thinking.ts)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from .test_vscode_extension import CHROMIUM, NODE, codeflow_server, installed, run

__all__ = ["installed"]  # the module's fixture, used below

pytestmark = [
    pytest.mark.skipif(NODE is None, reason="node not installed"),
    pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (CI: apt-get chromium)"),
    pytest.mark.timeout(900),
]


def test_reasoning_collapsed_above_the_answer(installed: Path, tmp_path: Path) -> None:
    r = run([NODE, "scripts/build.mjs", "--tests"])
    assert r.returncode == 0, r.stderr[-3000:]
    shot = Path(os.environ.get("CODEFLOW_SCREENSHOT_DIR", tmp_path)) / "chat-thinking.png"
    r = run(
        [NODE, "dist-test/thinking.js"],
        timeout=600,
        env={
            "CODEFLOW_SERVER": f"{codeflow_server()} serve",
            "CHROMIUM": str(CHROMIUM),
            "CODEFLOW_SCREENSHOT": str(shot),
            "XDG_CACHE_HOME": str(tmp_path / "cache"),
        },
    )
    assert r.returncode == 0, r.stdout[-3000:] + "\n" + r.stderr[-6000:]
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    assert summary["ok"] is True
    assert summary["summary"].startswith("Thought for ")
    assert summary["reasoningPieces"] > 10 and summary["answerPieces"] > 10
    assert shot.stat().st_size > 5000
    assert shot.with_name("chat-thinking-open.png").stat().st_size > shot.stat().st_size
