"""The VS Code extension, built and tested with its real toolchain.

npm ci → tsc --noEmit → vitest (the extension's logic, in node) → esbuild bundle → vsce package,
then the extension itself (activate, LanguageClient, inline completions, chat view, settings
changes) on a `vscode` stub in node against a real `codeflow serve`, and the chat webview page in
headless Chromium (playwright-core, the system chromium) talking through the extension's
ChatController to a real server over stdio.
VS Code itself is not launched (it cannot be downloaded here); see vscode-extension/README.md.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from lsp_server.schema import vscode_configuration

ROOT = Path(__file__).resolve().parents[2]
EXT = ROOT / "vscode-extension"
NODE = shutil.which("node")
NPM = shutil.which("npm")
CHROMIUM = (
    os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
)

pytestmark = [
    pytest.mark.skipif(
        NODE is None or NPM is None,
        reason="node/npm not installed (CI: Node 20 + npm come with the image)",
    ),
    pytest.mark.timeout(900),
]


def run(cmd: list[str], timeout: int = 600, env: dict[str, str] | None = None):
    return subprocess.run(
        cmd,
        cwd=EXT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def codeflow_server() -> str:
    here = Path(sys.executable).parent / "codeflow"
    return str(here) if here.exists() else (shutil.which("codeflow") or "codeflow")


@pytest.fixture(scope="module")
def installed() -> Path:
    r = run([NPM, "ci", "--no-audit", "--no-fund"])
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert (EXT / "node_modules" / "vscode-languageclient" / "package.json").exists()
    return EXT


def test_typecheck(installed: Path) -> None:
    r = run(["npx", "tsc", "--noEmit", "-p", "."])
    assert r.returncode == 0, r.stdout[-4000:]
    assert r.stdout.strip() == ""


def test_unit_tests(installed: Path, tmp_path: Path) -> None:
    report = tmp_path / "vitest.json"
    r = run(["npx", "vitest", "run", "--reporter=json", f"--outputFile={report}"])
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    data = json.loads(report.read_text())
    assert data["numFailedTests"] == 0
    assert data["numPassedTests"] >= 30
    files = {Path(t["name"]).name for t in data["testResults"]}
    for name in (
        "settings",
        "serverCommand",
        "markdown",
        "history",
        "status",
        "chatController",
        "acceptance",
    ):
        assert f"{name}.test.ts" in files


def test_bundle_and_vsix(installed: Path) -> None:
    vsix = EXT / "codeflow.vsix"
    vsix.unlink(missing_ok=True)
    r = run(
        ["npx", "vsce", "package", "--no-dependencies", "--skip-license", "-o", "codeflow.vsix"]
    )
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    with zipfile.ZipFile(vsix) as z:
        names = set(z.namelist())
        manifest = json.loads(z.read("extension/package.json"))
        bundle = z.read("extension/dist/extension.js").decode()
    for f in (
        "extension/dist/extension.js",
        "extension/dist/webview.js",
        "extension/dist/webview.css",
    ):
        assert f in names
    assert not any("node_modules" in n or n.endswith(".map") or "/src/" in n for n in names)
    assert manifest["engines"]["vscode"] == "^1.91.0"
    assert manifest["main"] == "./dist/extension.js"
    # every setting, as lsp_server/config.py declares it (types, defaults, limits, descriptions)
    assert manifest["contributes"]["configuration"] == vscode_configuration()
    assert manifest["contributes"]["views"]["codeflow"][0] == {
        "type": "webview",
        "id": "codeflow.chat",
        "name": "Chat",
    }
    # The client library is bundled; only `vscode` stays external.
    assert 'require("vscode")' in bundle
    assert "textDocument/inlineCompletion" in bundle


def test_extension_host_smoke(installed: Path, tmp_path: Path) -> None:
    """src/extension.ts + vscode-languageclient on a `vscode` stub, against the real server."""
    r = run([NODE, "scripts/build.mjs", "--tests"])
    assert r.returncode == 0, r.stderr[-3000:]
    env = {"CODEFLOW_SERVER": codeflow_server(), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    r = run([NODE, "test/host/start.cjs"], timeout=600, env=env)
    assert r.returncode == 0, r.stdout[-3000:] + "\n" + r.stderr[-6000:]
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    assert summary["ok"] is True
    assert summary["inline"], (
        "an inline completion came through the client's inlineCompletion feature"
    )
    assert summary["chat"]["deltas"] >= 1 and summary["chat"]["answerChars"] > 0
    assert "does not exist or is not executable" in summary["missingServer"]


@pytest.mark.skipif(
    CHROMIUM is None, reason="chromium not installed (CI: apt-get install chromium)"
)
def test_chat_webview_in_chromium(installed: Path, tmp_path: Path) -> None:
    r = run([NODE, "scripts/build.mjs", "--tests"])
    assert r.returncode == 0, r.stderr[-3000:]
    shot = Path(os.environ.get("CODEFLOW_SCREENSHOT_DIR", tmp_path)) / "chat-panel.png"
    r = run(
        [NODE, "dist-test/run.js"],
        timeout=600,
        env={
            "CODEFLOW_SERVER": f"{codeflow_server()} serve",
            "CHROMIUM": CHROMIUM,
            "CODEFLOW_SCREENSHOT": str(shot),
            "XDG_CACHE_HOME": str(tmp_path / "cache"),
        },
    )
    assert r.returncode == 0, r.stdout[-3000:] + "\n" + r.stderr[-6000:]
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    assert summary["ok"] is True
    assert summary["answer"].strip(), "the model's answer rendered"
    assert summary["deltas"] >= 1
    assert summary["cancelledAfterChars"] >= 0 and summary["cancelMs"] < 30000
    assert shot.stat().st_size > 5000
