"""The chat facts of a model dir (template, sampling, EOS ids, reasoning), what `export` copies
into it, and the engine's EOS ids from it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from inference import Engine, default_model_dir
from inference.chatspec import ChatSpec, Sampling, eos_ids_of, sampling_of
from inference.export.metadata import checkpoint_template, copy_chat_files
from tests.unit.assemble.templates import CHATML, THINKING

IQUEST_GEN = {"bos_token_id": 1, "do_sample": True, "eos_token_id": [2, 75864, 75869],
              "pad_token_id": 0, "temperature": 0.6, "top_k": 20, "top_p": 0.85,
              "transformers_version": "4.57.6"}


def model_dir(root: Path, template: str | None, gen: dict | None, **model_json: object) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    if template is not None:
        (root / "chat_template.jinja").write_text(template)
    if gen is not None:
        (root / "generation_config.json").write_text(json.dumps(gen))
    (root / "codeflow-model.json").write_text(json.dumps(model_json))
    return root


def test_thinking_dir_reasons_and_samples(tmp_path: Path) -> None:
    spec = ChatSpec.load(model_dir(tmp_path / "thinking", THINKING, IQUEST_GEN))
    assert spec.template == THINKING
    assert spec.sampling == Sampling(0.6, 0.85, 20)
    assert spec.eos_token_ids == (2, 75864, 75869)
    assert spec.reasoning is True


def test_instruct_dir_does_not_reason(tmp_path: Path) -> None:
    spec = ChatSpec.load(model_dir(tmp_path / "instruct", CHATML, IQUEST_GEN))
    assert (spec.template, spec.reasoning) == (CHATML, False)


def test_old_dir_falls_back_to_chatml_and_greedy(tmp_path: Path) -> None:
    spec = ChatSpec.load(model_dir(tmp_path / "old", None, None))
    assert spec == ChatSpec(None, Sampling(), (), False)
    assert ChatSpec.load(None) == ChatSpec()
    assert ChatSpec.load(default_model_dir()).template is None


def test_model_json_overrides_the_template_guess(tmp_path: Path) -> None:
    assert ChatSpec.load(model_dir(tmp_path / "a", CHATML, None, reasoning=True)).reasoning
    assert not ChatSpec.load(model_dir(tmp_path / "b", THINKING, None, reasoning=False)).reasoning


@pytest.mark.parametrize(("gen", "expected"), [
    ({"do_sample": False, "temperature": 0.7}, Sampling()),
    ({"temperature": 0.2}, Sampling(0.2, 1.0, 0)),
    ({"temperature": -1}, Sampling()),
    ({"temperature": "hot"}, Sampling()),
    ({"top_p": 0}, Sampling()),
    ({}, Sampling()),
])
def test_sampling_of_generation_config(gen: dict, expected: Sampling) -> None:
    assert sampling_of(gen) == expected


def test_eos_ids_int_or_list() -> None:
    assert eos_ids_of({"eos_token_id": 7}) == (7,)
    assert eos_ids_of({"eos_token_id": [2, 3, True, "x"]}) == (2, 3)
    assert eos_ids_of({}) == ()


def test_copy_chat_files_from_tokenizer_config(tmp_path: Path) -> None:
    hf = tmp_path / "hf"
    hf.mkdir()
    (hf / "tokenizer_config.json").write_text(json.dumps({"chat_template": THINKING}))
    (hf / "generation_config.json").write_text(json.dumps(IQUEST_GEN))
    out = tmp_path / "out"
    out.mkdir()
    written = copy_chat_files(hf, out)
    assert [p.name for p in written] == ["chat_template.jinja", "generation_config.json"]
    assert (out / "chat_template.jinja").read_text() == THINKING
    gen = json.loads((out / "generation_config.json").read_text())
    assert "transformers_version" not in gen
    assert gen == {k: v for k, v in IQUEST_GEN.items() if k != "transformers_version"}


def test_checkpoint_template_sources(tmp_path: Path) -> None:
    hf = tmp_path / "hf"
    hf.mkdir()
    assert checkpoint_template(hf) is None
    named = [{"name": "tool_use", "template": "T"}, {"name": "default", "template": CHATML}]
    (hf / "tokenizer_config.json").write_text(json.dumps({"chat_template": named}))
    assert checkpoint_template(hf) == CHATML
    (hf / "chat_template.jinja").write_text(THINKING)  # the file wins (newer transformers)
    assert checkpoint_template(hf) == THINKING
    out = tmp_path / "out"
    out.mkdir()
    assert [p.name for p in copy_chat_files(hf, out)] == ["chat_template.jinja"]


def test_engine_stops_on_the_generation_config_eos_ids(tmp_path: Path) -> None:
    src = default_model_dir()
    if not (src / "model.onnx").exists():
        pytest.skip("bundled model not built")
    dst = tmp_path / "model"
    dst.mkdir()
    for name in ("model.onnx", "tokenizer.json", "codeflow-model.json"):
        shutil.copy(src / name, dst / name)
    (dst / "generation_config.json").write_text(json.dumps({"eos_token_id": [0, 7, 9]}))
    assert Engine.load(dst, provider="cpu").eos_ids == {0, 7, 9}
    assert Engine.load(src, provider="cpu").eos_ids == {0}
