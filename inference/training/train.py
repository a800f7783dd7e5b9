"""Train the bundled default model: ``python -m inference.training.train --out DIR ...``.

Reproducible (seeded; a batch depends only on the step number), resumable (``checkpoint.pt`` in
the output dir is picked up on restart and the step count continues), with a progress bar and a
JSON-lines loss log (``loss_log.jsonl``). The learning-rate schedule is defined by the budget:
linear warmup over ``--warmup-steps``, constant, then a linear decay to ``--min-lr-ratio`` in the
last ``--decay-fraction`` of the budget (``--max-minutes`` of training wall time, or
``--max-steps``, whichever ends first). At the end the model is written as an HF dir
(``DIR/hf``: safetensors + tokenizer) ready for ``codeflow export``.

``--arch loop --init-from HF_DIR`` folds a dense checkpoint into the IQuest Loop architecture
(see ``inference.training.loop``) and continues training it.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch
import torch.nn.functional as F
from tokenizers import Tokenizer
from tqdm import tqdm

from inference.training.data import Corpus, Packer, SampleMix, load_corpus, load_extra
from inference.training.model import SHAPES, build_model, parameter_count
from inference.training.tokenizer import (
    DEFAULT_VOCAB_SIZE,
    ENDOFTEXT,
    FIM_MIDDLE,
    FIM_PREFIX,
    FIM_SUFFIX,
    save_hf_tokenizer,
    train_tokenizer,
)

log = logging.getLogger(__name__)

CHECKPOINT = "checkpoint.pt"
LOSS_LOG = "loss_log.jsonl"


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a run (stored in the checkpoint)."""

    out: str
    arch: str = "dense"
    shape: str = "default"
    init_from: str | None = None
    loop_window: int = 64
    gate_bias: float = 0.0
    gate_bias_candidates: str = "-4,0,4"
    seed: int = 1234
    batch_size: int = 4
    seq_len: int = 1024
    lr: float = 2e-3
    min_lr_ratio: float = 0.1
    warmup_steps: int = 200
    decay_fraction: float = 0.15
    weight_decay: float = 0.1
    max_minutes: float | None = None
    max_steps: int | None = None
    eval_every_minutes: float = 5.0
    eval_tokens: int = 65_536
    log_every: int = 10
    threads: int = 2
    device: str = "auto"
    precision: str = "auto"
    vocab_size: int = DEFAULT_VOCAB_SIZE
    corpus_root: str | None = None
    extra_root: str | None = None
    extra_rate: float = 0.15
    fim_rate: float = 0.5
    line_fim_rate: float = 0.5
    middle_weight: float = 1.0
    min_window_chars: int = 0
    spm_rate: float = 0.0


@dataclass(frozen=True)
class Progress:
    """Where a run stands: steps, tokens and training wall time so far."""

    step: int = 0
    tokens: int = 0
    elapsed_s: float = 0.0


def cpu_has_bf16() -> bool:
    """True when the CPU advertises AVX512-BF16 (or AMX-BF16) in /proc/cpuinfo."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def pick_precision(name: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype, or None for plain fp32."""
    if name == "fp32":
        return None
    if name == "bf16":
        return torch.bfloat16
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else None
    return torch.bfloat16 if cpu_has_bf16() else None


def progress_fraction(cfg: TrainConfig, prog: Progress) -> float:
    """How much of the budget is spent, in [0, ∞)."""
    fractions = []
    if cfg.max_steps:
        fractions.append(prog.step / cfg.max_steps)
    if cfg.max_minutes:
        fractions.append(prog.elapsed_s / (cfg.max_minutes * 60.0))
    if not fractions:
        raise ValueError("set --max-minutes or --max-steps")
    return max(fractions)


def lr_at(cfg: TrainConfig, prog: Progress) -> float:
    """Warmup, constant, then linear decay to ``min_lr_ratio`` over the last part of the budget."""
    warm = min(1.0, (prog.step + 1) / max(1, cfg.warmup_steps))
    frac = progress_fraction(cfg, prog)
    start = 1.0 - cfg.decay_fraction
    if frac <= start:
        return cfg.lr * warm
    left = max(0.0, 1.0 - frac) / cfg.decay_fraction
    return cfg.lr * warm * (cfg.min_lr_ratio + (1.0 - cfg.min_lr_ratio) * left)


def get_tokenizer(out: Path, corpus: Corpus, vocab_size: int,
                  init_from: Path | None = None) -> Tokenizer:
    """``out/tokenizer.json``, else the initial checkpoint's, else one trained on the corpus."""
    path = out / "tokenizer.json"
    if not path.exists() and init_from is not None and (init_from / "tokenizer.json").exists():
        out.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(init_from / "tokenizer.json", path)  # continue with the model's tokenizer
    if path.exists():
        return Tokenizer.from_file(str(path))
    tok = train_tokenizer((f.text for f in corpus.train), vocab_size)
    out.mkdir(parents=True, exist_ok=True)
    tok.save(str(path))
    return tok


