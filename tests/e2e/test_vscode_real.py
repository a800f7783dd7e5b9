"""The VS Code extension in a real VS Code: code-server 4.139.1 (VS Code 1.139.1) in headless
Chromium, driven by playwright-core, the extension installed from its `.vsix`, the real
`codeflow serve` spawned by the extension host over stdio.

1. ghost text: type a function header in a git workspace; the inline suggestion appears, equals
   what `codeflow complete` returns at that position, and Tab puts it into the document;
2. chat: the panel streams an answer; a second question is cancelled mid-stream;
3. fix: run the tests command on a failing pytest test; the diagnostic is at the assertion line,
   the lightbulb offers "Fix failing test", and choosing it applies the verified patch;
4. the status bar item shows the model, and shows indexing while the server indexes.
Steps 2 and 3 drive the model with the scripted backend of the LSP tests (deterministic).
Node 24 and code-server are installed once into a cache dir (tests/e2e/install_code_server.sh).
Screenshots land in the test's tmp dir (printed), and in $CODEFLOW_E2E_ARTIFACTS when set.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.unit.features.fixflow import GOOD_MEAN, WRONG_MEAN, answer, make_workspace

ROOT = Path(__file__).resolve().parents[2]
EXT = ROOT / "vscode-extension"
HERE = Path(__file__).resolve().parent
INSTALL = HERE / "install_code_server.sh"
DRIVER = HERE / "vscode_real" / "driver.mjs"
NODE = shutil.which("node")
NPM = shutil.which("npm")
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium")
IN_CI = os.environ.get("CI") == "true"

pytestmark = [pytest.mark.timeout(1800)]

HEADER = "def scaled_area(width, height, factor):"
OPENED_HEADER = "def triangle_area(base, height):"
SHAPES = '''"""Shapes and their areas."""


def rectangle_area(width, height):
    """Area of a width x height rectangle."""
    return width * height


def square_area(side):
    """Area of a square."""
    return rectangle_area(side, side)
'''
CHAT_ANSWER = (
    "The `mean` function divides the sum by the number of values.\n\n"
    "```python\nprint(mean([1, 2, 3]))\n```\n"
)
LONG_ANSWER = "Streaming a long answer, token by token. " * 20


def _require(ok: bool, why: str) -> None:
    if ok:
        return
    if IN_CI:
        pytest.fail(why)
    pytest.skip(why)


@pytest.fixture(scope="module")
def code_server() -> Path:
    _require(NODE is not None and NPM is not None, "node/npm not installed")
    _require(CHROMIUM is not None, "chromium not installed (apt-get install chromium)")
    r = subprocess.run(["bash", str(INSTALL)], capture_output=True, text=True, timeout=1700)
    assert r.returncode == 0, r.stderr[-4000:]
    return Path(r.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def vsix(code_server: Path) -> Path:
    r = subprocess.run(["make", "-C", str(EXT), "package"], capture_output=True, text=True,
                       timeout=900)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return EXT / "codeflow.vsix"


def _node24(code_server: Path) -> Path:
    cache = code_server.parent
    return next(cache.glob("node-24.*")) / "bin" / "node"


def _codeflow() -> str:
    here = Path(sys.executable).parent / "codeflow"
    return str(here) if here.exists() else (shutil.which("codeflow") or "codeflow")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _git(ws: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "Ada", "GIT_AUTHOR_EMAIL": "ada@example.com",
           "GIT_COMMITTER_NAME": "Ada", "GIT_COMMITTER_EMAIL": "ada@example.com"}
    subprocess.run(["git", *args], cwd=ws, env=env, check=True, capture_output=True)


def shapes_workspace(ws: Path) -> Path:
    """A git repo with history: shapes.py grew over two commits, plus a few modules to index."""
    ws.mkdir(parents=True)
    first = SHAPES.split("\n\ndef square_area")[0] + "\n"
    (ws / "shapes.py").write_text(first)
    for i in range(30):
        (ws / f"util_{i}.py").write_text(f'"""Helper {i}."""\n\n\ndef helper_{i}(x):\n'
                                         f"    return x + {i}\n")
    _git(ws, "init", "-q", "-b", "main")
    _git(ws, "add", ".")
    _git(ws, "commit", "-q", "-m", "Add rectangle_area")
    (ws / "shapes.py").write_text(SHAPES)
    _git(ws, "commit", "-q", "-am", "Add square_area")
    return ws


@contextlib.contextmanager
def vscode(code_server: Path, vsix: Path, tmp: Path, ws: Path, settings: dict,
           env: dict[str, str]) -> Iterator[str]:
    """Start code-server with the extension installed; yield the workbench URL for `ws`."""
    node = _node24(code_server)
    entry = code_server / "node_modules" / "code-server" / "out" / "node" / "entry.js"
    dirs = {k: tmp / k for k in ("user", "extensions", "xdg-data", "xdg-config", "home")}
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    (dirs["user"] / "User").mkdir(exist_ok=True)
    (dirs["user"] / "User" / "settings.json").write_text(json.dumps(settings, indent=2))
    config = tmp / "config.yaml"
    config.write_text("auth: none\ncert: false\n")
    run_env = {**os.environ, **env, "PATH": f"{node.parent}:{os.environ['PATH']}",
               "XDG_DATA_HOME": str(dirs["xdg-data"]), "XDG_CONFIG_HOME": str(dirs["xdg-config"]),
               "npm_config_nodedir": str(node.parent.parent)}
    common = [str(node), str(entry), "--user-data-dir", str(dirs["user"]), "--extensions-dir",
              str(dirs["extensions"]), "--config", str(config)]
    r = subprocess.run([*common, "--install-extension", str(vsix)], env=run_env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    port = _free_port()
    log = (tmp / "code-server.log").open("w")
    proc = subprocess.Popen(
        [*common, "--auth", "none", "--bind-addr", f"127.0.0.1:{port}", "--disable-telemetry",
         "--disable-update-check", "--disable-workspace-trust",
         "--disable-getting-started-override", "--ignore-last-opened", str(ws)],
        env=run_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, (tmp / "code-server.log").read_text()[-3000:]
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                    break
            except OSError:
                assert time.monotonic() < deadline, "code-server did not come up"
                time.sleep(0.5)
        yield f"http://127.0.0.1:{port}/?folder={ws}"
    finally:
        # The extension host waits hours for a reconnect: end the whole tree we started.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=15)
        log.close()


def drive(tmp: Path, url: str, steps: list[str], **extra: object) -> dict:
    out = tmp / "shots"
    cfg = {"url": url, "steps": steps, "outDir": str(out), "extensionDir": str(EXT),
           "chromium": CHROMIUM, **extra}
    (tmp / "driver.json").write_text(json.dumps(cfg))
    r = subprocess.run([NODE, str(DRIVER), str(tmp / "driver.json")], capture_output=True,
                       text=True, timeout=900)
    print(r.stdout[-3000:], r.stderr[-3000:])
    results = json.loads((out / "results.json").read_text())
    artifacts = os.environ.get("CODEFLOW_E2E_ARTIFACTS")
    if artifacts:
        shutil.copytree(out, Path(artifacts) / tmp.name, dirs_exist_ok=True)
    print("screenshots:", out)
    for name in steps:
        assert "error" not in results["steps"].get(name, {}), results["steps"][name]["error"]
    assert r.returncode == 0, r.stderr[-3000:]
    return results


BASE_SETTINGS = {
    "codeflow.serverPath": _codeflow(),
    # No keystroke deadline or time limit, so the editor's prompt holds every context source and
    # the whole suggestion is generated, as `codeflow complete` does (what step 1 compares with).
    "codeflow.completion.contextDeadlineMs": 60000,
    "codeflow.completion.timeoutMs": 120000,
    "editor.quickSuggestions": {"other": False, "comments": False, "strings": False},
    "editor.suggestOnTriggerCharacters": False,
    "editor.wordBasedSuggestions": "off",
    "editor.inlineSuggest.enabled": True,
    "workbench.startupEditor": "none",
    "workbench.tips.enabled": False,
    "security.workspace.trust.enabled": False,
    "extensions.autoCheckUpdates": False,
    "telemetry.telemetryLevel": "off",
    "chat.disableAIFeatures": True,
}


def expected_completion(ws: Path, name: str) -> str:
    """What `codeflow complete` returns at the end of `name`, on a copy of the workspace with
    the same folder name (the editor's server then indexes `ws` itself from scratch)."""
    copy = ws.parent / "cli" / ws.name
    shutil.copytree(ws, copy)
    lines = (copy / name).read_text().split("\n")
    r = subprocess.run(
        [_codeflow(), "complete", "--workspace", str(copy), "--file", name, "--line",
         str(len(lines) - 1), "--character", str(len(lines[-1])), "--json"],
        capture_output=True, text=True, timeout=300,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    return json.loads(r.stdout.strip().splitlines()[-1])["text"]


def _shown(step: dict) -> str:
    return "".join(step["ghostParts"]).replace("\u00a0", " ")


def test_ghost_text_accept_and_status_bar(code_server: Path, vsix: Path, tmp_path: Path) -> None:
    ws = shapes_workspace(tmp_path / "ws")
    opened = SHAPES + "\n\n" + OPENED_HEADER + "\n    "
    (ws / "opened.py").write_text(opened)
    want = expected_completion(ws, "opened.py")
    assert want.strip(), "codeflow complete returned nothing"
    with vscode(code_server, vsix, tmp_path / "vscode", ws, BASE_SETTINGS, {}) as url:
        results = drive(tmp_path, url, ["ghostOpened", "ghost", "status"], file="shapes.py",
                        header=HEADER, openedFile="opened.py")

    # Typed: the suggestion appears while typing, Tab puts exactly what was shown into the file.
    ghost = results["steps"]["ghost"]
    shown = _shown(ghost)
    assert shown.strip(), ghost
    final = (ws / "shapes.py").read_text()
    typed = SHAPES + "\n\n" + HEADER + "\n"
    assert final.startswith(typed), final
    accepted = final[len(typed):]
    assert accepted.startswith("    ") and accepted.strip(), accepted
    assert "".join(shown.split()) == "".join(accepted.split())

    # Opened at an empty body: the suggestion is what `codeflow complete` returns there.
    ghost = results["steps"]["ghostOpened"]
    assert (ws / "opened.py").read_text() == opened + want
    assert "".join(_shown(ghost).split()) == "".join(want.split())

    texts = results["statusTexts"]
    assert any("indexing" in t for t in texts), texts
    assert any("default" in t and "CPU" in t and "indexing" not in t for t in texts), texts


def test_chat_streams_and_cancels_and_fix_from_the_lightbulb(
    code_server: Path, vsix: Path, tmp_path: Path
) -> None:
    ws = make_workspace(tmp_path / "ws")
    script = tmp_path / "script.json"
    outputs = [CHAT_ANSWER, LONG_ANSWER, "Sorry, no idea.", answer(WRONG_MEAN), answer(GOOD_MEAN)]
    script.write_text(json.dumps({"outputs": outputs, "tokenDelayMs": [15, 40, 0, 0, 0],
                                  "promptLog": str(tmp_path / "prompts.jsonl")}))
    settings = {**BASE_SETTINGS, "codeflow.completion.enabled": False,
                "codeflow.tests.trusted": True}
    env = {"CODEFLOW_TEST_COMMANDS": "1", "CODEFLOW_TEST_BACKEND": str(script)}
    test_before = (ws / "test_calc.py").read_text()
    with vscode(code_server, vsix, tmp_path / "vscode", ws, settings, env) as url:
        results = drive(tmp_path, url, ["chat", "fix"], question="What does mean do?",
                        question2="Tell me a long story.", testFile="test_calc.py", failLine=8,
                        fixTitle="Fix failing test with codeflow",
                        fixedFile=str(ws / "calc.py"))

    chat = results["steps"]["chat"]
    assert "divides the sum by the number of values" in chat["firstAnswer"]
    assert "print(mean([1, 2, 3]))" in chat["firstAnswer"]
    assert chat["firstAnswerSnapshots"] >= 2, "the answer did not stream"
    second = chat["secondAnswer"]
    assert second.startswith("St") and second.endswith("Cancelled."), chat
    streamed = second[: -len("Cancelled.")].strip()
    assert LONG_ANSWER.startswith(streamed) and len(streamed) < len(LONG_ANSWER.strip()), chat

    fix = results["steps"]["fix"]
    assert fix["squiggles"] >= 1
    assert "    assert mean([2, 4, 6]) == 4" in fix["squiggledLines"], fix
    assert any("Fix failing test with codeflow" in a for a in fix["actions"]), fix["actions"]
    assert (ws / "calc.py").read_text().endswith(GOOD_MEAN)
    assert (ws / "test_calc.py").read_text() == test_before
