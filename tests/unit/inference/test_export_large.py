"""Large-model export path, forced on tiny models: external data, fp16 and int8 on graphs whose
weights live in files, weights folded and written one tensor at a time, bounded-memory loading."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")

from onnx import TensorProto, external_data_helper, helper, numpy_helper  # noqa: E402

from inference.export import onnx_export, weights  # noqa: E402
from inference.export.hf import load_torch_model, read_checkpoint  # noqa: E402

PROMPT = [5, 17, 200, 3, 99, 42, 7, 7, 300, 12, 150, 61, 8, 19, 230, 4, 77]


def torch_logits(hf_dir: Path, ids: list[int]) -> np.ndarray:
    model = load_torch_model(read_checkpoint(hf_dir))
    with torch.no_grad():
        out = model(torch.tensor([ids]))
    return getattr(out, "logits", out)[0].numpy()


def close_enough(got: np.ndarray, ref: np.ndarray, dtype: str) -> bool:
    top1 = float((got.argmax(-1) == ref.argmax(-1)).mean())
    return onnx_export.within_tolerance(got, ref, dtype) and top1 >= onnx_export.MIN_TOP1.get(
        dtype, 0.0)


@pytest.mark.parametrize("dtype", ["fp32", "fp16", "int8"])
@pytest.mark.parametrize("name", ["llama", "loop"])
def test_forced_large_export_writes_external_data_and_serves(
        hf_dirs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture, name: str, dtype: str) -> None:
    from inference import Engine, GenerateRequest

    monkeypatch.setattr(onnx_export, "EXTERNAL_DATA_BYTES", 1000)
    caplog.set_level(logging.INFO, logger="inference.export")
    out = onnx_export.export_model(hf_dirs[name], tmp_path / "big", dtype=dtype).model_dir
    names = {p.name for p in out.iterdir()}
    assert {"codeflow-model.json", "model.onnx", "model.onnx.data", "tokenizer.json"} <= names
    assert names - {"codeflow-model.json", "model.onnx", "model.onnx.data", "tokenizer.json"} <= {
        "generation_config.json", "chat_template.jinja"}
    graph = onnx.load(str(out / "model.onnx"), load_external_data=False).graph
    big = [t for t in graph.initializer if weights.tensor_bytes(t) >= weights.INLINE_BYTES]
    assert big and all(external_data_helper.uses_external_data(t) for t in big)
    offsets = [int(external_data_helper.ExternalDataInfo(t).offset) for t in big]
    assert all(o % weights.ALIGN == 0 for o in offsets)  # mappable by onnxruntime
    assert (out / "model.onnx").stat().st_size < (out / "model.onnx.data").stat().st_size
    types = {t.data_type for t in big}
    if dtype == "fp16":
        assert types == {TensorProto.FLOAT16}
    if dtype == "int8":
        assert TensorProto.INT8 in types and TensorProto.FLOAT16 in types  # weights, embeddings
        assert not [n for n in graph.node if n.op_type == "MatMul" and n.input[1] in
                    {t.name for t in big if t.data_type == TensorProto.FLOAT}]

    engine = Engine.load(out, provider="cpu")
    ref = torch_logits(hf_dirs[name], PROMPT)
    assert close_enough(engine.session.logits_of(PROMPT), ref, dtype)
    assert close_enough(engine.session.logits_of(PROMPT, split=6), ref, dtype)
    if dtype == "fp32":
        assert np.abs(engine.session.logits_of(PROMPT) - ref).max() <= 1e-4
    assert len(engine.generate(GenerateRequest(tuple(PROMPT), max_tokens=4)).ids) == 4

    lines = [r.getMessage() for r in caplog.records if r.name == "inference.export.onnx_export"]
    done = [line for line in lines if " done in " in line and "elapsed" in line]
    for phase in ("trace", "verify", "write", *(["quantize"] if dtype == "int8" else [])):
        assert any(phase in line for line in done), (phase, lines)


def test_threshold_from_the_environment(hf_dirs: dict[str, Path], tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CODEFLOW_EXTERNAL_DATA_BYTES", raising=False)
    assert onnx_export.external_threshold() == onnx_export.EXTERNAL_DATA_BYTES
    small = onnx_export.export_model(hf_dirs["qwen2"], tmp_path / "small").model_dir
    assert not (small / "model.onnx.data").exists()
    monkeypatch.setenv("CODEFLOW_EXTERNAL_DATA_BYTES", "2000")
    assert onnx_export.external_threshold() == 2000
    big = onnx_export.export_model(hf_dirs["qwen2"], tmp_path / "big").model_dir
    assert (big / "model.onnx.data").is_file()


def test_size_is_summed_from_shapes_not_serialized() -> None:
    """A 3.2 GB weight whose data is not loaded: counted from dims and dtype."""
    tensor = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[40000, 20000])
    half = TensorProto(name="h", data_type=TensorProto.FLOAT16, dims=[10, 3])
    graph = helper.make_graph([], "g", [], [], initializer=[tensor, half])
    assert weights.weight_bytes(graph) == 40000 * 20000 * 4 + 60
    assert graph.ByteSize() < 1000


def matmul_model(dir_: Path, w: np.ndarray, external: bool) -> Path:
    """y1 = x @ Transpose(Identity(W)), y2 = x @ Transpose(W) (same fold), z = Gather(E, ids)."""
    emb = np.arange(40 * 8, dtype=np.float32).reshape(40, 8) * 1e4  # some values over fp16 max
    nodes = [
        helper.make_node("Identity", ["W"], ["W_id"]),
        helper.make_node("Transpose", ["W_id"], ["Wt"], perm=[1, 0]),
        helper.make_node("Transpose", ["W"], ["Wt2"], perm=[1, 0]),
        helper.make_node("MatMul", ["x", "Wt"], ["y1"]),
        helper.make_node("MatMul", ["x", "Wt2"], ["y2"]),
        helper.make_node("Gather", ["E", "ids"], ["z"]),
    ]
    graph = helper.make_graph(
        nodes, "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, w.shape[1]]),
         helper.make_tensor_value_info("ids", TensorProto.INT64, [3])],
        [helper.make_tensor_value_info("y1", TensorProto.FLOAT, [2, w.shape[0]]),
         helper.make_tensor_value_info("y2", TensorProto.FLOAT, [2, w.shape[0]]),
         helper.make_tensor_value_info("z", TensorProto.FLOAT, [3, 8])],
        initializer=[numpy_helper.from_array(w, "W"), numpy_helper.from_array(emb, "E")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    dir_.mkdir()
    onnx.save_model(model, str(dir_ / "m.onnx"), save_as_external_data=external,
                    location="m.onnx.data", size_threshold=0)
    return dir_ / "m.onnx"


@pytest.mark.parametrize("external", [True, False])
def test_weights_fold_and_stream_one_tensor_at_a_time(tmp_path: Path, external: bool) -> None:
    import onnxruntime as ort

    w = np.random.default_rng(0).normal(size=(48, 32)).astype(np.float32)
    src = matmul_model(tmp_path / "src", w, external)
    proto = weights.load_graph(src)
    readers = weights.detach(proto, src.parent)
    assert all(not t.raw_data and not t.external_data for t in proto.graph.initializer)
    assert weights.fold_constant_weights(proto, readers) == 3  # Identity + both Transposes
    names = sorted(t.name for t in proto.graph.initializer)
    assert names == ["E", "Wt"]  # one transposed copy; W itself is no longer read
    reads: list[str] = []
    counted = {k: (lambda k=k, r=r: reads.append(k) or r()) for k, r in readers.items()}
    next(t for t in proto.graph.initializer if t.name == "E").data_type = TensorProto.FLOAT16
    proto.graph.output[2].type.tensor_type.elem_type = TensorProto.FLOAT16
    dst = tmp_path / "dst"
    dst.mkdir()
    weights.write_model(proto, dst / "model.onnx", counted, external=True)
    assert sorted(reads) == ["E", "Wt"]  # each weight read once, when written
    assert sorted(p.name for p in dst.iterdir()) == ["model.onnx", "model.onnx.data"]
    x = np.random.default_rng(1).normal(size=(2, 32)).astype(np.float32)
    ids = np.array([0, 5, 39])
    sess = ort.InferenceSession(str(dst / "model.onnx"), providers=["CPUExecutionProvider"])
    y1, y2, z = sess.run(None, {"x": x, "ids": ids})
    np.testing.assert_allclose(y1, x @ w.T, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(y1, y2)
    emb = np.arange(40 * 8, dtype=np.float32).reshape(40, 8) * 1e4
    expected = np.clip(emb[ids], -65504, 65504).astype(np.float16)
    np.testing.assert_array_equal(z, expected)


def test_trace_keeps_one_copy_of_the_fused_weights(hf_dirs: dict[str, Path]) -> None:
    from inference.export.graph import CachedDecoder

    model = load_torch_model(read_checkpoint(hf_dirs["llama"]))
    attn = model.model.layers[0].self_attn
    qkv = torch.cat([attn.q_proj.weight, attn.k_proj.weight, attn.v_proj.weight]).clone()
    wrapper = CachedDecoder(model, None, release_sources=True)
    assert torch.equal(wrapper.layer0_qkv_w, qkv)
    for layer in model.model.layers:
        assert layer.self_attn.q_proj.weight.numel() == 0
        assert layer.mlp.up_proj.weight.numel() == 0
    assert model.model.layers[0].self_attn.o_proj.weight.numel() > 0  # still read by the graph


def test_loop_checkpoint_loads_without_a_second_copy(hf_dirs: dict[str, Path],
                                                     tmp_path: Path) -> None:
    """Tied Loop checkpoint (no lm_head.weight saved): the parameters are the loaded tensors,
    nothing is left on the meta device, the head shares the embedding, the logits are the
    same as a module built the ordinary way."""
    from safetensors.torch import load_file, save_file

    from inference.export.loop_model import LoopCoderForCausalLM

    src = hf_dirs["loop"]
    cfg = {**json.loads((src / "config.json").read_text()), "tie_word_embeddings": True}
    state = load_file(str(src / "model.safetensors"))
    del state["lm_head.weight"]
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    save_file(state, str(tmp_path / "model.safetensors"))
    model = LoopCoderForCausalLM.from_checkpoint(tmp_path, cfg).eval()
    tensors = [*model.parameters(), *model.buffers()]
    assert all(t.device.type == "cpu" and t.dtype == torch.float32 for t in tensors)
    assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()
    plain = LoopCoderForCausalLM(cfg)
    plain.load_state_dict({**state, "lm_head.weight": state["model.embed_tokens.weight"]},
                          strict=False)
    with torch.no_grad():
        x = torch.tensor([PROMPT])
        assert torch.equal(model(x), plain.eval()(x))


@pytest.mark.parametrize(("family", "tied", "stored"), [
    ("llama", False, "float32"), ("qwen2", True, "float32"), ("llama", False, "bfloat16")])
def test_dense_checkpoint_loads_like_transformers(tmp_path: Path, tokenizer_file: Path,
                                                  family: str, tied: bool, stored: str) -> None:
    """Our storage-less load (plain reads, cast per tensor) gives transformers' own model:
    same logits, the head tied when the config says so, float32 from a bf16 checkpoint."""
    from transformers import AutoModelForCausalLM

    from .conftest import save_dense

    hf = save_dense(tmp_path / "hf", family, tokenizer_file)
    if tied or stored != "float32":  # re-saved tied (no lm_head.weight) or in bf16
        ref = AutoModelForCausalLM.from_pretrained(hf, dtype=torch.float32)
        ref.config.tie_word_embeddings = tied
        if tied:
            ref.tie_weights()
        ref.to(getattr(torch, stored)).save_pretrained(hf)
    model = load_torch_model(read_checkpoint(hf))
    ref = AutoModelForCausalLM.from_pretrained(hf, dtype=torch.float32,
                                               attn_implementation="eager").eval()
    assert all(p.dtype == torch.float32 and not p.is_meta for p in model.parameters())
    shared = model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()
    assert shared == tied
    with torch.no_grad():
        x = torch.tensor([PROMPT])
        assert torch.equal(model(x).logits, ref(x).logits)


@pytest.mark.parametrize("block_bytes", [None, 1024])
def test_streamed_int8_equals_onnxruntime_quantizer(model_dirs: dict[str, Path],
                                                    tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    block_bytes: int | None) -> None:
    """`quantize_matmuls` writes what onnxruntime's quantize_dynamic (QInt8 MatMul weights)
    writes, without loading the model: same int8 weights, scales and logits; also when every
    weight is quantized and written in blocks of a few rows (as lm_head is on a real model)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from inference.engine.session import OrtSession

    blocks: list[int] = []
    if block_bytes:
        monkeypatch.setattr(weights, "BLOCK_BYTES", block_bytes)
        real_blocks = weights.row_blocks

        def spy(array: np.ndarray, size: int | None = None):  # noqa: ANN202
            for block in real_blocks(array, size):
                blocks.append(block.nbytes)
                yield block

        monkeypatch.setattr(weights, "row_blocks", spy)
    src = model_dirs["loop"] / "model.onnx"
    quantize_dynamic(src, tmp_path / "ort.onnx", weight_type=QuantType.QInt8,
                     op_types_to_quantize=["MatMul"])
    proto = weights.load_graph(src)
    readers = weights.detach(proto, src.parent)
    assert weights.quantize_matmuls(proto, readers) >= 2 * 2 * 4 + 1
    (tmp_path / "ours").mkdir()
    weights.write_model(proto, tmp_path / "ours" / "model.onnx", readers, external=True)
    ours = onnx.load(str(tmp_path / "ours" / "model.onnx")).graph
    theirs = onnx.load(str(tmp_path / "ort.onnx")).graph

    def int8_tensors(graph: onnx.GraphProto) -> dict[str, np.ndarray]:
        return {t.name: numpy_helper.to_array(t) for t in graph.initializer
                if t.name.endswith(("_quantized", "_scale"))}

    a, b = int8_tensors(ours), int8_tensors(theirs)
    assert sorted(a) == sorted(b)
    for name in a:
        np.testing.assert_allclose(a[name], b[name], rtol=1e-6, atol=0, err_msg=name)
    got = OrtSession.open(tmp_path / "ours" / "model.onnx", provider="cpu").logits_of(PROMPT)
    ref = OrtSession.open(tmp_path / "ort.onnx", provider="cpu").logits_of(PROMPT)
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-5)
    if block_bytes:  # blocks of 1 KiB of fp32 (lm_head [64, 320]: one 1280-byte row each)
        assert max(blocks) <= 1280 and len(blocks) > 2 * len(a)