def heldout_rows(corpus: Corpus, tok: Tokenizer, seq_len: int, max_tokens: int) -> torch.Tensor:
    """Held-out files joined by ``<|endoftext|>``, cut into rows of ``seq_len + 1`` ids."""
    eos = tok.token_to_id(ENDOFTEXT)
    ids: list[int] = []
    for enc in tok.encode_batch([f.text for f in corpus.heldout], add_special_tokens=False):
        ids.extend(enc.ids)
        ids.append(eos)
        if len(ids) >= max_tokens + seq_len:
            break
    width = seq_len + 1
    rows = max(1, min(len(ids) // width, max_tokens // seq_len))
    return torch.tensor(ids[: rows * width], dtype=torch.long).view(rows, width)


def lm_loss(model: torch.nn.Module, rows: torch.Tensor, autocast: torch.dtype | None,
            weights: torch.Tensor | None = None) -> torch.Tensor:
    """Mean next-token cross-entropy (nats/token) of ``model`` on ``rows``; with ``weights``
    (one per target) the weighted mean."""
    inputs, targets = rows[:, :-1], rows[:, 1:]
    with torch.autocast(rows.device.type, dtype=autocast or torch.float32,
                        enabled=autocast is not None):
        logits = model(input_ids=inputs).logits
    flat = logits.float().reshape(-1, logits.shape[-1])
    if weights is None:
        return F.cross_entropy(flat, targets.reshape(-1))
    losses = F.cross_entropy(flat, targets.reshape(-1), reduction="none")
    w = weights.reshape(-1).to(losses.dtype)
    return (losses * w).sum() / w.sum()


@dataclass(frozen=True)
class FimIds:
    """The token ids that delimit a FIM sample."""

    prefix: int
    middle: int
    eos: int
    suffix: int = -1

    @classmethod
    def of(cls, tok: Tokenizer) -> FimIds:
        return cls(tok.token_to_id(FIM_PREFIX), tok.token_to_id(FIM_MIDDLE),
                   tok.token_to_id(ENDOFTEXT), tok.token_to_id(FIM_SUFFIX))


def middle_weights(rows: Sequence[Sequence[int]], ids: FimIds, weight: float) -> torch.Tensor:
    """Per-target loss weights: ``weight`` for the targets of a FIM middle (its tokens and the
    ``<|endoftext|>`` that ends it) whose ``<|fim_prefix|>`` lies in the same row, else 1.

    The middle is the only part of a PSM sample where the model must join the prefix's end to
    the suffix; it is a few percent of the tokens, so its signal is weak at weight 1. A middle
    whose prefix was cut off by packing keeps weight 1 (its context is gone).

    SPM samples (``<|fim_prefix|>`` directly followed by ``<|fim_suffix|>``) keep weight 1: after
    their ``<|fim_middle|>`` come the prefix and then the middle, with no token between them, and
    the middle there is a plain left-to-right continuation of the prefix. (A PSM sample with an
    empty prefix looks the same and keeps weight 1 too.)"""
    out = torch.ones(len(rows), max(0, len(rows[0]) - 1) if rows else 0)
    for r, row in enumerate(rows):
        seen_prefix = in_middle = False
        for i, token in enumerate(row[:-1]):
            if token == ids.prefix:
                spm = i + 1 < len(row) and row[i + 1] == ids.suffix
                seen_prefix, in_middle = not spm, False
            elif token == ids.middle:
                in_middle = seen_prefix
            elif token == ids.eos:
                seen_prefix = in_middle = False
            if in_middle:
                out[r, i] = weight
    return out


@torch.no_grad()
def evaluate(model: torch.nn.Module, rows: torch.Tensor, autocast: torch.dtype | None,
             batch_size: int) -> float:
    """Held-out loss, averaged over all rows."""
    model.eval()
    total = 0.0
    for i in range(0, rows.shape[0], batch_size):
        chunk = rows[i:i + batch_size]
        total += lm_loss(model, chunk, autocast).item() * chunk.shape[0]
    model.train()
    return total / rows.shape[0]


def make_optimizer(model: torch.nn.Module, cfg: TrainConfig) -> torch.optim.AdamW:
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2 and "gate" not in n]
    rest = [p for n, p in model.named_parameters() if not (p.dim() >= 2 and "gate" not in n)]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay},
              {"params": rest, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=(0.9, 0.95), eps=1e-8)


