"""HF checkpoint dir -> verified ONNX model dir (`codeflow export`).

Steps: read the checkpoint, build the PyTorch model, trace `CachedDecoder` with torch.onnx
(TorchScript exporter), optionally convert (fp16) or quantize (int8, dynamic MatMul weights),
check ONNX logits against PyTorch on a probe prompt (one shot and with a cached second chunk),
and only then move the files into the model dir.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from inference.export.graph import CachedDecoder, kv_names
from inference.export.hf import Checkpoint, eos_token_ids, load_torch_model, read_checkpoint
from inference.export.metadata import copy_chat_files
from inference.export.tokenizer import write_tokenizer
from inference.spec import MODEL_ONNX, KVSpec, ModelDirError, ModelSpec

log = logging.getLogger(__name__)

EXPORTER = "codeflow 0.1.0"
EXTERNAL_DATA_BYTES = 1 << 30
TOLERANCE = {"fp32": 1e-4, "fp16": 2e-2, "int8": 0.1}
"""fp32: max abs logit diff <= 1e-4. fp16: max abs diff <= 0.02 x max |reference logit|.
int8 (dynamic quantization is coarser): mean abs diff <= 0.1 x the reference logits' standard
deviation. fp16 and int8 also need top-1 agreement on MIN_TOP1 of the probe positions."""
MIN_TOP1 = {"fp16": 0.95, "int8": 0.75}
RULE = {"fp32": "max abs diff <= 1e-4",
        "fp16": "max abs diff <= 0.02 x max |logit|, top-1 agreement >= 0.95",
        "int8": "mean abs diff <= 0.1 x logit std, top-1 agreement >= 0.75"}
_OPSET = 17


class ExportMismatch(ModelDirError):
    """The ONNX graph's logits differ from PyTorch's beyond the tolerance; nothing was written."""


@dataclass(frozen=True)
class ExportResult:
    """What `export_model` wrote and how well it matched PyTorch."""

    model_dir: Path
    spec: ModelSpec
    max_abs_diff: float
    top1_agreement: float
    tolerance: float
    seconds: float


def export_model(hf_dir: str | Path, out_dir: str | Path, dtype: str = "fp32",
                 verify: bool = True, name: str | None = None,
                 prompt_format: dict[str, str] | None = None) -> ExportResult:
    """Export a checkpoint dir to a model dir; raises `ExportMismatch` when verification fails."""
    import torch

    start = time.perf_counter()
    if dtype not in TOLERANCE:
        raise ValueError(f"dtype {dtype!r}: use fp32, fp16 or int8")
    ckpt = read_checkpoint(hf_dir)
    model = load_torch_model(ckpt)
    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".export-") as tmp_name:
        tmp = Path(tmp_name)
        with torch.no_grad():
            trace_to_onnx(model, ckpt, tmp / "fp32.onnx")
        final = tmp / "model"
        final.mkdir()
        convert(tmp / "fp32.onnx", final / MODEL_ONNX, dtype)
        write_tokenizer(ckpt.path, final)
        copy_chat_files(ckpt.path, final)
        spec = build_spec(ckpt, model, final, dtype, name, prompt_format)
        spec.save(final)
        diff, top1 = (0.0, 1.0)
        if verify:
            diff, top1 = verify_model(model, final, dtype)
        install(final, out)
    spec = ModelSpec.load(out)
    seconds = time.perf_counter() - start
    log.info("exported %s -> %s (%s, diff %.2e) in %.1fs", hf_dir, out, dtype, diff, seconds)
    return ExportResult(out, spec, diff, top1, TOLERANCE[dtype], seconds)


def trace_to_onnx(model: Any, ckpt: Checkpoint, path: Path) -> None:
    """torch.onnx (TorchScript) export of `CachedDecoder` with dynamic T, P, L."""
    import warnings

    import torch

    wrapper = CachedDecoder(model, ckpt.loop_window).eval()
    past_names, present_names = kv_names(wrapper.num_layers, wrapper.loop)
    steps, past_len = 3, 2
    kv_shape = (1, wrapper.num_kv_heads, past_len, wrapper.head_dim)
    past = [torch.zeros(kv_shape) for _ in past_names]
    args = (torch.ones(1, steps, dtype=torch.long), torch.tensor(steps, dtype=torch.long), *past)
    dynamic: dict[str, dict[int, str]] = {"input_ids": {1: "steps"}, "logits": {1: "kept"}}
    for name in past_names:
        dynamic[name] = {2: "past_local" if "local" in name else "past"}
    for name in present_names:
        dynamic[name] = {2: "total_local" if "local" in name else "total"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TorchScript exporter deprecation + tracer notes
        torch.onnx.export(
            wrapper, args, str(path), dynamo=False, opset_version=_OPSET,
            input_names=["input_ids", "num_logits", *past_names],
            output_names=["logits", *present_names], dynamic_axes=dynamic,
            do_constant_folding=True,
        )


def convert(src: Path, dst: Path, dtype: str) -> None:
    """Write the graph in the requested dtype (external data when large)."""
    import onnx

    if dtype == "int8":
        from onnxruntime.quantization import QuantType, quantize_dynamic

        if fold_weight_identities(src):
            log.info("shared weights: Identity nodes folded before quantization")
        quantize_dynamic(src, dst, weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul"],
                         use_external_data_format=_large(src))
        half_embeddings(dst)
        return
    proto = onnx.load(str(src))
    if dtype == "fp16":
        proto = to_fp16(proto)
    save_onnx(proto, dst)


def fold_weight_identities(path: Path) -> int:
    """Rewrite the graph at ``path`` so that nodes read shared weights directly: the
    TorchScript exporter feeds a weight used more than once (the Loop model runs every layer
    twice) through ``Identity`` nodes, and the quantizer only quantizes MatMuls whose weight is
    an initializer. Returns how many Identity nodes were removed (0: the file is untouched)."""
    import onnx

    proto = onnx.load(str(path))
    graph = proto.graph
    weights = {t.name for t in graph.initializer}
    outputs = {o.name for o in graph.output}
    alias = {n.output[0]: n.input[0] for n in graph.node
             if n.op_type == "Identity" and n.input[0] in weights and n.output[0] not in outputs}
    if not alias:
        return 0
    kept = [n for n in graph.node if not (n.op_type == "Identity" and n.output[0] in alias)]
    for node in kept:
        for i, name in enumerate(node.input):
            if name in alias:
                node.input[i] = alias[name]
    del graph.node[:]
    graph.node.extend(kept)
    save_onnx(proto, path)
    return len(alias)


def half_embeddings(path: Path, min_elements: int = 4096) -> int:
    """Store the token embedding table in fp16 (a ``Cast`` back to fp32 after the ``Gather``):
    it is the largest tensor the int8 MatMul quantization leaves in fp32 (vocab x hidden), and
    rows rounded to fp16 change the logits far less than the int8 weights do. Only tables that
    nothing but ``Gather`` nodes read, and whose name says embedding, are changed (not, say,
    rotary tables). Returns how many were converted."""
    import numpy as np
    import onnx
    from onnx import helper, numpy_helper

    proto = onnx.load(str(path))
    graph = proto.graph
    readers: dict[str, list[Any]] = {}
    for node in graph.node:
        for name in node.input:
            readers.setdefault(name, []).append(node)
    converted = 0
    casts: dict[int, Any] = {}
    for tensor in list(graph.initializer):
        users = readers.get(tensor.name, [])
        big = (tensor.data_type == onnx.TensorProto.FLOAT and "embed" in tensor.name
               and np.prod(tensor.dims) >= min_elements)
        if not big or not users or any(u.op_type != "Gather" or u.input[0] != tensor.name
                                       for u in users):
            continue
        half = numpy_helper.from_array(numpy_helper.to_array(tensor).astype(np.float16),
                                       tensor.name)
        tensor.CopyFrom(half)
        for gather in users:
            wide = gather.output[0]
            gather.output[0] = wide + "_fp16"
            casts[id(gather)] = helper.make_node("Cast", [gather.output[0]], [wide],
                                                 to=onnx.TensorProto.FLOAT,
                                                 name=(gather.name or wide) + "_to_fp32")
        converted += 1
    if converted:  # each Cast right after its Gather keeps the node order topological
        nodes = []
        for node in graph.node:
            nodes.append(node)
            if id(node) in casts:
                nodes.append(casts[id(node)])
        copies = [onnx.NodeProto() for _ in nodes]
        for copy, node in zip(copies, nodes, strict=True):
            copy.CopyFrom(node)
        del graph.node[:]
        graph.node.extend(copies)
        save_onnx(proto, path)
    return converted


def to_fp16(proto: Any) -> Any:
    """fp16 weights, compute, K/V and logits (the engine reads the dtype from the graph)."""
    from onnxruntime.transformers.float16 import convert_float_to_float16

    return convert_float_to_float16(proto, keep_io_types=False, disable_shape_infer=True)


def save_onnx(proto: Any, dst: Path) -> None:
    """Save, with the weights in `model.onnx.data` when the model is large."""
    import onnx

    onnx.save_model(proto, str(dst), save_as_external_data=_is_large(proto),
                    all_tensors_to_one_file=True, location=dst.name + ".data", size_threshold=1024)


def _is_large(proto: Any) -> bool:
    try:
        return proto.ByteSize() > EXTERNAL_DATA_BYTES
    except ValueError:  # protobuf refuses to size messages over 2 GB
        return True


def _large(path: Path) -> bool:
    size = sum(p.stat().st_size for p in path.parent.iterdir() if p.is_file())
    return size > EXTERNAL_DATA_BYTES


def build_spec(ckpt: Checkpoint, model: Any, model_dir: Path, dtype: str, name: str | None,
               prompt_format: dict[str, str] | None) -> ModelSpec:
    """The `codeflow-model.json` for an exported checkpoint."""
    from tokenizers import Tokenizer

    from inference.export.formats import detect_format

    cfg = model.config
    tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    fmt, special = detect_format(tok, ckpt.family)
    eos_ids = eos_token_ids(ckpt)
    if special.get("eos") is None and eos_ids:
        special["eos"] = tok.id_to_token(eos_ids[0])
    if not eos_ids and special.get("eos") is not None:
        eos_ids = [tok.token_to_id(special["eos"])]
    heads = int(cfg.num_attention_heads)
    return ModelSpec(
        name=name or ckpt.path.name,
        family=ckpt.family,
        architecture=ckpt.architecture,
        prompt_format=dict(prompt_format or fmt),
        special_tokens=special,
        eos_token_ids=tuple(eos_ids),
        max_context=int(cfg.max_position_embeddings),
        dtype=dtype,
        kv=KVSpec(
            layout=ckpt.architecture,
            num_layers=int(cfg.num_hidden_layers),
            num_kv_heads=int(cfg.num_key_value_heads),
            head_dim=int(getattr(cfg, "head_dim", None) or cfg.hidden_size // heads),
            window=ckpt.loop_window,
            num_heads=heads,
        ),
        provenance={
            "source": str(ckpt.path.resolve()),
            "architectures": list(ckpt.config.get("architectures", [])),
            "exporter": EXPORTER,
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        },
    )


PROBE_TEXT = (
    "def fibonacci(n: int) -> int:\n    if n < 2:\n        return n\n"
    "    return fibonacci(n - 1) + fibonacci(n - 2)\n\n\nclass Stack:\n"
)


def probe_ids(model_dir: Path, vocab_size: int, steps: int = 24) -> list[int]:
    """Probe prompt: a code snippet through the model's tokenizer (+ fixed random ids)."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    text_ids = [i for i in tok.encode(PROBE_TEXT, add_special_tokens=False).ids if i < vocab_size]
    rng = np.random.default_rng(1234)
    return text_ids[:steps] + [int(i) for i in rng.integers(0, vocab_size, size=8)]


