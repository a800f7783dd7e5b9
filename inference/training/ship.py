"""Export trained checkpoints into the bundled model dirs and write their model cards.

    python -m inference.training.ship --hf /work/train-out/dense/hf \\
        --out inference/models/default [--eval-json eval.json] [--card-only]

The export is the project's own (``inference.export.export_model``; int8 unless ``--dtype``
says otherwise); this module
only names the model and writes ``MODEL_CARD.md`` from the run's ``training_summary.json``,
``loss_log.jsonl`` and, when given, the report of ``bench/model_eval.py``.
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

CARD = "MODEL_CARD.md"
DATA_LIST = "TRAINING_DATA.json"
DISCLAIMER = "a small offline model for trying codeflow; point it at a real model for real work"


@dataclass(frozen=True)
class RunFacts:
    """What a training run's output dir says about it."""

    summary: dict[str, Any]
    log: list[dict[str, Any]]
    run_dir: Path
    hf_config: dict[str, Any]

    @classmethod
    def read(cls, hf_dir: Path) -> RunFacts:
        summary = json.loads((hf_dir / "training_summary.json").read_text(encoding="utf-8"))
        run_dir = Path(summary["config"]["out"])
        log_path = run_dir / "loss_log.jsonl"
        lines = log_path.read_text().splitlines() if log_path.is_file() else []
        hf_config = json.loads((hf_dir / "config.json").read_text(encoding="utf-8"))
        return cls(summary, [json.loads(line) for line in lines], run_dir, hf_config)

    def first(self, key: str) -> Any:
        return next((r[key] for r in self.log if key in r), None)


def export(hf_dir: Path, out_dir: Path, name: str, dtype: str = "int8") -> dict[str, Any]:
    """Run the project's exporter (verified against PyTorch)."""
    from inference.export import export_model

    result = export_model(hf_dir, out_dir, dtype=dtype, name=name)
    log.info("exported %s: max abs diff %.3g, top-1 agreement %.3f, %.1fs", out_dir,
             result.max_abs_diff, result.top1_agreement, result.seconds)
    return {"max_abs_diff": result.max_abs_diff, "top1_agreement": result.top1_agreement,
            "seconds": round(result.seconds, 1)}


HF_FILES = ("config.json", "generation_config.json", "special_tokens_map.json", "tokenizer.json",
            "tokenizer_config.json")


def ship_hf_fp16(hf_dir: Path, out_dir: Path) -> None:
    """Put the checkpoint in fp16 under ``out_dir/hf`` (what the llama.cpp tests convert to
    GGUF, so that both sides of those tests run the same trained weights)."""
    import torch
    from transformers import AutoModelForCausalLM

    target = out_dir / "hf"
    if target.exists():
        shutil.rmtree(target)
    model = AutoModelForCausalLM.from_pretrained(hf_dir, dtype=torch.float16)
    model.save_pretrained(target, safe_serialization=True)
    for name in HF_FILES:
        if (hf_dir / name).is_file() and not (target / name).exists():
            shutil.copyfile(hf_dir / name, target / name)


def declare_infill(out_dir: Path, order: str) -> None:
    """Write the infill order into ``codeflow-model.json`` (``prompt_format.infill``)."""
    path = out_dir / "codeflow-model.json"
    spec = json.loads(path.read_text(encoding="utf-8"))
    spec.setdefault("prompt_format", {})["infill"] = order
    path.write_text(json.dumps(spec, indent=2) + "\n", encoding="utf-8")


def dir_size_mb(path: Path) -> float:
    """Size of the model dir's own files (not of anything others keep in subdirectories)."""
    return round(sum(p.stat().st_size for p in path.iterdir() if p.is_file()) / 1e6, 2)


def render_card(name: str, out_dir: Path, facts: RunFacts, evals: dict[str, Any] | None,
                extra: Sequence[str]) -> str:
    """The ``MODEL_CARD.md`` text."""
    s, cfg, hf = facts.summary, facts.summary["config"], facts.hf_config
    lines = [
        f"# {name}", "", f"> {DISCLAIMER}", "",
        "## What it is",
        f"- Architecture: {_arch(cfg, hf)}; {s['parameters']:,} parameters; exported "
        f"{_dtype_words(out_dir)} by `codeflow export` (`inference.export`).",
        "- Tokenizer: byte-level BPE, 8,192 tokens, trained on the training files; IQuest "
        "special tokens (`<|endoftext|>` = id 0 = EOS, `<|im_start|>`, `<|im_end|>`, "
        "`<|fim_prefix|>`, `<|fim_suffix|>`, `<|fim_middle|>`, `<|repo_name|>`, `<|file_sep|>`).",
        f"- Size on disk: {dir_size_mb(out_dir)} MB.", "",
        "## Data",
        "- The Python standard library of CPython "
        f"{platform.python_version()} (`sysconfig.get_paths()['stdlib']`, PSF licence), "
        "`.py` files only, no site-packages, no test-data directories; test suites drawn at "
        "half weight.",
        *_extra_data(cfg),
        "- Held out by file: `sha1(path) mod 100 < 5` (85 of 1,638 files); never trained on.",
        _samples_line(cfg), "",
        "## Training",
        f"- `python -m inference.training.train --out {cfg['out']} "
        f"{_flags(cfg)}` (seed {cfg['seed']}).",
        f"- Steps: {s['step']:,}; tokens seen: {s['tokens']:,} "
        f"(batch {cfg['batch_size']} x {cfg['seq_len']}); wall time: {s['elapsed_s'] / 60:.1f} "
        "min of training.",
        f"- Hardware: {_hardware()}; {cfg['threads']} torch thread(s), bf16 autocast when the "
        "CPU has AVX512-BF16, under `nice`, sharing the machine with other work.",
        f"- Schedule: AdamW (0.9, 0.95), wd {cfg['weight_decay']}, lr {cfg['lr']}, "
        f"{cfg['warmup_steps']} warmup steps, constant, linear decay to "
        f"{cfg['min_lr_ratio']}x over the last {cfg['decay_fraction']:.0%} of the time budget.",
        f"- Held-out loss at the end of training (PyTorch, bf16 autocast, first "
        f"{cfg['eval_tokens']:,} held-out tokens): {s['heldout_loss']:.3f} nats/token.",
        *extra, "",
    ]
    lines += _eval_section(evals, _dtype(out_dir))
    return "\n".join(lines) + "\n"