def build(cfg: TrainConfig, vocab_size: int) -> torch.nn.Module:
    """The model a config asks for, before any checkpoint is loaded."""
    shape = replace(SHAPES[cfg.shape], vocab_size=vocab_size)
    if cfg.arch == "dense":
        if cfg.init_from:
            from transformers import LlamaForCausalLM

            return LlamaForCausalLM.from_pretrained(cfg.init_from, torch_dtype=torch.float32)
        return build_model(shape, cfg.seed)
    if cfg.arch == "loop":
        from inference.training.loop import fold_dense

        if not cfg.init_from:
            raise ValueError("--arch loop needs --init-from DENSE_HF_DIR")
        return fold_dense(Path(cfg.init_from), cfg.loop_window, cfg.gate_bias)
    raise ValueError(f"unknown --arch {cfg.arch!r}")


def save_checkpoint(out: Path, model: torch.nn.Module, opt: torch.optim.Optimizer,
                    cfg: TrainConfig, prog: Progress) -> None:
    """Atomically write ``out/checkpoint.pt``."""
    tmp = out / (CHECKPOINT + ".tmp")
    torch.save({"model": model.state_dict(), "optim": opt.state_dict(),
                "progress": asdict(prog),
                "config": asdict(cfg)}, tmp)
    os.replace(tmp, out / CHECKPOINT)


def load_checkpoint(out: Path, model: torch.nn.Module,
                    opt: torch.optim.Optimizer) -> Progress | None:
    """Restore model and optimiser from ``out/checkpoint.pt``; None when there is none."""
    path = out / CHECKPOINT
    if not path.exists():
        return None
    state = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(state["model"])
    opt.load_state_dict(state["optim"])
    return Progress(**state["progress"])


def append_log(out: Path, record: dict[str, object]) -> None:
    with (out / LOSS_LOG).open("a") as fh:
        fh.write(json.dumps(record) + "\n")


def save_hf(model: torch.nn.Module, tok: Tokenizer, out_dir: Path, cfg: TrainConfig,
            prog: Progress, heldout: float) -> None:
    """Write the HF dir (safetensors, config, tokenizer, a training summary)."""
    model.save_pretrained(out_dir, safe_serialization=True)
    save_hf_tokenizer(tok, out_dir, model.config.max_position_embeddings)
    summary = {"config": cfg.__dict__, "step": prog.step, "tokens": prog.tokens,
               "elapsed_s": round(prog.elapsed_s, 1), "heldout_loss": round(heldout, 4),
               "parameters": parameter_count(model)}
    (out_dir / "training_summary.json").write_text(json.dumps(summary, indent=2) + "\n")


def train(cfg: TrainConfig) -> Progress:
    """Run (or resume) training until the budget is spent; returns the final progress."""
    torch.set_num_threads(cfg.threads)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    device = pick_device(cfg.device)
    autocast = pick_precision(cfg.precision, device)
    corpus = load_corpus(Path(cfg.corpus_root) if cfg.corpus_root else None)
    init = Path(cfg.init_from) if cfg.init_from else None
    tok = get_tokenizer(out, corpus, cfg.vocab_size, init)
    model = build(cfg, tok.get_vocab_size()).to(device)
    opt = make_optimizer(model, cfg)
    prog = load_checkpoint(out, model, opt) or Progress()
    log.info("model: %d parameters, device %s, autocast %s, start step %d",
             parameter_count(model), device, autocast, prog.step)
    extra = load_extra(Path(cfg.extra_root)) if cfg.extra_root else ()
    packer = Packer(corpus.train, tok, cfg.seq_len, cfg.seed,
                    SampleMix(fim_rate=cfg.fim_rate, line_fim_rate=cfg.line_fim_rate,
                              extra_rate=cfg.extra_rate,
                              min_window_chars=cfg.min_window_chars,
                              spm_rate=cfg.spm_rate), extra)
    held = heldout_rows(corpus, tok, cfg.seq_len, cfg.eval_tokens).to(device)
    if prog.step == 0:
        if cfg.arch == "loop" and cfg.gate_bias_candidates:
            initial = _pick_gate(cfg, model, held, autocast)
        else:
            initial = evaluate(model, held, autocast, cfg.batch_size)
        append_log(out, {"step": 0, "tokens": 0, "elapsed_s": 0.0, "heldout_loss": initial})
    prog, heldout = _loop(cfg, model, opt, packer, held, autocast, prog, device)
    save_checkpoint(out, model, opt, cfg, prog)
    save_hf(model, tok, out / "hf", cfg, prog, heldout)
    log.info("done: step %d, %d tokens, %.1f min, held-out loss %.4f",
             prog.step, prog.tokens, prog.elapsed_s / 60, heldout)
    return prog


