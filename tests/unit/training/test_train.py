"""A few steps of a tiny model: loss goes down, a checkpoint is written, resume continues."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from inference.training.train import (
    CHECKPOINT,
    LOSS_LOG,
    FimIds,
    Progress,
    TrainConfig,
    lm_loss,
    lr_at,
    middle_weights,
    train,
)


def tiny_config(out: Path, corpus: Path, steps: int) -> TrainConfig:
    return TrainConfig(out=str(out), shape="tiny", corpus_root=str(corpus), vocab_size=600,
                       seq_len=64, batch_size=4, max_steps=steps, warmup_steps=1, lr=1e-2,
                       eval_tokens=256, log_every=1, threads=1, precision="fp32")


def read_log(out: Path) -> list[dict[str, float]]:
    return [json.loads(line) for line in (out / LOSS_LOG).read_text().splitlines()]


def test_tiny_run_learns_and_resumes(tmp_path: Path, tiny_corpus: Path) -> None:
    out = tmp_path / "run"
    assert train(tiny_config(out, tiny_corpus, steps=3)).step == 3
    assert (out / CHECKPOINT).is_file() and (out / "hf" / "model.safetensors").is_file()
    log = read_log(out)
    losses = [r["loss"] for r in log if "loss" in r]
    assert [r["step"] for r in log if "loss" in r] == [1, 2, 3]
    assert losses[0] == pytest.approx(math.log(600), abs=0.5)  # starts near uniform
    heldout = [r["heldout_loss"] for r in log if "heldout_loss" in r]
    assert len(heldout) == 2  # before training (step 0) and at the end
    assert heldout[-1] < heldout[0] - 0.05

    resumed = train(tiny_config(out, tiny_corpus, steps=5))
    assert resumed.step == 5 and resumed.tokens == 5 * 4 * 64
    steps = [r["step"] for r in read_log(out) if "loss" in r]
    assert steps == [1, 2, 3, 4, 5]
    summary = json.loads((out / "hf" / "training_summary.json").read_text())
    assert summary["step"] == 5


def test_lr_schedule_warmup_constant_decay() -> None:
    cfg = TrainConfig(out="x", lr=1.0, warmup_steps=10, max_steps=100, decay_fraction=0.2,
                      min_lr_ratio=0.1)
    assert lr_at(cfg, Progress(step=0)) == pytest.approx(0.1)
    assert lr_at(cfg, Progress(step=50)) == pytest.approx(1.0)
    assert lr_at(cfg, Progress(step=90)) == pytest.approx(0.55)
    assert lr_at(cfg, Progress(step=100)) == pytest.approx(0.1)
    timed = TrainConfig(out="x", lr=1.0, warmup_steps=1, max_minutes=10.0, decay_fraction=0.5)
    assert lr_at(timed, Progress(step=5, elapsed_s=450.0)) == pytest.approx(0.55)


IDS = FimIds(prefix=3, middle=5, eos=0)


def test_middle_weights_cover_the_middle_and_its_end_only_when_the_prefix_is_in_the_row() -> None:
    whole = [9, 3, 7, 7, 4, 8, 5, 11, 12, 0, 9, 9]  # 9 <prefix> 7 7 4 8 <middle> 11 12 <eos> 9 9
    cut = [7, 4, 8, 5, 11, 12, 0, 3, 8, 4, 5, 6]  # a middle whose prefix is in the row before
    weights = middle_weights([whole, cut], IDS, 5.0)
    assert weights.shape == (2, 11)
    # targets 11, 12 and the closing EOS of the first row; the inputs before them are 5, 11, 12
    assert weights[0].tolist() == [1, 1, 1, 1, 1, 1, 5, 5, 5, 1, 1]
    # the first middle lost its prefix to packing: weight 1; the second one starts at 10
    assert weights[1].tolist() == [1] * 10 + [5]


def test_middle_weights_leave_spm_samples_at_weight_1() -> None:
    ids = FimIds(prefix=3, middle=5, eos=0, suffix=4)
    spm = [3, 4, 8, 5, 7, 7, 11, 12, 0, 3, 7, 4, 8, 5, 11, 0]  # SPM sample, then a PSM one
    weights = middle_weights([spm], ids, 5.0)
    assert weights[0].tolist() == [1] * 13 + [5, 5]


def test_weighted_loss_is_the_weighted_mean_of_the_token_losses() -> None:
    torch.manual_seed(0)
    table = torch.randn(16, 16)

    class Bigram(torch.nn.Module):
        def forward(self, input_ids: torch.Tensor) -> object:
            return type("Out", (), {"logits": table[input_ids]})()

    rows = torch.randint(0, 16, (2, 9))
    per_token = torch.nn.functional.cross_entropy(
        table[rows[:, :-1]].reshape(-1, 16), rows[:, 1:].reshape(-1), reduction="none")
    weights = torch.ones(2, 8)
    weights[1, 3:] = 4.0
    expected = (per_token * weights.reshape(-1)).sum() / weights.sum()
    assert lm_loss(Bigram(), rows, None, weights).item() == pytest.approx(expected.item())
    assert lm_loss(Bigram(), rows, None).item() == pytest.approx(per_token.mean().item())
    assert expected.item() != pytest.approx(per_token.mean().item())


def test_the_cards_know_the_sample_mix_defaults_of_the_trainer() -> None:
    from inference.training.ship import MIX_DEFAULTS

    defaults = TrainConfig(out="x")
    assert MIX_DEFAULTS == {k: getattr(defaults, k) for k in MIX_DEFAULTS}


def test_ship_declares_the_infill_order_and_the_card_shows_both_orders(tmp_path: Path) -> None:
    from inference.training.ship import _eval_section, _samples_line, declare_infill

    spec = {"name": "m", "prompt_format": {"fim": "qwen2.5", "chat": "chatml"}}
    (tmp_path / "codeflow-model.json").write_text(json.dumps(spec))
    declare_infill(tmp_path, "spm")
    written = json.loads((tmp_path / "codeflow-model.json").read_text())
    assert written["prompt_format"] == {"fim": "qwen2.5", "chat": "chatml", "infill": "spm"}
    scores = {"exact_match": 0.1, "edit_similarity": 0.5, "syntax_valid": 0.7}
    evals = {"heldout_loss": 2.1, "loss_tokens": 10, "tasks": 2, "model_scores": scores,
             "baseline_scores": scores, "left_to_right_scores": scores,
             "decode_tokens_per_s": 1.0, "infill_order": "spm", "other_order_scores": scores}
    rows = [line for line in _eval_section(evals) if line.startswith("| this model")]
    assert rows[0].startswith("| this model, SPM (the order") and rows[1].startswith(
        "| this model, PSM |")
    assert "50% of them in SPM order" in _samples_line({"fim_rate": 0.8, "spm_rate": 0.5})
