"""`codeflow doctor`: plain words, exit 0 when it can serve, 1 when the model is missing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from inference import default_model_dir

REPO = Path(__file__).resolve().parents[3]


def _doctor(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, CODEFLOW_CACHE_DIR=str(tmp_path / "cache"), PYTHONPATH=str(REPO))
    env.pop("CODEFLOW_REMOTE_URL", None)
    return subprocess.run([sys.executable, "-m", "lsp_server.cli", "doctor", *args], env=env,
                          capture_output=True, text=True, timeout=120)


def test_missing_model_is_named_with_a_fix(tmp_path: Path) -> None:
    out = _doctor(tmp_path, "--model", str(tmp_path / "nope"), "--workspace", str(tmp_path))
    assert out.returncode == 1
    assert f"!! model: configured model at {tmp_path / 'nope'}" in out.stdout
    assert "fix: export one with `codeflow export HF_DIR OUT_DIR`" in out.stdout
    assert out.stdout.rstrip().endswith("codeflow cannot serve: 1 problem(s) above.")


@pytest.mark.skipif(not (default_model_dir() / "model.onnx").exists(), reason="no bundled model")
def test_bundled_model_serves_and_json_lists_every_check(tmp_path: Path) -> None:
    out = _doctor(tmp_path, "--json", "--stats", "--workspace", str(tmp_path))
    assert out.returncode == 0, out.stdout + out.stderr
    report = json.loads(out.stdout)
    names = [c["name"] for c in report["checks"]]
    assert report["ok"] is True
    assert {"python", "grammars", "git", "model", "execution providers", "log file",
            "index"} <= set(names)
    model = next(c for c in report["checks"] if c["name"] == "model")
    assert "a small offline model for trying codeflow" in model["detail"]
    chat = next(c for c in report["checks"] if c["name"] == "chat")
    assert chat["detail"].startswith("ChatML, greedy (the model dir has no chat_template.jinja")
    assert report["stats"]["shown"] == 0 and report["stats"]["accept_rate"] == 0.0


def test_stats_show_each_context_source(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "stats.json").write_text(json.dumps({"requested": 4, "sources": {
        "flow_blame": {"hits": 3, "stale": 0, "misses": 2, "runs": 1, "mean_ms": 40.5,
                       "max_ms": 40.5}}}))
    out = _doctor(tmp_path, "--stats", "--workspace", str(tmp_path))
    assert "source flow_blame: hits 3, stale 0, misses 2, runs 1, mean_ms 40.5" in out.stdout
