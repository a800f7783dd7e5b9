"""Long-context decode (issue 19): K/V written in place vs the concatenating graph vs
onnxruntime-genai, on one random Llama checkpoint.

A seeded random Llama (hidden 512, 8 layers, 8 heads, 2 KV heads, 32K positions) is saved
once under --work, then exported from the same checkpoint: ours with in-place K/V (`inplace`),
ours as before (`concat`: past ++ new every step), by onnxruntime-genai's builder (fp32, CPU)
when --genai-python names a Python with onnxruntime-genai (its builder needs transformers and
torch), and our Loop model of the same size (`loop`: in place, window 64; `loop_concat` as
before, with --kinds). Each runs in its own process with the same threads, one after another
in one run: per prompt length, prefill tokens/s, decode tokens/s (1 / the median of --tokens
single-token steps, timed in process CPU time: on a shared machine wall time mostly measures
the neighbours; wall-clock rates are printed too), and per token the decode time minus the
first length's next to the attention work that length adds (2 x layers x heads x head_dim x
length multiply-adds); then each process's peak RSS and the weights' size.

    .venv/bin/python bench/long_context.py [--lengths 64,2048,8192] [--tokens 32] [--threads 1]
        [--kinds inplace,concat,loop] [--genai-python /work/scratch-h19/venv/bin/python]
        [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LLAMA = dict(vocab_size=8192, hidden_size=512, intermediate_size=1536, num_hidden_layers=8,
             num_attention_heads=8, num_key_value_heads=2, max_position_embeddings=32768,
             rope_theta=500000.0, tie_word_embeddings=False, initializer_range=0.05,
             eos_token_id=0, bos_token_id=None)
SEED = 19


def prompt_ids(length: int, vocab: int) -> list[int]:
    import numpy as np

    return [int(i) for i in np.random.default_rng(length).integers(1, vocab, size=length)]


LOOP = dict(LLAMA, architectures=["IQuestLoopCoderForCausalLM"], model_type="iquestloopcoder",
            loop_num=2, loop_window_size=64)


def save_loop(out: Path) -> None:
    """A random Loop checkpoint of the same size (random gates: both branches matter)."""
    import torch
    from safetensors.torch import save_file

    from inference.export.loop_model import LoopCoderForCausalLM
    from tests.unit.inference.conftest import build_tokenizer

    torch.manual_seed(SEED)
    model = LoopCoderForCausalLM(LOOP)
    with torch.no_grad():
        for layer in model.model.layers:
            layer.gate_projection.weight.normal_(0, 0.5)
            layer.gate_projection.bias.normal_(0, 0.5)
    out.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()},
              str(out / "model.safetensors"))
    (out / "config.json").write_text(json.dumps(LOOP))
    build_tokenizer(out / "tokenizer.json")


EXPORTS = {"inplace": ("hf", "inplace"), "concat": ("hf", "concat"),
           "loop": ("hf_loop", "inplace"), "loop_concat": ("hf_loop", "concat")}


def build(work: Path, kinds: list[str], genai_python: str | None) -> dict[str, Path]:
    """The checkpoints and their exports (reused when already there)."""
    dirs = {"hf": work / "hf", "hf_loop": work / "hf_loop"}
    if not (dirs["hf"] / "config.json").is_file():
        import torch
        from transformers import LlamaConfig, LlamaForCausalLM

        from tests.unit.inference.conftest import build_tokenizer

        torch.manual_seed(SEED)
        LlamaForCausalLM(LlamaConfig(**LLAMA)).save_pretrained(dirs["hf"])
        build_tokenizer(dirs["hf"] / "tokenizer.json")
    if any(EXPORTS[k][0] == "hf_loop" for k in kinds if k in EXPORTS):
        if not (dirs["hf_loop"] / "config.json").is_file():
            save_loop(dirs["hf_loop"])
    from inference.export import export_model

    for kind in kinds:
        if kind not in EXPORTS:
            continue
        dirs[kind] = work / kind
        if not (dirs[kind] / "model.onnx").is_file():
            source, cache = EXPORTS[kind]
            export_model(dirs[source], dirs[kind], kv_cache=cache)
    if genai_python:
        dirs["genai"] = work / "genai"
        if not (dirs["genai"] / "genai_config.json").is_file():
            subprocess.run([genai_python, "-m", "onnxruntime_genai.models.builder",
                            "-i", str(dirs["hf"]), "-o", str(dirs["genai"]), "-p", "fp32",
                            "-e", "cpu", "-c", str(work / "genai-cache")], check=True)
    return dirs


def ours(model_dir: Path, lengths: list[int], tokens: int, threads: int) -> list[dict]:
    """The engine's own prefill and step (what `Engine.generate` runs, minus sampling)."""
    from inference import Engine

    engine = Engine.load(model_dir, provider="cpu", threads=threads)
    engine.cache.max_saved = 0  # one slot: each prompt replaces the last (its memory freed)
    rows = []
    for length in lengths:
        prompt = prompt_ids(length, LLAMA["vocab_size"])
        start = clocks()
        slot, _ = engine.cache.acquire("completion", prompt, keep_last=False)
        logits = engine._prefill(slot, prompt, None)
        prefilled = clocks()
        steps = []
        for _ in range(tokens):
            began = clocks()
            logits = engine._step(slot, [int(logits.argmax())])
            steps.append(since(began))
        rows.append(row(length, since(start, prefilled), steps))
        slot.reset()
    return rows


