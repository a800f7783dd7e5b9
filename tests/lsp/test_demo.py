"""`codeflow demo` end to end: on the bundled model it says what the model is for and what it
cannot do, labels the chat stream as raw model output, and says how to use a real model."""

from __future__ import annotations

import subprocess
import sys

from lsp_server.commands.demo import BUNDLED_NOTE, CHAT_LABEL, REAL_MODEL_HINT

from .conftest import REPO, server_env


def _demo(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lsp_server.cli", "demo", *args], cwd=REPO,
                          env=server_env(), capture_output=True, text=True, timeout=600)


def test_demo_states_the_bundled_models_limit_and_labels_its_chat_output() -> None:
    out = _demo()
    assert out.returncode == 0, out.stderr[-2000:]
    text = out.stdout
    assert "cannot write good code or answer questions" in BUNDLED_NOTE
    assert BUNDLED_NOTE in text
    assert "ghost text" in text and "what the model saw" in text
    label = text.index(CHAT_LABEL)
    assert text.index(BUNDLED_NOTE) < label
    stream = text[label + len(CHAT_LABEL):text.index("streamed pieces")].rsplit("\n", 1)[0]
    lines = [ln for ln in stream.splitlines() if ln.strip()]
    assert lines and all(ln.startswith("  │ ") for ln in lines), stream
    assert "codeflow export" in REAL_MODEL_HINT and "modelPath" in REAL_MODEL_HINT
    assert 'backend: "remote"' in REAL_MODEL_HINT
    assert text.rstrip().endswith(REAL_MODEL_HINT.rstrip())