def _loop(cfg: TrainConfig, model: torch.nn.Module, opt: torch.optim.Optimizer, packer: Packer,
          held: torch.Tensor, autocast: torch.dtype | None, prog: Progress,
          device: torch.device) -> tuple[Progress, float]:
    out = Path(cfg.out)
    model.train()
    last_eval = prog.elapsed_s
    bar = tqdm(total=cfg.max_steps, initial=prog.step, unit="step", mininterval=10,
               file=sys.stderr, dynamic_ncols=True)
    heldout = math.nan
    fim = FimIds.of(packer.tokenizer)
    while progress_fraction(cfg, prog) < 1.0:
        t0 = time.monotonic()
        lr = lr_at(cfg, prog)
        for group in opt.param_groups:
            group["lr"] = lr
        batch = packer.batch(prog.step, cfg.batch_size)
        rows = torch.tensor(batch, device=device)
        weights = None
        if cfg.middle_weight != 1.0:
            weights = middle_weights(batch, fim, cfg.middle_weight).to(device)
        loss = lm_loss(model, rows, autocast, weights)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        dt = time.monotonic() - t0
        n_tok = cfg.batch_size * cfg.seq_len
        prog = Progress(prog.step + 1, prog.tokens + n_tok, prog.elapsed_s + dt)
        bar.update(1)
        bar.set_postfix(loss=f"{loss.item():.3f}", lr=f"{lr:.2e}", tok_s=f"{n_tok / dt:.0f}")
        if prog.step % cfg.log_every == 0:
            append_log(out, {"step": prog.step, "tokens": prog.tokens,
                             "elapsed_s": round(prog.elapsed_s, 1), "loss": round(loss.item(), 4),
                             "lr": lr, "tokens_per_s": round(n_tok / dt)})
        if prog.elapsed_s - last_eval >= cfg.eval_every_minutes * 60:
            heldout = _eval_and_save(cfg, model, opt, held, autocast, prog)
            last_eval = prog.elapsed_s
    bar.close()
    heldout = _eval_and_save(cfg, model, opt, held, autocast, prog)
    return prog, heldout


def _eval_and_save(cfg: TrainConfig, model: torch.nn.Module, opt: torch.optim.Optimizer,
                   held: torch.Tensor, autocast: torch.dtype | None, prog: Progress) -> float:
    heldout = evaluate(model, held, autocast, cfg.batch_size)
    append_log(Path(cfg.out), {"step": prog.step, "tokens": prog.tokens,
                               "elapsed_s": round(prog.elapsed_s, 1), "heldout_loss": heldout})
    save_checkpoint(Path(cfg.out), model, opt, cfg, prog)
    _snapshot(cfg, model, prog, heldout)
    log.info("step %d: held-out loss %.4f", prog.step, heldout)
    return heldout


def _pick_gate(cfg: TrainConfig, model: torch.nn.Module, held: torch.Tensor,
               autocast: torch.dtype | None) -> float:
    """Set the best gate bias of the folded model; returns its held-out loss."""
    from inference.training.loop import choose_gate_bias

    candidates = tuple(float(x) for x in cfg.gate_bias_candidates.split(","))
    losses = choose_gate_bias(model, held, candidates, autocast, cfg.batch_size)
    best = min(losses, key=losses.__getitem__)
    append_log(Path(cfg.out), {"step": 0, "folded_heldout_loss_by_gate_bias": losses,
                               "chosen_gate_bias": best})
    return losses[best]


def _snapshot(cfg: TrainConfig, model: torch.nn.Module, prog: Progress, heldout: float) -> None:
    """Replace ``out/hf-snapshot`` with the current weights (usable while training goes on)."""
    out = Path(cfg.out)
    tmp, final = out / "hf-snapshot.tmp", out / "hf-snapshot"
    shutil.rmtree(tmp, ignore_errors=True)
    save_hf(model, Tokenizer.from_file(str(out / "tokenizer.json")), tmp, cfg, prog, heldout)
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)


def parse_args(argv: Sequence[str] | None = None) -> TrainConfig:
    p = argparse.ArgumentParser(prog="python -m inference.training.train", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="output dir (checkpoint, log, hf/)")
    defaults = TrainConfig(out="")
    for name, value in defaults.__dict__.items():
        if name == "out":
            continue
        flag = "--" + name.replace("_", "-")
        kind = type(value) if value is not None else (int if name == "max_steps" else
                                                        float if name == "max_minutes" else str)
        p.add_argument(flag, type=kind, default=value)
    args = p.parse_args(argv)
    return TrainConfig(**vars(args))


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    cfg = parse_args(argv)
    if cfg.max_minutes is None and cfg.max_steps is None:
        log.error("set --max-minutes or --max-steps")
        return 2
    train(cfg)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
