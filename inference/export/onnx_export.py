"""HF checkpoint dir -> verified ONNX model dir (`codeflow export`).

Steps: read the checkpoint, build the PyTorch model, take its logits on a probe prompt, trace
`CachedDecoder` with torch.onnx (TorchScript exporter; the graph only), fold and write the
weights from the PyTorch tensors one at a time (`weights.py`; external data when large),
converting (fp16) or quantizing (int8, dynamic MatMul weights) on the way, free the model,
check ONNX logits against the PyTorch ones (one shot and with a cached second chunk), and only
then move the files into the model dir.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import logging
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from inference.export.graph import INPLACE_INPUTS, CachedDecoder, global_names, kv_names
from inference.export.hf import Checkpoint, eos_token_ids, load_torch_model, read_checkpoint
from inference.export.metadata import copy_chat_files
from inference.export.tokenizer import write_tokenizer
from inference.export.weights import (
    Reader,
    fold_constant_weights,
    quantize_matmuls,
    threshold_from_env,
    weight_bytes,
    write_model,
)
from inference.spec import MODEL_ONNX, KVSpec, ModelDirError, ModelSpec

log = logging.getLogger(__name__)

EXPORTER = "codeflow 0.1.0"
EXTERNAL_DATA_BYTES = 1 << 28
"""Weights over this size (256 MiB in fp32) are written to `model.onnx.data`: an inline model
is serialized as one protobuf, which holds a second copy of the weights while it is written.
Tests lower it to force the large-model path; so does the CODEFLOW_EXTERNAL_DATA_BYTES
environment variable."""
TOLERANCE = {"fp32": 1e-4, "fp16": 2e-2, "int8": 0.15}
"""fp32: max abs logit diff <= 1e-4. fp16: max abs diff <= 0.02 x max |reference logit|.
int8 (dynamic quantization is coarser): mean abs diff <= 0.15 x the reference logits' standard
deviation (correct int8 exports measured 0.04-0.10: the tiny test models, the bundled model
0.07, a random 22-layer 1.1B Llama 0.102, the same as onnxruntime's own quantizer gives; a
broken weight, such as a doubled scale or another layer's weight, gives >= 0.34). fp16 and int8
also need top-1 agreement on MIN_TOP1 of the probe positions."""
MIN_TOP1 = {"fp16": 0.95, "int8": 0.75}
NEAR_TIE = {"int8": 0.25}
"""int8 top-1 agreement up to near ties: at a position where the reference's runner-up tokens
lie within NEAR_TIE x the reference logits' std of its best, ONNX picking one of them agrees;
where the reference's top-1 leads by more, only that token does. int8's allowed error moves
logits by about 0.1 x std, so a near tie is a coin flip, not an error: the flat logits of a
random-weight model are mostly near ties (a random 1.1B Llama agreed exactly on 0.69 of the
probe, with onnxruntime's own quantizer too; its 10 flips were all to tokens within 0.02-0.27 x
std of the best). A trained model's clear positions are judged exactly as before, and the
mean-error bound still catches a wrong graph or weight."""
RULE = {"fp32": "max abs diff <= 1e-4",
        "fp16": "max abs diff <= 0.02 x max |logit|, top-1 agreement >= 0.95",
        "int8": "mean abs diff <= 0.15 x logit std, top-1 agreement (ties within 0.25 x "
                "logit std count) >= 0.75"}
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


class Phases:
    """Progress lines for the long phases of an export, each with its time and the total."""

    def __init__(self) -> None:
        self.start = time.perf_counter()

    @contextlib.contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        began = time.perf_counter()
        log.info("export: %s ...", name)
        yield
        now = time.perf_counter()
        log.info("export: %s done in %.1fs (elapsed %.1fs)", name, now - began, now - self.start)


def export_model(hf_dir: str | Path, out_dir: str | Path, dtype: str = "fp32",
                 verify: bool = True, name: str | None = None,
                 prompt_format: dict[str, str] | None = None,
                 kv_cache: str | None = None) -> ExportResult:
    """Export a checkpoint dir to a model dir; raises `ExportMismatch` when verification fails.

    ``kv_cache``: "inplace" (attention writes into a preallocated K/V buffer; the default for
    dense models) or "concat" (past ++ new per step; Loop models, and older exports).

    Memory: the PyTorch model is the only full copy of the weights (its reference logits are
    taken first; it is traced without its weights, which are then written from its tensors
    one at a time, converted on the way), and it is freed before the ONNX model is loaded for
    verification."""
    import torch

    phase = Phases()
    if dtype not in TOLERANCE:
        raise ValueError(f"dtype {dtype!r}: use fp32, fp16 or int8")
    ckpt = read_checkpoint(hf_dir)
    kv_cache = kv_cache or default_kv_cache(ckpt)
    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".export-") as tmp_name:
        tmp = Path(tmp_name)
        final = tmp / "model"
        final.mkdir()
        write_tokenizer(ckpt.path, final)
        with phase("load checkpoint"):
            model = load_torch_model(ckpt)
        config = model.config
        ids = probe_ids(final, int(config.vocab_size))
        ref = None
        if verify:
            with phase("PyTorch reference logits"), torch.no_grad():
                ref = reference_logits(model, ids)
        with phase("trace"), torch.no_grad():
            proto, tensors = trace_to_onnx(model, ckpt, kv_cache)
        convert(proto, tensors, final / MODEL_ONNX, dtype, phase)
        del model, proto, tensors
        gc.collect()
        copy_chat_files(ckpt.path, final)
        spec = build_spec(ckpt, config, final, dtype, name, prompt_format, kv_cache)
        spec.save(final)
        diff, top1 = (0.0, 1.0)
        if ref is not None:
            with phase("verify"):
                diff, top1 = verify_logits(ref, ids, final, dtype)
        install(final, out)
    spec = ModelSpec.load(out)
    seconds = time.perf_counter() - phase.start
    log.info("exported %s -> %s (%s, diff %.2e) in %.1fs", hf_dir, out, dtype, diff, seconds)
    return ExportResult(out, spec, diff, top1, TOLERANCE[dtype], seconds)


def default_kv_cache(ckpt: Checkpoint) -> str:
    """New exports write K/V in place (dense and Loop)."""
    return "inplace"


def trace_to_onnx(model: Any, ckpt: Checkpoint, kv_cache: str = "concat"
                  ) -> tuple[Any, dict[str, Reader]]:
    """torch.onnx (TorchScript) export of `CachedDecoder` with dynamic T, P, L: the graph
    (its weights as initializers without data) and a reader of each weight's PyTorch tensor.
    With ``kv_cache="inplace"`` the K/V inputs are buffers of any capacity (see `graph.py`).

    Nothing is serialized but the graph: torch exports it without parameters (otherwise it
    builds the whole model as one protobuf string in memory) and without constant folding
    (which would hold a transposed copy of every weight); `convert` folds those transposes one
    tensor at a time. The model's q/k/v and gate/up weights are released once fused (the model
    cannot run afterwards)."""
    import io
    import warnings

    import onnx
    import torch

    wrapper = CachedDecoder(model, ckpt.loop_window, release_sources=True,
                            kv_cache=kv_cache).eval()
    past_names, present_names = kv_names(wrapper.num_layers, wrapper.loop)
    if wrapper.inplace and wrapper.loop:
        present_names += global_names(wrapper.num_layers)
    steps, past_len = 3, 2
    capacity = past_len + steps + 3 if wrapper.inplace else past_len

    def buffered(name: str) -> bool:  # a buffer the graph writes into (not Loop's local K/V)
        return wrapper.inplace and "local" not in name

    past = [torch.zeros(1, wrapper.num_kv_heads, capacity if buffered(name) else past_len,
                        wrapper.head_dim) for name in past_names]
    extra_names: list[str] = []
    extra: list[torch.Tensor] = []
    if wrapper.inplace:
        extra_names = list(INPLACE_INPUTS)
        extra = [torch.tensor([past_len + steps - 1], dtype=torch.int32),
                 torch.tensor(past_len + steps, dtype=torch.int32)]
    args = (torch.ones(1, steps, dtype=torch.long), torch.tensor(steps, dtype=torch.long),
            *extra, *past)
    dynamic: dict[str, dict[int, str]] = {"input_ids": {1: "steps"}, "logits": {1: "kept"}}
    for name in past_names:
        dynamic[name] = {2: "capacity" if buffered(name) else
                         "past_local" if "local" in name else "past"}
    for name in present_names:
        dynamic[name] = {2: "capacity" if buffered(name) else
                         "total_local" if "local" in name else "total"}
    buf = io.BytesIO()
    with warnings.catch_warnings(), shape_inference_without_weights():
        warnings.simplefilter("ignore")  # TorchScript exporter deprecation + tracer notes
        torch.onnx.export(
            wrapper, args, buf, dynamo=False, opset_version=_OPSET,
            input_names=["input_ids", "num_logits", *extra_names, *past_names],
            output_names=["logits", *present_names], dynamic_axes=dynamic,
            do_constant_folding=False, export_params=False,
            custom_opsets={"com.microsoft": 1} if wrapper.inplace else None,
        )
    proto = onnx.load_model_from_string(buf.getvalue())
    onnx.helper.set_model_props(proto, {"codeflow.kv_cache": kv_cache,
                                        "codeflow.max_positions": str(wrapper.max_positions)})
    return proto, weights_as_initializers(proto, wrapper)


@contextlib.contextmanager
def shape_inference_without_weights() -> Iterator[None]:
    """Run torch.onnx's shape inference pass without the parameter values.

    The TorchScript exporter hands every parameter to
    ``torch._C._jit_pass_onnx_graph_shape_type_inference``, which makes a transient copy of
    them all (measured: +0.72 GiB on a 0.82 GiB Loop model, the peak of the trace). Our graphs
    take no shape from a weight's values (their shapes come from the traced types), so the
    pass runs with an empty dict; the graph written is byte-identical. A no-op on torch
    versions without the pass."""
    import torch

    name = "_jit_pass_onnx_graph_shape_type_inference"
    original = getattr(torch._C, name, None)
    if original is None:
        yield
        return

    def without_weights(graph: Any, params: Any, opset: int) -> Any:
        return original(graph, {}, opset)

    setattr(torch._C, name, without_weights)
    try:
        yield
    finally:
        setattr(torch._C, name, original)


def weights_as_initializers(proto: Any, module: Any) -> dict[str, Reader]:
    """Turn the graph inputs that name a parameter or buffer of ``module`` into initializers
    (dims and dtype only) and return a reader of each tensor (no copy of its data)."""
    import onnx
    from onnx import helper

    named = {**dict(module.named_parameters(remove_duplicate=False)),
             **dict(module.named_buffers(remove_duplicate=False))}
    graph = proto.graph
    kept, readers = [], {}
    for value in graph.input:
        tensor = named.get(value.name)
        if tensor is None:
            kept.append(value)
            continue
        array = tensor.detach().contiguous().numpy()
        graph.initializer.append(onnx.TensorProto(
            name=value.name, dims=list(array.shape),
            data_type=helper.np_dtype_to_tensor_dtype(array.dtype)))
        readers[value.name] = lambda array=array: array
    copies = [onnx.ValueInfoProto() for _ in kept]
    for copy, value in zip(copies, kept, strict=True):
        copy.CopyFrom(value)
    del graph.input[:]
    graph.input.extend(copies)
    return readers


def external_threshold() -> int:
    """Weights over this many bytes go to `model.onnx.data` (EXTERNAL_DATA_BYTES, or the
    CODEFLOW_EXTERNAL_DATA_BYTES environment variable)."""
    return threshold_from_env(EXTERNAL_DATA_BYTES)


def convert(proto: Any, readers: dict[str, Reader], dst: Path, dtype: str,
            phase: Phases | None = None) -> None:
    """Write the traced graph ``proto`` (initializers without data, read by ``readers``) to
    ``dst`` in the requested dtype, weights folded and written one tensor at a time (external
    data when their fp32 total is over the threshold: decided before fp16 / int8 shrink them,
    since an inline graph holds every weight in the proto and again serialized, on top of the
    PyTorch model: on a 1.58 GB Loop model an inline fp16 export peaked at 2.76x the fp32
    weights)."""
    phase = phase or Phases()
    folded = fold_constant_weights(proto, readers)
    log.info("export: %d weight Transpose/Identity nodes folded", folded)
    external = weight_bytes(proto.graph) > external_threshold()
    if dtype == "int8":
        with phase("quantize int8"):
            log.info("export: %d MatMuls quantized", quantize_matmuls(proto, readers))
            half_embedding_tables(proto)
    if dtype == "fp16":
        to_fp16(proto)
    with phase(f"write {dtype} weights"):
        write_model(proto, dst, readers, external, _every_tenth("write"))


def _every_tenth(what: str) -> Callable[[int, int], None]:
    def report(done: int, total: int) -> None:
        if done == total or done * 10 // total != (done - 1) * 10 // total:
            log.info("export: %s %d/%d tensors", what, done, total)

    return report


def half_embedding_tables(proto: Any, min_elements: int = 4096) -> int:
    """Store the token embedding table in fp16 (a ``Cast`` back to fp32 after the ``Gather``):
    it is the largest tensor the int8 MatMul quantization leaves in fp32 (vocab x hidden), and
    rows rounded to fp16 change the logits far less than the int8 weights do. Only tables that
    nothing but ``Gather`` nodes read, and whose name says embedding, are changed (not, say,
    rotary tables). Works on a detached proto (`weights.detach`): only the dtype changes here,
    the writer converts the data. Returns how many were converted."""
    import onnx
    from onnx import helper

    graph = proto.graph
    readers: dict[str, list[Any]] = {}
    for node in graph.node:
        for name in node.input:
            readers.setdefault(name, []).append(node)
    converted = 0
    casts: dict[int, Any] = {}
    for tensor in graph.initializer:
        users = readers.get(tensor.name, [])
        big = (tensor.data_type == onnx.TensorProto.FLOAT and "embed" in tensor.name
               and np.prod(tensor.dims) >= min_elements)
        if not big or not users or any(u.op_type != "Gather" or u.input[0] != tensor.name
                                       for u in users):
            continue
        tensor.data_type = onnx.TensorProto.FLOAT16
        for gather in users:
            wide = gather.output[0]
            gather.output[0] = wide + "_fp16"
            casts[id(gather)] = helper.make_node("Cast", [gather.output[0]], [wide],
                                                 to=onnx.TensorProto.FLOAT,
                                                 name=(gather.name or wide) + "_to_fp32")
        converted += 1
    if not converted:
        return 0
    nodes = []  # each Cast right after its Gather keeps the node order topological
    for node in graph.node:
        nodes.append(node)
        if id(node) in casts:
            nodes.append(casts[id(node)])
    copies = [onnx.NodeProto() for _ in nodes]
    for copy, node in zip(copies, nodes, strict=True):
        copy.CopyFrom(node)
    del graph.node[:]
    graph.node.extend(copies)
    return converted


def to_fp16(proto: Any) -> Any:
    """fp16 weights, compute, K/V and logits (the engine reads the dtype from the graph), on a
    graph whose initializers are detached: only their dtype changes here, `write_model` converts
    the data."""
    from onnx import helper
    from onnxruntime.transformers import float16

    def value_info(tensor: Any) -> Any:  # the library's own reads the (absent) data for a shape
        return helper.make_tensor_value_info(tensor.name, tensor.data_type, list(tensor.dims))

    original = float16.make_value_info_from_tensor
    float16.make_value_info_from_tensor = value_info
    try:
        return float16.convert_float_to_float16(proto, keep_io_types=False,
                                                disable_shape_infer=True)
    finally:
        float16.make_value_info_from_tensor = original


def build_spec(ckpt: Checkpoint, config: Any, model_dir: Path, dtype: str, name: str | None,
               prompt_format: dict[str, str] | None, kv_cache: str = "concat") -> ModelSpec:
    """The `codeflow-model.json` for an exported checkpoint."""
    from tokenizers import Tokenizer

    from inference.export.formats import detect_format

    cfg = config
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
            cache=kv_cache,
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


def reference_logits(model: Any, ids: list[int]) -> np.ndarray:
    """PyTorch logits [T, V] (float32) of the probe: the reference the ONNX graph must match."""
    import torch

    with torch.no_grad():
        out = model(torch.tensor([ids]))
    return getattr(out, "logits", out)[0].float().numpy()


def verify_logits(ref: np.ndarray, ids: list[int], model_dir: Path, dtype: str
                  ) -> tuple[float, float]:
    """Compare ONNX logits with the PyTorch reference; raise `ExportMismatch` when off."""
    from inference.engine.session import OrtSession

    session = OrtSession.open(model_dir / MODEL_ONNX, provider="auto" if dtype == "fp16" else "cpu",
                              prepack=False)  # no repacked second copy of the weights
    got = session.logits_of(ids, split=len(ids) // 2)
    del session
    diff = float(np.abs(got - ref).max())
    ok, top1 = judge(got, ref, dtype)
    exact = top1_agreement(got, ref)
    log.info("verify %s: max abs diff %.3e, mean abs diff / logit std %.4f, top-1 agreement %.3f "
             "(exact %.3f)", dtype, diff, float(np.abs(got - ref).mean() / ref.std()), top1,
             exact)
    if not ok:
        raise ExportMismatch(
            f"ONNX logits differ from PyTorch for {model_dir}: max abs diff {diff:.3e}, "
            f"top-1 agreement {top1:.3f} (needed for {dtype}: {RULE[dtype]}); nothing was written"
        )
    return diff, top1


def judge(got: np.ndarray, ref: np.ndarray, dtype: str) -> tuple[bool, float]:
    """Whether ONNX logits ``got`` pass ``dtype``'s rule (RULE) against the reference, and the
    top-1 agreement that was judged (up to NEAR_TIE ties)."""
    top1 = top1_agreement(got, ref, NEAR_TIE.get(dtype, 0.0))
    return within_tolerance(got, ref, dtype) and top1 >= MIN_TOP1.get(dtype, 0.0), top1


def top1_agreement(got: np.ndarray, ref: np.ndarray, near_tie: float = 0.0) -> float:
    """Share of positions where ONNX's top-1 token is the reference's, or one whose reference
    logit is within ``near_tie`` x the reference logits' std of the reference's best (see
    NEAR_TIE; 0: exact agreement)."""
    rows = np.arange(len(ref))
    regret = ref.max(-1) - ref[rows, got.argmax(-1)]
    return float((regret <= near_tie * ref.std()).mean())


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
