"""Real-size export benchmark: a random 1.1B Llama (and a Loop model of the same width) through
`codeflow export` in fp32, fp16 and int8, then `codeflow generate` on the exports.

The dense model is TinyLlama-shaped (hidden 2048, 22 layers, GQA 32/4, intermediate 5632,
vocab 32000; seeded random weights saved as fp32 safetensors, ~4.4 GB). Each export runs in its
own child process; figures per export: wall time and peak RSS (the child's ru_maxrss), and
peak RSS / fp32 weight size (target <= 1.5). Then, each in a child process:
  - `codeflow generate` on the int8 and fp32 exports with a 2048-token prompt and 16 new tokens
    (greedy): time to first token and decode tokens/s;
  - the same prompt through PyTorch (transformers, fp32, KV cache, greedy): its TTFT, decode
    tokens/s, and whether its 16 tokens equal the fp32 export's (and the int8 export's).
The Loop model (same width, --loop-layers layers) is exported in --loop-dtypes (fp32, fp16 and
int8; each verified against PyTorch, so an export that finishes agrees within its dtype's
tolerance) and each export generates from a 256-token prompt; the fp16 export also reports
whether every weight is stored in fp16. --layers 0 skips the dense model (the Loop part only).

    .venv/bin/python bench/export_real_size.py [--work /tmp/DIR] [--layers 22] [--loop-layers 10]
        [--dtypes fp32,fp16,int8] [--loop-dtypes fp32,fp16,int8] [--no-verify int8]
        [--generate int8,fp32] [--json OUT.json]

CODEFLOW_BENCH_TINY=1 shrinks the models (a smoke test of this script, not a figure).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DENSE = dict(vocab_size=32000, hidden_size=2048, intermediate_size=5632, num_hidden_layers=22,
             num_attention_heads=32, num_key_value_heads=4, max_position_embeddings=4096,
             rope_theta=10000.0, initializer_range=0.02, tie_word_embeddings=False,
             eos_token_id=2, bos_token_id=1, rms_norm_eps=1e-5)
if os.environ.get("CODEFLOW_BENCH_TINY"):  # smoke test of the script itself (not a figure)
    DENSE.update(vocab_size=1000, hidden_size=256, intermediate_size=512,
                 num_attention_heads=8, num_key_value_heads=2)
PROMPT_TOKENS = 2048
NEW_TOKENS = 16


def child(*args: str) -> dict[str, Any]:
    """Run this script's `args` sub-command in a fresh process; its last stdout line is JSON."""
    proc = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True,
                          cwd=ROOT)
    sys.stderr.write(proc.stderr[-4000:])
    if proc.returncode != 0:
        return {"error": f"exit {proc.returncode}", "stderr_tail": proc.stderr[-1500:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2  # KiB on Linux


def write_tokenizer(path: Path) -> None:
    """A small byte-level BPE tokenizer (the weights are random: any tokenizer serves)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    corpus = ["def add(a, b):\n    return a + b\n", "class Stack:\n    def push(self, x):\n"] * 50
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=["<unk>", "<s>", "</s>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(corpus, trainer)
    tok.save(str(path / "tokenizer.json"))


def cmd_build(kind: str, out: str, layers: int) -> dict[str, Any]:
    """Save a seeded random checkpoint (fp32 safetensors) of `kind` dense | loop."""
    import torch
    from safetensors.torch import save_file

    torch.manual_seed(0)
    path = Path(out)
    path.mkdir(parents=True, exist_ok=True)
    cfg = {**DENSE, "num_hidden_layers": layers}
    if kind == "dense":
        from transformers import LlamaConfig, LlamaForCausalLM

        model = LlamaForCausalLM(LlamaConfig(**cfg))
        model.save_pretrained(path, safe_serialization=True, max_shard_size="20GB")
    else:
        from inference.export.loop_model import LoopCoderForCausalLM

        cfg.update(architectures=["IQuestLoopCoderForCausalLM"], model_type="iquestloopcoder",
                   loop_num=2, loop_window_size=64)
        model = LoopCoderForCausalLM(cfg)
        with torch.no_grad():
            for layer in model.model.layers:
                layer.gate_projection.weight.normal_(0, 0.5)
                layer.gate_projection.bias.normal_(0, 0.5)
        save_file({k: v.contiguous() for k, v in model.state_dict().items()},
                  str(path / "model.safetensors"))
        (path / "config.json").write_text(json.dumps(cfg))
    write_tokenizer(path)
    params = sum(p.numel() for p in model.parameters())
    weight_bytes = sum(p.stat().st_size for p in path.glob("*.safetensors"))
    return {"params": params, "weight_bytes": weight_bytes}


def built_before(path: Path, layers: int) -> dict[str, Any] | None:
    """The figures of a checkpoint a previous run of this script left in --work (same shape)."""
    files = list(path.glob("*.safetensors"))
    if not files or not (path / "config.json").is_file():
        return None
    cfg = json.loads((path / "config.json").read_text())
    if any(cfg.get(k) != v for k, v in {**DENSE, "num_hidden_layers": layers}.items()
           if k in ("hidden_size", "num_hidden_layers", "intermediate_size", "vocab_size")):
        return None
    params = 0
    for file in files:
        with open(file, "rb") as f:
            header = json.loads(f.read(int.from_bytes(f.read(8), "little")))
        params += sum(math.prod(v["shape"]) for k, v in header.items() if k != "__metadata__")
    return {"params": params, "weight_bytes": sum(f.stat().st_size for f in files),
            "reused": True}


def cmd_export(hf_dir: str, out: str, dtype: str, verify: str = "verify") -> dict[str, Any]:
    """`codeflow export` in this process; wall time and this process's peak RSS."""
    from lsp_server.cli import main

    start = time.perf_counter()
    flags = [] if verify == "verify" else ["--no-verify"]
    code = main(["export", hf_dir, out, "--dtype", dtype, *flags])
    files = {p.name: p.stat().st_size for p in Path(out).iterdir()} if code == 0 else {}
    return {"exit": code, "seconds": round(time.perf_counter() - start, 1),
            "peak_rss_gb": round(peak_rss_gb(), 2), "files": files}


def weight_dtypes(model_dir: Path) -> dict[str, int]:
    """How many initializers of an exported graph are stored in each dtype (data not read)."""
    import onnx

    graph = onnx.load(str(model_dir / "model.onnx"), load_external_data=False).graph
    counts: dict[str, int] = {}
    for tensor in graph.initializer:
        name = onnx.TensorProto.DataType.Name(tensor.data_type)
        counts[name] = counts.get(name, 0) + 1
    return counts


def prompt_ids(n: int, vocab: int) -> list[int]:
    import numpy as np

    return [int(i) for i in np.random.default_rng(7).integers(3, vocab, size=n)]


def cmd_generate(model_dir: str, n_prompt: int) -> dict[str, Any]:
    """`codeflow generate --json` on an n_prompt-token prompt, NEW_TOKENS greedy tokens."""
    import contextlib
    import io

    from lsp_server.cli import main

    ids = ",".join(map(str, prompt_ids(n_prompt, DENSE["vocab_size"])))
    buf = io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(buf):
        code = main(["generate", "--model", model_dir, "--prompt-ids", ids, "--max-tokens",
                     str(NEW_TOKENS), "--provider", "cpu", "--threads", str(torch_threads()),
                     "--json"])
    got = json.loads(buf.getvalue()) if code == 0 else {}
    return {"exit": code, "ids": got.get("ids"), "ttft_s": round(got.get("ttft_ms", 0) / 1e3, 2),
            "decode_tok_s": round(got.get("tokens_per_s", 0.0), 2),
            "threads": torch_threads(),
            "seconds": round(time.perf_counter() - start, 1),
            "peak_rss_gb": round(peak_rss_gb(), 2)}


def torch_threads() -> int:
    """The threads PyTorch decodes with here (its default: one per core), so that both sides
    of the comparison run on the same number of threads."""
    return max(1, os.cpu_count() or 1)


def cmd_torch(hf_dir: str, n_prompt: int) -> dict[str, Any]:
    """Greedy decoding in PyTorch (fp32, KV cache): TTFT, decode tokens/s, the tokens."""
    import torch
    from transformers import LlamaForCausalLM

    model = LlamaForCausalLM.from_pretrained(hf_dir, dtype=torch.float32,
                                             attn_implementation="sdpa").eval()
    ids = torch.tensor([prompt_ids(n_prompt, DENSE["vocab_size"])])
    out_ids: list[int] = []
    with torch.no_grad():
        start = time.perf_counter()
        out = model(ids, use_cache=True)
        out_ids.append(int(out.logits[0, -1].argmax()))
        first = time.perf_counter()
        for _ in range(NEW_TOKENS - 1):
            out = model(torch.tensor([[out_ids[-1]]]), past_key_values=out.past_key_values,
                        use_cache=True)
            out_ids.append(int(out.logits[0, -1].argmax()))
        end = time.perf_counter()
    return {"ids": out_ids, "ttft_s": round(first - start, 2),
            "decode_tok_s": round((NEW_TOKENS - 1) / (end - first), 2),
            "threads": torch.get_num_threads(), "peak_rss_gb": round(peak_rss_gb(), 2)}


def bench_dense(work: Path, dense: Path, layers: int, dtypes: list[str],
                unverified: list[str], generate: list[str]) -> dict[str, Any]:
    """The dense model: build, export in each dtype, decode beside PyTorch."""
    report: dict[str, Any] = {}
    print(f"building dense checkpoint ({layers} layers) in {dense}", flush=True)
    report["dense_checkpoint"] = built = built_before(dense, layers) or child(
        "build", "dense", str(dense), str(layers))
    print(json.dumps(built), flush=True)
    weight_gb = built["weight_bytes"] / 1e9
    for dtype in dtypes:
        print(f"export dense {dtype}", flush=True)
        res = child("export", str(dense), str(work / f"dense-{dtype}"), dtype,
                    "no-verify" if dtype in unverified else "verify")
        res["verified"] = dtype not in unverified
        if "peak_rss_gb" in res:
            res["rss_over_fp32_weights"] = round(res["peak_rss_gb"] * 2 ** 30 / 1e9 / weight_gb, 2)
        report[f"export_dense_{dtype}"] = res
        print(json.dumps(res), flush=True)
    print("PyTorch reference decode", flush=True)
    report["torch"] = ref = child("torch", str(dense), str(PROMPT_TOKENS))
    print(json.dumps(ref), flush=True)
    for dtype in generate:
        if not (work / f"dense-{dtype}" / "model.onnx").is_file():
            continue
        print(f"generate dense {dtype}", flush=True)
        res = child("generate", str(work / f"dense-{dtype}"), str(PROMPT_TOKENS))
        res["same_tokens_as_torch"] = res.get("ids") == ref.get("ids")
        if ref.get("decode_tok_s"):
            res["decode_vs_torch"] = round(res["decode_tok_s"] / ref["decode_tok_s"], 2)
        report[f"generate_dense_{dtype}"] = res
        print(json.dumps(res), flush=True)
    return report


def bench(work: Path, layers: int, loop_layers: int, dtypes: list[str], unverified: list[str],
          generate: list[str], loop_dtypes: list[str]) -> dict[str, Any]:
    report: dict[str, Any] = {"config": {**DENSE, "num_hidden_layers": layers},
                              "loop_layers": loop_layers}
    dense, loop = work / "hf-dense", work / "hf-loop"
    if layers:
        report.update(bench_dense(work, dense, layers, dtypes, unverified, generate))
    if loop_layers:
        print(f"building loop checkpoint ({loop_layers} layers)", flush=True)
        report["loop_checkpoint"] = built = child("build", "loop", str(loop), str(loop_layers))
        print(json.dumps(built), flush=True)
        for dtype in loop_dtypes:
            print(f"export loop {dtype}", flush=True)
            res = child("export", str(loop), str(work / f"loop-{dtype}"), dtype)
            if "peak_rss_gb" in res:
                res["rss_over_fp32_weights"] = round(
                    res["peak_rss_gb"] * 2 ** 30 / 1e9 / (built["weight_bytes"] / 1e9), 2)
            if (work / f"loop-{dtype}" / "model.onnx").is_file():
                res["weight_dtypes"] = weight_dtypes(work / f"loop-{dtype}")
            report[f"export_loop_{dtype}"] = res
            print(json.dumps(res), flush=True)
        for dtype in loop_dtypes:
            if (work / f"loop-{dtype}" / "model.onnx").is_file():
                print(f"generate loop {dtype}", flush=True)
                res = child("generate", str(work / f"loop-{dtype}"), "256")
                fp32 = report.get("generate_loop_fp32_256", {}).get("ids")
                if dtype != "fp32" and fp32:
                    res["same_tokens_as_fp32"] = res.get("ids") == fp32
                report[f"generate_loop_{dtype}_256"] = res
                print(json.dumps(res), flush=True)
    return report


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] in ("build", "export", "generate", "torch"):
        cmd, rest = sys.argv[1], sys.argv[2:]
        if cmd == "build":
            result = cmd_build(rest[0], rest[1], int(rest[2]))
        elif cmd == "export":
            result = cmd_export(*rest)
        elif cmd == "generate":
            result = cmd_generate(rest[0], int(rest[1]))
        else:
            result = cmd_torch(rest[0], int(rest[1]))
        print(json.dumps(result))
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--work", help="work dir (default: a new dir under /tmp, removed after)")
    ap.add_argument("--layers", type=int, default=22)
    ap.add_argument("--loop-layers", type=int, default=10)
    ap.add_argument("--dtypes", default="fp32,fp16,int8")
    ap.add_argument("--loop-dtypes", default="fp32,fp16,int8")
    ap.add_argument("--no-verify", default="", help="dtypes exported without verification")
    ap.add_argument("--generate", default="int8,fp32", help="exports that generate")
    ap.add_argument("--json", help="also write the report here")
    args = ap.parse_args()
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="export-real-size-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        report = bench(work, args.layers, args.loop_layers, args.dtypes.split(","),
                       args.no_verify.split(","), args.generate.split(","),
                       args.loop_dtypes.split(","))
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    text = json.dumps(report, indent=1)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
