"""The infill order declared by the model dir (`prompt_format.infill`): PSM by default, SPM
(suffix first, then the prefix the middle continues) where declared; sections stay exact."""

from __future__ import annotations

from pathlib import Path

import pytest
from tokenizers import Tokenizer

from context.assemble import Assembler, PromptFormat, PromptRequest
from inference.spec import ModelDirError, ModelSpec, default_model_dir

from .conftest import MAIN, model_json

BLANKED = MAIN.replace("    edge = util.perimeter(w, h)\n", "    \n")  # cursor at (7, 4)
CUT = BLANKED.index("    \n    return s.describe()") + 4
PREFIX, SUFFIX = BLANKED[:CUT], BLANKED[CUT:]


def _json(fim: str = "iquest", infill: str | None = None, **special: str) -> dict:
    data = model_json(fim, **special)
    if infill is not None:
        data["prompt_format"]["infill"] = infill
    return data


def _build(index, tok: Path, data: dict, budget: int = 2048):
    return Assembler(index, None, tok, data).build(
        PromptRequest("geo/main.py", BLANKED, 7, 4, budget))


def _exact(p, tok: Path) -> None:
    ids = tuple(Tokenizer.from_file(str(tok)).encode(p.text, add_special_tokens=False).ids)
    assert "".join(s.text for s in p.sections) == p.text
    assert sum(s.tokens for s in p.sections) == p.prompt_tokens == len(p.ids)
    assert p.ids == ids


def test_spm_file_level_puts_the_suffix_first_and_ends_on_the_prefix(tokenizer_path) -> None:
    p = _build(None, tokenizer_path, _json(infill="spm"))
    assert p.text == ("<|repo_name|>workspace\n<|file_sep|>geo/main.py\n"
                      f"<|fim_prefix|><|fim_suffix|>{SUFFIX}<|fim_middle|>{PREFIX}")
    assert [s.kind for s in p.sections] == ["format", "format", "format", "suffix", "format",
                                           "prefix", "prefix"]
    assert [(s.start_line, s.end_line) for s in p.sections if s.kind == "prefix"] == [
        (0, 6), (7, 7)]
    assert p.fim is True
    _exact(p, tokenizer_path)


def test_spm_uses_the_model_dirs_own_special_token_strings(tokenizer_path) -> None:
    data = _json("starcoder2", "spm", fim_prefix="<PRE>", fim_suffix="<SUF>", fim_middle="<MID>")
    p = _build(None, tokenizer_path, data)
    assert p.text.endswith(f"<file_sep><PRE>geo/main.py\n<SUF>{SUFFIX}<MID>{PREFIX}")
    _exact(p, tokenizer_path)


def test_spm_repo_level_keeps_the_retrieved_context_before(geo_index, tokenizer_path) -> None:
    psm = _build(geo_index, tokenizer_path, _json())
    spm = _build(geo_index, tokenizer_path, _json(infill="spm"))
    head = "<|file_sep|>geo/main.py\n<|fim_prefix|>"
    assert spm.text.endswith(f"{head}<|fim_suffix|>{SUFFIX}<|fim_middle|>{PREFIX}")
    assert psm.text.endswith(f"{head}{PREFIX}<|fim_suffix|>{SUFFIX}<|fim_middle|>")
    context = [(s.kind, s.path, s.text) for s in spm.sections
               if s.kind not in ("format", "prefix", "suffix")]
    assert context and context == [(s.kind, s.path, s.text) for s in psm.sections
                                   if s.kind not in ("format", "prefix", "suffix")]
    assert spm.text.index(head) > max(spm.text.index(t) for _, _, t in context)
    kinds = [s.kind for s in spm.sections]
    assert kinds[-6:] == ["format", "format", "suffix", "format", "prefix", "prefix"]
    _exact(spm, tokenizer_path)


@pytest.mark.parametrize("budget", [64, 200, 1000])
def test_spm_budget_and_counts_stay_exact(geo_index, tokenizer_path, budget) -> None:
    p = _build(geo_index, tokenizer_path, _json(infill="spm"), budget)
    assert p.prompt_tokens <= budget
    assert p.text.endswith(PREFIX[-20:])
    _exact(p, tokenizer_path)


def test_psm_is_the_default_and_unchanged(geo_index, tokenizer_path) -> None:
    default = _build(geo_index, tokenizer_path, _json())
    psm = _build(geo_index, tokenizer_path, _json(infill="psm"))
    assert default.text == psm.text and default.ids == psm.ids
    assert default.text.endswith("    return 1\n<|fim_middle|>")
    assert PromptFormat.from_model_json(_json()).infill == "psm"
    assert not PromptFormat.from_model_json(_json()).suffix_first


def test_spm_on_a_format_without_fim_is_prefix_only(tokenizer_path) -> None:
    p = _build(None, tokenizer_path, _json("none", "spm"))
    assert p.text == f"# geo/main.py\n{PREFIX}" and p.fim is False


def test_unknown_infill_order_is_refused() -> None:
    with pytest.raises(ValueError, match="infill"):
        PromptFormat.from_model_json(_json(infill="pms"))
    data = {**_json(infill="pms"), "kv": {"layout": "dense", "num_layers": 1,
                                           "num_kv_heads": 1, "head_dim": 8}}
    with pytest.raises(ModelDirError, match="infill"):
        ModelSpec.from_dict(data)


def test_model_spec_reads_the_order_and_the_bundled_models_stay_psm() -> None:
    data = {**_json(infill="spm"), "kv": {"layout": "dense", "num_layers": 1,
                                           "num_kv_heads": 1, "head_dim": 8}}
    assert ModelSpec.from_dict(data).infill == "spm"
    for name in ("default", "default-loop"):
        spec = ModelSpec.load(default_model_dir().parent / name)
        assert spec.infill == "psm"
        assert PromptFormat.from_model_json(spec.raw).infill == "psm"
