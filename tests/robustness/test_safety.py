"""Safety: the workspace boundary for edits, trust for running tests, no network unless a
remote backend is configured, and no secrets-looking files in prompts unless configured."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from context.assemble.assembler import is_secret_path

from .harness import REPO, Server, no_traceback, write_script
from .test_faults import BUNDLED, errors_shown, inline, needs_model, request, start, wait_for

OUTSIDE_CODE = "def pwned():\n    return 'written outside'\n"
INSIDE_CODE = 'def f(x):\n    """Return x."""\n    return x\n'


@pytest.fixture
def started() -> Any:
    servers: list[Server] = []
    yield servers
    for server in servers:
        server.stop()


def _boundary_workspace(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "ws"
    outside = tmp_path / "outside"
    (root / "pkg").mkdir(parents=True)
    outside.mkdir()
    (root / "pkg" / "mod.py").write_text("def f(x):\n    return x\n", encoding="utf-8")
    (outside / "target.py").write_text("def target():\n    return 1\n", encoding="utf-8")
    (root / "escape").symlink_to(outside, target_is_directory=True)
    (root / "linked.py").symlink_to(outside / "target.py")
    return root, outside


def _outside_uris(root: Path, outside: Path) -> list[str]:
    return [
        (outside / "target.py").as_uri(),
        (outside / "new.py").as_uri(),
        f"{root.as_uri()}/../outside/target.py",
        f"{root.as_uri()}/pkg/%2E%2E/%2E%2E/outside/target.py",
        f"{root.as_uri()}/escape/target.py",
        f"{root.as_uri()}/escape/new.py",
        (root / "linked.py").as_uri(),
        "file:///etc/passwd",
        "untitled:Untitled-1",
        "/tmp/not-a-uri.py",
    ]


def test_no_edit_outside_the_workspace(tmp_path: Path, started: list[Server]) -> None:
    root, outside = _boundary_workspace(tmp_path)
    answer = "```python\n" + INSIDE_CODE + "```"  # a rewrite of f, a test module: any action
    script = write_script(tmp_path / "script.json", [answer] * 100)
    server = start(started, tmp_path / "cache", root, {}, create_files=True,
                   CODEFLOW_TEST_BACKEND=str(script))
    server.call(server.wait_ready())
    before = {p: p.read_bytes() for p in outside.rglob("*")}
    tried = 0
    for uri in _outside_uris(root, outside):
        # the chat's code block
        reply = request(server, "workspace/executeCommand", {
            "command": "codeflow.applyCodeBlock", "arguments": [{"uri": uri, "code": OUTSIDE_CODE}]
        })
        assert reply.error is not None and reply.error["code"] == -32602, (uri, reply)
        assert "outside the workspace" in reply.error["message"] or "path" in reply.error["message"]
        # code actions resolved with forged data, and the explain command
        for action in ("fix", "docstring", "test"):
            data = {"codeflow": {"action": action, "uri": uri, "line": 0, "name": "target",
                                 "message": "m"}}
            resolved = request(server, "codeAction/resolve", {"title": "forged", "data": data})
            assert resolved.ok, resolved
            assert resolved.result.get("edit") is None, (uri, action, resolved.result)
        explain = request(server, "workspace/executeCommand", {
            "command": "codeflow.explain", "arguments": [{"uri": uri, "line": 0}]})
        assert explain.error is not None and no_traceback(explain)
        tried += 5
    assert server.seen.applied_edits == []
    assert {p: p.read_bytes() for p in outside.rglob("*")} == before
    refusals = [m for m in errors_shown(server) if "outside the workspace" in m]
    assert refusals  # the user was told why
    # control: inside the workspace the same command and actions do produce an edit
    inside = (root / "pkg" / "mod.py").as_uri()
    ok = request(server, "workspace/executeCommand", {
        "command": "codeflow.applyCodeBlock", "arguments": [{"uri": inside, "code": "y = 1\n"}]})
    assert ok.ok and len(server.seen.applied_edits) == 1
    for action in ("fix", "docstring", "test"):
        data = {"codeflow": {"action": action, "uri": inside, "line": 0, "name": "f",
                             "message": "m"}}
        resolved = request(server, "codeAction/resolve", {"title": "control", "data": data})
        assert resolved.ok and resolved.result.get("edit") is not None, (action, resolved)
    print(f"boundary: {tried} outside-workspace edits tried, all refused")


def test_code_action_test_file_is_not_created_through_a_symlinked_tests_dir(
    tmp_path: Path, started: list[Server]
) -> None:
    root, outside = _boundary_workspace(tmp_path)
    (outside / "tests").mkdir()
    (outside / "tests" / "test_mod.py").write_text("def test_old():\n    pass\n")
    (root / "tests").symlink_to(outside / "tests", target_is_directory=True)
    answer = "```python\nfrom pkg.mod import f\n\n\ndef test_f():\n    assert f(1) == 1\n```"
    script = write_script(tmp_path / "script.json", [answer] * 10)
    server = start(started, tmp_path / "cache", root, {}, create_files=True,
                   CODEFLOW_TEST_BACKEND=str(script))
    server.call(server.wait_ready())
    uri = (root / "pkg" / "mod.py").as_uri()
    data = {"codeflow": {"action": "test", "uri": uri, "line": 0, "name": "f"}}
    resolved = request(server, "codeAction/resolve", {"title": "Write a test", "data": data})
    assert resolved.ok
    edit = resolved.result.get("edit")
    assert edit is None or all(
        str(root) in json.dumps(change) and "outside" not in json.dumps(change)
        for change in edit.get("documentChanges") or [edit.get("changes")]
    ), edit
    # control: with tests/ a real folder, the same action writes the test into it
    (root / "tests").unlink()
    (root / "tests").mkdir()
    (root / "tests" / "test_mod.py").write_text("def test_old():\n    pass\n")
    resolved = request(server, "codeAction/resolve", {"title": "Write a test", "data": data})
    edit = resolved.result.get("edit")
    assert edit is not None, resolved
    assert (root / "tests" / "test_mod.py").as_uri() in json.dumps(edit), edit


# ---- tests run only when asked, in a trusted workspace --------------------------------------
def _marker_workspace(tmp_path: Path) -> tuple[Path, Path, str]:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "test_a.py").write_text("def test_a():\n    assert True\n")
    marker = tmp_path / "ran"
    command = f"{sys.executable} -c \"open({str(marker)!r}, 'a').write('x')\""
    return root, marker, command


def test_tests_never_run_untrusted_or_on_save_by_default(
    tmp_path: Path, started: list[Server]
) -> None:
    root, marker, command = _marker_workspace(tmp_path)
    script = write_script(tmp_path / "script.json", [])
    server = start(started, tmp_path / "cache", root, {"tests": {"command": command}},
                   CODEFLOW_TEST_BACKEND=str(script))
    server.call(server.wait_ready())
    uri = (root / "test_a.py").as_uri()
    run = {"command": "codeflow.runTests", "arguments": [{"uri": uri}]}
    reply = request(server, "workspace/executeCommand", run)
    assert reply.ok and reply.result["ran"] is False
    assert "not trusted" in reply.result["message"]

    async def save() -> None:
        server.notify("textDocument/didSave", {"textDocument": {"uri": uri}})

    # untrusted + runOnSave: refused; trusted without runOnSave (the default): not run
    for settings in ({"tests": {"command": command, "runOnSave": True}},
                     {"tests": {"command": command, "trusted": True}}):
        server.call(_config(server, settings))
        server.call(save())
        time.sleep(1.0)
        assert not marker.exists(), settings
    # control: asked for, in a trusted workspace, it runs
    reply = request(server, "workspace/executeCommand", {"command": "codeflow.runTests"})
    assert marker.exists(), reply


async def _config(server: Server, settings: dict[str, Any]) -> None:
    server.notify("workspace/didChangeConfiguration", {"settings": {"codeflow": settings}})


# ---- no network unless a remote backend is configured ---------------------------------------
@needs_model
def test_no_network_connection_without_a_remote_backend(
    tmp_path: Path, started: list[Server]
) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "app.py").write_text("import os\n\n\ndef main():\n    return os.getcwd()\n")
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    sockets = tmp_path / "sockets.jsonl"
    server = start(started, tmp_path / "cache", root, {"provider": "cpu"},
                   CODEFLOW_SOCKET_LOG=str(sockets))
    server.call(server.wait_ready())
    uri = (root / "app.py").as_uri()
    assert request(server, "textDocument/inlineCompletion", inline(uri, 4, 4)).ok
    chat = {"messages": [{"role": "user", "content": "hi"}], "references": [uri]}
    assert request(server, "codeflow/chat", chat).ok
    actions = {"textDocument": {"uri": uri}, "range": {"start": {"line": 4, "character": 0},
                                                       "end": {"line": 4, "character": 0}},
               "context": {"diagnostics": []}}
    assert request(server, "textDocument/codeAction", actions).ok
    assert not sockets.exists() or sockets.read_text() == ""
    # control: with a remote backend configured the guard does see the connection
    server.call(_config(server, {"backend": "remote", "provider": "cpu", "modelPath": str(BUNDLED),
                                 "remote": {"url": "http://127.0.0.1:9", "timeoutS": 2}}))
    request(server, "textDocument/inlineCompletion", inline(uri, 3, 0))  # not a cached cursor
    wait_for(server, lambda: sockets.exists() and "127.0.0.1" in sockets.read_text(), 30)


# ---- secrets ----------------------------------------------------------------------------------
SECRETS = {
    ".env": "API_TOKEN=SECRET_DOTENV_1\n",
    ".env.production": "PASSWORD=SECRET_DOTENV_PROD\n",
    "keys/server.pem": "-----BEGIN PRIVATE KEY-----\nSECRET_PEM_2\n-----END PRIVATE KEY-----\n",
    "id_rsa": "-----BEGIN OPENSSH PRIVATE KEY-----\nSECRET_IDRSA_3\n-----END-----\n",
    "deploy/site.key": "SECRET_KEYFILE_4\n",
}
APP = '''from settings import load_settings


def connect():
    cfg = load_settings(".env")
    key = open("keys/server.pem").read()
    ssh = open("id_rsa").read()
    return cfg, key, ssh
'''


def _git(root: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@e"}
    subprocess.run(["git", *args], cwd=root, check=True, env=env)


def _secrets_workspace(tmp_path: Path) -> Path:
    """Secrets next to the code, referenced by it, committed, changed together and uncommitted."""
    root = tmp_path / "ws"
    root.mkdir()
    (root / "app.py").write_text(APP)
    (root / "settings.py").write_text(
        'def load_settings(path):\n    """KEY=VALUE lines of a .env file."""\n'
        '    return dict(line.split("=", 1) for line in open(path))\n'
    )
    for rel, text in SECRETS.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "init")
    for rel, text in SECRETS.items():
        (root / rel).write_text(text.replace("SECRET_", "SECRET_ROTATED_"))
    (root / "app.py").write_text(APP + "\n\nTIMEOUT = 5\n")
    _git(root, "commit", "-qam", "rotate secrets and set a timeout")
    (root / ".env").write_text("API_TOKEN=SECRET_UNCOMMITTED_5\n")
    return root


def _context_cli(root: Path, cache: Path, *extra: str) -> str:
    env = {**os.environ, "CODEFLOW_CACHE_DIR": str(cache), "PYTHONPATH": str(REPO)}
    args = [sys.executable, "-m", "lsp_server.cli", "context", "--workspace", str(root),
            "--file", "app.py", "--line", "7", "--character", "4", *extra]
    return subprocess.run(args, env=env, capture_output=True, text=True, check=True,
                          timeout=120).stdout


def test_secrets_stay_out_of_prompts_by_default(tmp_path: Path) -> None:
    root = _secrets_workspace(tmp_path)
    sections = json.loads(_context_cli(root, tmp_path / "cache", "--json"))["sections"]
    paths = {s["path"] for s in sections if s["path"]}
    assert "app.py" in paths and not any(is_secret_path(p) for p in paths), paths
    text = _context_cli(root, tmp_path / "cache")
    assert "SECRET_" not in text
    assert "TIMEOUT" in text or "load_settings" in text  # the prompt still has context


def test_secrets_in_lsp_prompts_only_when_configured(tmp_path: Path, started: list[Server]) -> None:
    root = _secrets_workspace(tmp_path)
    prompts = tmp_path / "prompts.jsonl"
    script = write_script(tmp_path / "script.json", ["pass"] * 50, prompt_log=prompts)
    server = start(started, tmp_path / "cache", root, {"completion": {"cacheSize": 0}},
                   CODEFLOW_TEST_BACKEND=str(script))
    server.call(server.wait_ready())
    uri = (root / "app.py").as_uri()
    env_uri = (root / ".env").as_uri()

    async def edit_env() -> None:  # a recent edit of .env lands in the edit ring
        server.open(env_uri, "API_TOKEN=SECRET_UNCOMMITTED_5\n")
        server.change(env_uri, 2, [{"range": {"start": {"line": 0, "character": 10},
                                              "end": {"line": 0, "character": 10}},
                                    "text": "SECRET_TYPED_6"}])

    server.call(edit_env())
    assert request(server, "textDocument/inlineCompletion", inline(uri, 7, 4)).ok
    assert request(server, "codeflow/chat", {"messages": [{"role": "user", "content": "?"}],
                                             "selection": {"uri": uri, "range": {
                                                 "start": {"line": 3, "character": 0},
                                                 "end": {"line": 7, "character": 0}}}}).ok
    logged = prompts.read_text()
    assert logged.count("\n") == 2 and "SECRET_" not in logged
    server.call(_config(server, {"context": {"includeSecrets": True},
                                 "completion": {"cacheSize": 0}}))
    time.sleep(0.3)
    assert request(server, "textDocument/inlineCompletion", inline(uri, 7, 5)).ok
    assert "SECRET_" in prompts.read_text().splitlines()[-1]  # the control: it can fail


def test_secret_path_rule() -> None:
    for path in (".env", "a/.env.local", "certs/x.pem", "id_rsa", "k/id_ed25519.pub",
                 "s/site.KEY", ".netrc"):
        assert is_secret_path(path), path
    for path in ("env.py", "src/environment.ts", "keys.py", "docs/pem.md", "id_rsa_parser.py",
                 None, ""):
        assert not is_secret_path(path), path


def test_symlinks_out_of_the_workspace_are_not_indexed(
    tmp_path: Path, started: list[Server]
) -> None:
    """A file symlinked from outside the workspace is never read into the index (so never into
    a prompt): not by the initial listing (git or walk), not by the watcher later."""
    from .test_faults import indexed_files, store_file

    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "far.py").write_text('def far_away():\n    return "SECRET_FAR"\n')
    for use_git in (True, False):
        root = tmp_path / f"ws_git{use_git}"
        root.mkdir()
        (root / "near.py").write_text("def near():\n    return far_away()\n")
        (root / "alias.py").symlink_to("near.py")  # inside: still indexed
        (root / "far.py").symlink_to(outside / "far.py")
        if use_git:
            _git(root, "init", "-q")
            _git(root, "add", "-A")
        cache = tmp_path / f"cache{use_git}"
        script = write_script(tmp_path / "script.json", ["x"] * 20)
        server = start(started, cache, root, {}, CODEFLOW_TEST_BACKEND=str(script))
        server.call(server.wait_ready())
        assert indexed_files(cache, root) == 2  # near.py and alias.py
        # the watcher: a new link out of the workspace, then a new file inside
        (root / "later.py").symlink_to(outside / "far.py")
        (root / "inside.py").write_text("def inside():\n    return 2\n")
        wait_for(server, lambda c=cache, r=root: indexed_files(c, r) == 3)
        time.sleep(0.5)
        assert indexed_files(cache, root) == 3
        import sqlite3

        conn = sqlite3.connect(f"file:{store_file(cache, root)}?mode=ro", uri=True)
        names = {row[0] for row in conn.execute("SELECT name FROM idx_defs")}
        conn.close()
        assert "far_away" not in names and {"near", "inside"} <= names
