"""A few steps of a tiny model: loss goes down, a checkpoint is written, resume continues."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from inference.training.train import CHECKPOINT, LOSS_LOG, Progress, TrainConfig, lr_at, train


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