def _arch(cfg: dict[str, Any], hf: dict[str, Any]) -> str:
    dense = (f"LlamaForCausalLM, hidden {hf['hidden_size']}, {hf['num_hidden_layers']} layers, "
             f"{hf['num_attention_heads']} heads / {hf['num_key_value_heads']} KV heads (head dim "
             f"{hf['hidden_size'] // hf['num_attention_heads']}), MLP {hf['intermediate_size']}, "
             f"RoPE θ {hf['rope_theta']:g}, max positions {hf['max_position_embeddings']}, "
             f"{'tied' if hf.get('tie_word_embeddings') else 'untied'} embeddings")
    if cfg["arch"] == "loop":
        return (f"IQuestLoopCoder (2 passes with shared weights, local window "
                f"{hf['loop_window_size']}), folded from the dense default model ({dense})")
    return dense


# Sample-mix settings of ``TrainConfig`` and their defaults (runs older than a key lack it).
MIX_DEFAULTS = {"fim_rate": 0.5, "line_fim_rate": 0.5, "middle_weight": 1.0, "min_window_chars": 0,
                "spm_rate": 0.0}


def _flags(cfg: dict[str, Any]) -> str:
    keys = ("arch", "shape", "init_from", "max_minutes", "seq_len", "batch_size", "lr",
            "warmup_steps", "decay_fraction", "threads", "eval_tokens", "extra_root")
    if cfg.get("extra_root"):
        keys += ("extra_rate",)
    keys += tuple(k for k, default in MIX_DEFAULTS.items() if cfg.get(k, default) != default)
    return " ".join(f"--{k.replace('_', '-')} {cfg[k]}" for k in keys if cfg.get(k) is not None)


def _extra_data(cfg: dict[str, Any]) -> list[str]:
    """The card's line on the extra corpus (``inference.training.extra``), if the run had one."""
    root = cfg.get("extra_root")
    if not root:
        return []
    manifest_path = Path(root) / "MANIFEST.json"
    if not manifest_path.is_file():
        return [f"- Extra corpus from `{root}` ({cfg.get('extra_rate')} of the samples)."]
    dists = json.loads(manifest_path.read_text(encoding="utf-8"))["distributions"]
    chars = sum(d["chars"] for d in dists) / 1e6
    biggest = sorted(dists, key=lambda d: -d["chars"])[:8]
    named = ", ".join(f"{d['name']} {d['version']}" for d in biggest)
    return [
        f"- Extra corpus, {cfg.get('extra_rate', 0):.0%} of the samples (training only, never "
        f"held out): `.py` files of {len(dists)} installed distributions whose metadata declares "
        f"a permissive licence (MIT, BSD, Apache, PSF, ...; MPL/GPL/LGPL left out), gathered by "
        f"`python -m inference.training.extra` (at most 3 M characters each, no generated "
        f"files, no copies of standard-library files): {chars:.1f} M characters, the largest "
        f"{named}; all of them, with versions and licences, in `{DATA_LIST}` beside this card.",
    ]


def _samples_line(cfg: dict[str, Any]) -> str:
    """The sample mix of a run, from its config (older runs lack the newer keys)."""
    fim, line, weight, low, spm = (cfg.get(k, default) for k, default in MIX_DEFAULTS.items())
    order = (f"PSM order, {spm:.0%} of them in SPM order (variant 2: "
             "`<|fim_prefix|><|fim_suffix|>{suffix}<|fim_middle|>{prefix}{middle}`)"
             if spm else "PSM order")
    text = (f"- Samples: windows of {f'{low:,}-' if low else ''}3,000 characters; FIM in {order} "
            f"for {fim:.0%} of them ({line:.0%} of those cut at line boundaries, a middle "
            "of 1-3 lines, the rest at random characters); 20% in the repo-level layout "
            "(`<|repo_name|>`, `<|file_sep|>path`), the current file FIM or plain.")
    if weight != 1.0:
        text += (f" The tokens of a PSM middle (and the `<|endoftext|>` that ends it) weigh "
                 f"{weight:g}x in the loss when the middle's prefix is in the same row.")
    return text