@pytest.mark.parametrize("large", [False, True])
def test_loop_fp16_export_stores_every_weight_in_fp16_and_agrees(
        hf_dirs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        large: bool) -> None:
    """Loop model in fp16 (inline and external data): every float weight of the graph is
    stored in fp16, K/V and logits are fp16, the logits agree with PyTorch's within the fp16
    rule (one shot and with a cached second chunk) and the engine generates from it."""
    from inference import Engine, GenerateRequest

    if large:
        monkeypatch.setattr(onnx_export, "EXTERNAL_DATA_BYTES", 1000)
    out = onnx_export.export_model(hf_dirs["loop"], tmp_path / "fp16", dtype="fp16").model_dir
    assert (out / "model.onnx.data").is_file() == large
    graph = onnx.load(str(out / "model.onnx"), load_external_data=False).graph
    floats = {TensorProto.FLOAT, TensorProto.FLOAT16, TensorProto.DOUBLE, TensorProto.BFLOAT16}
    stored = {t.name: t.data_type for t in graph.initializer if t.data_type in floats}
    gates = [name for name in stored if "gate_projection" in name]
    assert len(gates) == 2 * 2 and any(name.endswith("embed_tokens.weight") for name in stored)
    assert set(stored.values()) == {TensorProto.FLOAT16}, stored
    assert graph.output[0].type.tensor_type.elem_type == TensorProto.FLOAT16

    engine = Engine.load(out, provider="cpu")
    assert engine.session.layout.kv_dtype is np.float16
    ref = torch_logits(hf_dirs["loop"], PROMPT)
    logits = engine.session.logits_of(PROMPT).astype(np.float32)
    for got in (logits, engine.session.logits_of(PROMPT, split=6).astype(np.float32)):
        assert close_enough(got, ref, "fp16")
        assert 0 < np.abs(got - ref).max()  # really computed in fp16
    ids = engine.generate(GenerateRequest(tuple(PROMPT), max_tokens=6)).ids
    assert len(ids) == 6 and ids[0] == int(logits[-1].argmax())


