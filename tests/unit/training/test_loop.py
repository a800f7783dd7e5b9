"""Folding a dense checkpoint into the Loop architecture and training it briefly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from inference.training.model import SHAPES, build_model
from inference.training.train import LOSS_LOG, TrainConfig, train

loop_model = pytest.importorskip("inference.export.loop_model")


@pytest.fixture()
def dense_dir(tmp_path: Path) -> Path:
    model = build_model(SHAPES["tiny"], seed=0)
    model.save_pretrained(tmp_path / "dense", safe_serialization=True)
    return tmp_path / "dense"


def test_fold_keeps_dense_weights_and_sets_gates(dense_dir: Path, tmp_path: Path) -> None:
    from inference.training.loop import fold_dense

    folded = fold_dense(dense_dir, window=8, gate_bias=3.0)
    dense = build_model(SHAPES["tiny"], seed=0)
    inner = folded.inner
    assert torch.equal(inner.model.layers[1].mlp.up_proj.weight,
                       dense.model.layers[1].mlp.up_proj.weight)
    for layer in inner.model.layers:
        assert torch.count_nonzero(layer.gate_projection.weight) == 0
        assert torch.all(layer.gate_projection.bias == 3.0)

    folded.save_pretrained(tmp_path / "loop")
    config = json.loads((tmp_path / "loop" / "config.json").read_text())
    assert config["architectures"] == ["IQuestLoopCoderForCausalLM"]
    assert (config["loop_num"], config["loop_window_size"]) == (2, 8)
    reloaded = loop_model.LoopCoderForCausalLM.from_checkpoint(tmp_path / "loop", config)
    ids = torch.tensor([[5, 9, 100, 42, 7, 300, 12, 1, 2, 3, 4, 5]])
    with torch.no_grad():
        assert torch.allclose(reloaded(ids), folded(ids).logits, atol=1e-6)


def test_loop_training_picks_gate_and_continues(dense_dir: Path, tiny_corpus: Path,
                                                tmp_path: Path) -> None:
    out = tmp_path / "loop-run"
    cfg = TrainConfig(out=str(out), arch="loop", init_from=str(dense_dir), loop_window=8,
                      gate_bias_candidates="-4,4", shape="tiny", corpus_root=str(tiny_corpus),
                      vocab_size=600, seq_len=32, batch_size=2, max_steps=2, warmup_steps=1,
                      eval_tokens=64, log_every=1, threads=1, precision="fp32")
    assert train(cfg).step == 2
    log = [json.loads(line) for line in (out / LOSS_LOG).read_text().splitlines()]
    picked = log[0]
    losses = {float(k): v for k, v in picked["folded_heldout_loss_by_gate_bias"].items()}
    assert set(losses) == {-4.0, 4.0}
    assert picked["chosen_gate_bias"] == min(losses, key=losses.__getitem__)
    config = json.loads((out / "hf" / "config.json").read_text())
    assert config["architectures"] == ["IQuestLoopCoderForCausalLM"]