def genai(model_dir: Path, lengths: list[int], tokens: int, threads: int) -> list[dict]:
    import onnxruntime_genai as og

    config = json.loads((model_dir / "genai_config.json").read_text())
    options = config["model"]["decoder"].setdefault("session_options", {})
    options["intra_op_num_threads"] = threads
    options["inter_op_num_threads"] = 1
    (model_dir / "genai_config.json").write_text(json.dumps(config, indent=2))
    model = og.Model(str(model_dir))
    rows = []
    for length in lengths:
        params = og.GeneratorParams(model)
        params.set_search_options(max_length=length + tokens + 2, do_sample=False)
        generator = og.Generator(model, params)
        start = clocks()
        generator.append_tokens(prompt_ids(length, LLAMA["vocab_size"]))
        prefilled = clocks()
        steps = []
        for _ in range(tokens):
            began = clocks()
            generator.generate_next_token()
            steps.append(since(began))
        rows.append(row(length, since(start, prefilled), steps))
        del generator
    return rows


def clocks() -> tuple[float, float]:
    """(wall, process CPU) seconds."""
    return time.perf_counter(), time.process_time()


def since(start: tuple[float, float], end: tuple[float, float] | None = None
          ) -> tuple[float, float]:
    end = end or clocks()
    return end[0] - start[0], end[1] - start[1]


def row(length: int, prefill: tuple[float, float], steps: list[tuple[float, float]]) -> dict:
    def median(values: list[float]) -> float:
        return sorted(values)[len(values) // 2]

    return {"length": length, "prefill_tok_s": length / prefill[1],
            "prefill_wall_tok_s": length / prefill[0],
            "decode_tok_s": 1 / median([cpu for _, cpu in steps]),
            "decode_wall_tok_s": 1 / median([wall for wall, _ in steps])}


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM: since its exec, unlike ru_maxrss, which
    keeps the parent's peak across fork + exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker(kind: str, model_dir: Path, lengths: list[int], tokens: int, threads: int) -> None:
    run = genai if kind == "genai" else ours
    rows = run(model_dir, lengths, tokens, threads)
    print(json.dumps({"rows": rows, "peak_rss_mb": peak_rss_mb()}))


def measure(kind: str, model_dir: Path, args: argparse.Namespace) -> dict:
    python = args.genai_python if kind == "genai" else sys.executable
    cmd = [python, __file__, "--worker", kind, str(model_dir), "--lengths", args.lengths,
           "--tokens", str(args.tokens), "--threads", str(args.threads)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}).stdout
    return json.loads(out.strip().splitlines()[-1])


def weights_mb(model_dir: Path) -> float:
    return sum(p.stat().st_size for p in model_dir.glob("*.onnx*")) / 2**20


def report(results: dict[str, dict], dirs: dict[str, Path]) -> None:
    cfg = LLAMA
    head_dim = cfg["hidden_size"] // cfg["num_attention_heads"]
    per_pos = 2 * cfg["num_hidden_layers"] * cfg["num_attention_heads"] * head_dim
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} "
          f"{os.getloadavg()[2]:.2f} (1/5/15 min)")
    kinds = list(results)
    print("decode tok/s by prompt length, CPU time (ms/token minus the first length's)")
    print(f"{'length':>7} {'attn MACs':>10} " + " ".join(f"{k:>22}" for k in kinds)
          + ("  inplace/genai" if "genai" in kinds else ""))
    base = {k: 1000 / results[k]["rows"][0]["decode_tok_s"] for k in kinds}
    for i, row in enumerate(results[kinds[0]]["rows"]):
        length = row["length"]
        cells = []
        for k in kinds:
            rate = results[k]["rows"][i]["decode_tok_s"]
            cells.append(f"{rate:8.1f} ({1000 / rate - base[k]:+7.2f} ms)")
        ratio = ""
        if "genai" in kinds:
            ours_rate = results["inplace"]["rows"][i]["decode_tok_s"]
            ratio = f"  {ours_rate / results['genai']['rows'][i]['decode_tok_s']:.2f}x"
        print(f"{length:>7} {per_pos * length / 1e6:>9.1f}M " + " ".join(
            f"{c:>22}" for c in cells) + ratio)
    print("decode tok/s, wall clock: " + "; ".join(
        f"{k} " + ", ".join(f"{r['length']}: {r['decode_wall_tok_s']:.1f}"
                            for r in results[k]["rows"]) for k in kinds))
    print("prefill tok/s (CPU time): " + "; ".join(
        f"{k} " + ", ".join(f"{r['length']}: {r['prefill_tok_s']:.0f}"
                            for r in results[k]["rows"]) for k in kinds))
    if "loop" in kinds:
        print("loop / dense decode time: " + ", ".join(
            f"{a['length']}: {b['decode_tok_s'] / a['decode_tok_s']:.2f}x" for a, b in
            zip(results["loop"]["rows"], results["inplace"]["rows"], strict=True)))
    print("peak RSS MB: " + ", ".join(f"{k} {results[k]['peak_rss_mb']:.0f}" for k in kinds)
          + "; weights MB: " + ", ".join(f"{k} {weights_mb(dirs[k]):.0f}" for k in kinds))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lengths", default="64,2048,8192")
    parser.add_argument("--tokens", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--kinds", default="inplace,concat,loop")
    parser.add_argument("--genai-python", default=None)
    parser.add_argument("--work", default=str(ROOT / "bench" / "_work" / "long_context"))
    parser.add_argument("--worker", nargs=2, metavar=("KIND", "DIR"))
    args = parser.parse_args()
    room = LLAMA["max_position_embeddings"] - args.tokens - 2  # prompt + decoded tokens fit
    lengths = [min(int(x), room) for x in args.lengths.split(",")]
    if args.worker:
        worker(args.worker[0], Path(args.worker[1]), lengths, args.tokens, args.threads)
        return 0
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    kinds = args.kinds.split(",")
    dirs = build(work, kinds, args.genai_python)
    kinds += ["genai"] if args.genai_python else []
    results = {k: measure(k, dirs[k], args) for k in kinds}
    report(results, dirs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