@pytest.mark.parametrize("name", ["llama", "loop"])
def test_trace_shape_inference_gets_no_weights_and_the_graph_is_unchanged(
        hf_dirs: dict[str, Path], monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """torch.onnx's shape inference pass copies every parameter it is handed (a transient
    second copy of the weights, the trace's peak): the export hands it none, and the traced
    graph is byte for byte the one traced with the weights handed over."""
    import contextlib

    pass_name = "_jit_pass_onnx_graph_shape_type_inference"
    original = getattr(torch._C, pass_name)
    handed: list[int] = []

    def spy(graph: object, params: dict[str, object], opset: int) -> object:
        handed.append(len(params))
        return original(graph, params, opset)

    monkeypatch.setattr(torch._C, pass_name, spy)

    def trace() -> bytes:
        ckpt = read_checkpoint(hf_dirs[name])
        with torch.no_grad():
            proto, _ = onnx_export.trace_to_onnx(load_torch_model(ckpt), ckpt)
        return proto.SerializeToString()

    ours = trace()
    assert handed and set(handed) == {0}
    handed.clear()
    monkeypatch.setattr(onnx_export, "shape_inference_without_weights", contextlib.nullcontext)
    theirs = trace()
    assert handed and max(handed) > 0  # torch's own pass does get the weights
    assert ours == theirs


def test_verification_session_keeps_one_copy_of_the_weights(
        hf_dirs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The export's verification opens onnxruntime without MatMul weight prepacking (which
    makes a repacked second copy of the weights); the engine keeps prepacking."""
    from inference.engine.session import OrtSession, session_options

    def disabled(opts: object) -> bool:
        try:
            return opts.get_session_config_entry("session.disable_prepacking") == "1"
        except RuntimeError:  # no such entry
            return False

    assert disabled(session_options(None, prepack=False))
    assert not disabled(session_options(None))
    # nor one planned block per run (an fp16 Loop graph on CPU would hold every weight's fp32
    # cast in it at once)
    assert not session_options(None, prepack=False).enable_mem_pattern
    assert session_options(None).enable_mem_pattern
    opened: list[bool] = []
    real = OrtSession.open.__func__

    def open_(cls: type, path: Path, *args: object, prepack: bool = True,
              **kwargs: object) -> OrtSession:
        opened.append(prepack)
        return real(cls, path, *args, prepack=prepack, **kwargs)

    monkeypatch.setattr(OrtSession, "open", classmethod(open_))
    onnx_export.export_model(hf_dirs["llama"], tmp_path / "out")
    assert opened == [False]


@pytest.mark.parametrize("dtype", ["fp16", "int8"])
def test_external_data_is_decided_on_the_fp32_weights(
        hf_dirs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        dtype: str) -> None:
    """fp32 weights over the threshold, fp16 / int8 weights under it: still external data (an
    inline graph would hold the converted weights twice more beside the PyTorch model)."""
    fp32 = sum(p.stat().st_size for p in hf_dirs["loop"].glob("*.safetensors"))
    monkeypatch.setattr(onnx_export, "EXTERNAL_DATA_BYTES", int(fp32 * 0.7))
    out = onnx_export.export_model(hf_dirs["loop"], tmp_path / dtype, dtype=dtype).model_dir
    graph = onnx.load(str(out / "model.onnx"), load_external_data=False).graph
    assert weights.weight_bytes(graph) < fp32 * 0.7
    assert (out / "model.onnx.data").is_file()


def flat_logits(positions: int = 32, vocab: int = 32000) -> np.ndarray:
    """Logits like a random-weight model's: every position a crowd of near ties."""
    return np.random.default_rng(0).normal(size=(positions, vocab)).astype(np.float32)


def test_int8_rule_forgives_near_tie_flips_of_flat_logits() -> None:
    """Flat logits (a random-weight model's): int8 noise inside the mean-error bound, and on
    the 12 positions with the smallest reference margins ONNX picks the runner-up. Exact
    agreement (20/32) would refuse the export; each flip is to a token the reference scores
    within NEAR_TIE of its best, so it passes."""
    ref = flat_logits()
    got = ref + np.random.default_rng(1).normal(scale=0.05, size=ref.shape).astype(np.float32)
    top2 = np.sort(ref, -1)[:, -2:]
    flipped = np.argsort(top2[:, 1] - top2[:, 0])[:12]
    runner_up = np.argsort(ref, -1)[:, -2]
    got[flipped, runner_up[flipped]] = got[flipped].max(-1) + 0.01
    assert ((top2[flipped, 1] - top2[flipped, 0]) < 0.25 * ref.std()).all()
    assert onnx_export.within_tolerance(got, ref, "int8")
    assert onnx_export.top1_agreement(got, ref) == pytest.approx(20 / 32)
    ok, top1 = onnx_export.judge(got, ref, "int8")
    assert ok and top1 == 1.0


def test_int8_rule_still_refuses_clear_flips_and_large_errors() -> None:
    """Where the reference's top-1 leads clearly, picking another token is a disagreement
    however small the error elsewhere; and the mean-error bound still holds for flat logits."""
    ref = flat_logits()
    rows = np.arange(len(ref))
    ref[rows, 7] += 10 * ref.std()  # a clear winner everywhere (a trained model's logits)
    got = ref.copy()
    got[rows[:10], 8] = ref[rows[:10], 7] + 0.01  # 10 of 32 positions pick a clearly worse token
    assert onnx_export.within_tolerance(got, ref, "int8")
    ok, top1 = onnx_export.judge(got, ref, "int8")
    assert not ok and top1 == pytest.approx(22 / 32)
    flat = flat_logits()
    noisy = flat + np.random.default_rng(2).normal(scale=0.3, size=flat.shape)
    assert not onnx_export.judge(noisy.astype(np.float32), flat, "int8")[0]
    assert onnx_export.judge(got, ref, "fp16")[1] == pytest.approx(22 / 32)  # fp16: exact


@pytest.mark.parametrize("model", ["bundled", "random"])
def test_int8_export_of_trained_and_flat_models_verifies(tmp_path: Path, model: str) -> None:
    """The bundled (trained) model and a random-weight model of its shape both export in int8
    with verification on; the judged agreement is never below the exact one."""
    from inference.spec import default_model_dir

    hf = default_model_dir() / "hf"
    if not (hf / "config.json").is_file():
        pytest.skip("the bundled model's checkpoint is not here")
    if model == "random":
        from transformers import LlamaConfig, LlamaForCausalLM

        cfg = json.loads((hf / "config.json").read_text())
        cfg.pop("dtype", None)
        torch.manual_seed(0)
        LlamaForCausalLM(LlamaConfig(**cfg)).save_pretrained(tmp_path / "hf")
        (tmp_path / "hf" / "tokenizer.json").write_bytes((hf / "tokenizer.json").read_bytes())
        hf = tmp_path / "hf"
    result = onnx_export.export_model(hf, tmp_path / "int8", dtype="int8")
    assert result.top1_agreement >= onnx_export.MIN_TOP1["int8"]
    from inference.engine.session import OrtSession

    ids = onnx_export.probe_ids(result.model_dir, 8192)  # what the export verified on
    got = OrtSession.open(result.model_dir / "model.onnx", provider="cpu").logits_of(ids)
    ref = torch_logits(hf, ids)
    ok, top1 = onnx_export.judge(got, ref, "int8")
    assert ok and top1 >= onnx_export.top1_agreement(got, ref)