def verify_model(model: Any, model_dir: Path, dtype: str) -> tuple[float, float]:
    """Compare ONNX and PyTorch logits on a probe; raise `ExportMismatch` when off."""
    import torch

    from inference.engine.session import OrtSession

    ids = probe_ids(model_dir, int(model.config.vocab_size))
    with torch.no_grad():
        out = model(torch.tensor([ids]))
        ref = getattr(out, "logits", out)[0].float().numpy()
    session = OrtSession.open(model_dir / MODEL_ONNX, provider="auto" if dtype == "fp16" else "cpu")
    got = session.logits_of(ids, split=len(ids) // 2)
    diff = float(np.abs(got - ref).max())
    top1 = float((got.argmax(-1) == ref.argmax(-1)).mean())
    ok = within_tolerance(got, ref, dtype) and top1 >= MIN_TOP1.get(dtype, 0.0)
    log.info("verify %s: max abs diff %.3e, top-1 agreement %.3f", dtype, diff, top1)
    if not ok:
        raise ExportMismatch(
            f"ONNX logits differ from PyTorch for {model_dir}: max abs diff {diff:.3e}, "
            f"top-1 agreement {top1:.3f} (needed for {dtype}: {RULE[dtype]}); nothing was written"
        )
    return diff, top1


def within_tolerance(got: np.ndarray, ref: np.ndarray, dtype: str) -> bool:
    """The logit check of TOLERANCE for a dtype (top-1 agreement is checked apart)."""
    err = np.abs(got - ref)
    if dtype == "fp32":
        return bool(err.max() <= TOLERANCE["fp32"])
    if dtype == "fp16":
        return bool(err.max() <= TOLERANCE["fp16"] * np.abs(ref).max())
    return bool(err.mean() <= TOLERANCE["int8"] * ref.std())


def install(src: Path, out: Path) -> None:
    """Move the verified files into out (replacing only the files we write)."""
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob(MODEL_ONNX + "*"):
        stale.unlink()
    for item in src.iterdir():
        shutil.move(str(item), str(out / item.name))