def _hardware() -> str:
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        model = next(x.split(":", 1)[1].strip() for x in lines if x.startswith("model name"))
    except (OSError, StopIteration):
        model = platform.processor() or "unknown CPU"
    return f"2 CPU cores ({model}), no GPU"


def _dtype_words(out_dir: Path) -> str:
    """How the model dir's weights are stored, from its ``codeflow-model.json``."""
    dtype = _dtype(out_dir)
    if dtype == "int8":
        return "int8 (dynamic MatMul weights, fp16 embedding table)"
    return f"{dtype} (every weight)"


def _dtype(out_dir: Path) -> str:
    spec = json.loads((out_dir / "codeflow-model.json").read_text(encoding="utf-8"))
    return str(spec.get("dtype", "int8"))


def _eval_section(evals: dict[str, Any] | None, dtype: str = "int8") -> list[str]:
    if not evals:
        return ["## Evaluation", "", "Not measured yet: run `bench/model_eval.py`."]
    m, b = evals["model_scores"], evals["baseline_scores"]
    order = evals.get("infill_order", "psm")
    return [
        f"## Evaluation (`.venv/bin/python bench/model_eval.py`, ONNX {dtype}, CPU provider)", "",
        f"- Held-out loss of the exported graph: {evals['heldout_loss']} nats/token "
        f"({evals['loss_tokens']:,} tokens).",
        f"- Single-line infill, {evals['tasks']} seeded tasks (a random non-blank line inside a "
        "function of a held-out file; greedy until newline/EOS):", "",
        "| | exact match | edit similarity | syntactically valid |", "|---|---|---|---|",
        f"| this model, {order.upper()} (the order its `codeflow-model.json` declares) | "
        f"{m['exact_match']:.3f} | {m['edit_similarity']:.3f} | {m['syntax_valid']:.3f} |",
        *_other_order_row(order, evals.get("other_order_scores")),
        f"| copy the previous line | {b['exact_match']:.3f} | {b['edit_similarity']:.3f} | "
        f"{b['syntax_valid']:.3f} |",
        *_left_to_right_row(evals.get("left_to_right_scores")), "",
        "  Edit similarity = 1 − Levenshtein / max length; valid = no more tree-sitter "
        "ERROR/MISSING nodes than the original file.",
        f"- Decode speed (engine, CPU, 2 threads): {evals['decode_tokens_per_s']} tokens/s.",
    ]


def _other_order_row(order: str, scores: dict[str, float] | None) -> list[str]:
    """The same model prompted in the infill order it does not declare."""
    if not scores:
        return []
    other = "PSM" if order == "spm" else "SPM"
    return [f"| this model, {other} | {scores['exact_match']:.3f} | "
            f"{scores['edit_similarity']:.3f} | {scores['syntax_valid']:.3f} |"]


def _left_to_right_row(scores: dict[str, float] | None) -> list[str]:
    """The diagnostic row: the same model without FIM, continuing the prefix left to right."""
    if not scores:
        return []
    return [f"| this model left to right (prefix only, no FIM; a diagnostic) | "
            f"{scores['exact_match']:.3f} | {scores['edit_similarity']:.3f} | "
            f"{scores['syntax_valid']:.3f} |"]


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--hf", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--name", default=None)
    p.add_argument("--eval-json", type=Path, help="bench/model_eval.py --json output")
    p.add_argument("--card-only", action="store_true")
    p.add_argument("--with-hf", action="store_true",
                   help="also ship the checkpoint in fp16 under OUT/hf (for the llama.cpp tests)")
    p.add_argument("--note", action="append", default=[], help="extra training line for the card")
    p.add_argument("--dtype", choices=("int8", "fp16", "fp32"), default="int8",
                   help="the weights' dtype in the exported model.onnx")
    p.add_argument("--infill", choices=("psm", "spm"), default="psm",
                   help="the infill order to declare in codeflow-model.json (prompt_format.infill)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    facts = RunFacts.read(args.hf)
    name = args.name or ("codeflow-default-loop" if facts.summary["config"]["arch"] == "loop"
                         else "codeflow-default")
    if not args.card_only:
        export(args.hf, args.out, name, args.dtype)
        declare_infill(args.out, args.infill)
        if args.with_hf:
            ship_hf_fp16(args.hf, args.out)
    evals = None
    if args.eval_json and args.eval_json.is_file():
        reports = json.loads(args.eval_json.read_text())
        evals = next((r for r in reports if Path(r["model"]).resolve() == args.out.resolve()),
                     None)
    extra_root = facts.summary["config"].get("extra_root")
    if extra_root and (Path(extra_root) / "MANIFEST.json").is_file():
        shutil.copyfile(Path(extra_root) / "MANIFEST.json", args.out / DATA_LIST)
    (args.out / CARD).write_text(render_card(name, args.out, facts, evals, args.note))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
