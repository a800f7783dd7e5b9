"""Export: ONNX logits equal PyTorch, the model dir format, int8, refusal, tokenizers, CLI."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from inference.chatspec import ChatSpec, Sampling  # noqa: E402
from inference.engine.session import OrtSession  # noqa: E402
from inference.engine.text import TextStream  # noqa: E402
from inference.export import onnx_export  # noqa: E402
from inference.export.hf import load_torch_model, read_checkpoint  # noqa: E402
from inference.spec import ModelSpec  # noqa: E402

from .conftest import IQUEST_TEMPLATE  # noqa: E402

PROMPT = [5, 17, 200, 3, 99, 42, 7, 7, 300, 12, 150, 61, 8, 19, 230, 4, 77]


def torch_logits(hf_dir: Path, ids: list[int]) -> np.ndarray:
    model = load_torch_model(read_checkpoint(hf_dir))
    with torch.no_grad():
        out = model(torch.tensor([ids]))
    return getattr(out, "logits", out)[0].numpy()


@pytest.mark.parametrize("name", ["llama", "qwen2", "iquestcoder", "loop", "llama_concat",
                                  "loop_concat"])
def test_onnx_logits_equal_pytorch(name: str, hf_dirs: dict[str, Path],
                                   model_dirs: dict[str, Path]) -> None:
    ref = torch_logits(hf_dirs[name.removesuffix("_concat")], PROMPT)
    session = OrtSession.open(model_dirs[name] / "model.onnx", provider="cpu")
    one_shot = session.logits_of(PROMPT)
    cached = session.logits_of(PROMPT, split=6)  # second chunk runs with a 6-token past
    assert np.abs(one_shot - ref).max() <= 1e-4
    assert np.abs(cached - ref).max() <= 1e-4


def test_model_json_describes_the_export(model_dirs: dict[str, Path]) -> None:
    spec = ModelSpec.load(model_dirs["iquestcoder"])
    assert (spec.family, spec.architecture, spec.dtype) == ("iquestcoder", "dense", "fp32")
    assert spec.prompt_format == {"fim": "iquest", "chat": "chatml"}
    assert spec.max_context == 4096
    assert spec.eos_token_ids == (0,)
    assert spec.special_tokens["fim_middle"] == "<|fim_middle|>"
    assert (spec.kv.layout, spec.kv.num_layers, spec.kv.num_kv_heads, spec.kv.head_dim) == (
        "dense", 2, 2, 16)
    assert ModelSpec.load(model_dirs["qwen2"]).prompt_format["fim"] == "qwen2.5"
    loop = ModelSpec.load(model_dirs["loop"])
    assert (loop.family, loop.kv.layout, loop.kv.window) == ("iquestloopcoder", "loop", 4)
    assert (spec.kv.cache, loop.kv.cache) == ("inplace", "inplace")
    assert ModelSpec.load(model_dirs["llama_concat"]).kv.cache == "concat"
    assert ModelSpec.load(model_dirs["loop_concat"]).kv.cache == "concat"
    assert sorted(p.name for p in model_dirs["llama"].iterdir()) == [
        "codeflow-model.json", "generation_config.json", "model.onnx", "tokenizer.json"]


def test_export_copies_the_chat_template_and_generation_defaults(
        model_dirs: dict[str, Path]) -> None:
    iquest = ChatSpec.load(model_dirs["iquestcoder"])
    assert iquest.template == IQUEST_TEMPLATE
    assert iquest.sampling == Sampling(0.6, 0.85, 20)
    assert (iquest.eos_token_ids, iquest.reasoning) == ((0,), True)
    llama = ChatSpec.load(model_dirs["llama"])  # save_pretrained's config: eos only, greedy
    assert (llama.template, llama.sampling, llama.reasoning) == (None, Sampling(), False)
    assert llama.eos_token_ids == (0,)


def test_inplace_graph_attends_with_group_query_attention(model_dirs: dict[str, Path]) -> None:
    """Dense in-place graphs: one GroupQueryAttention per layer (RoPE inside), K/V inputs of
    any capacity, no Concat of the past; the concatenating export has no such node."""
    onnx = pytest.importorskip("onnx")
    model = onnx.load(str(model_dirs["llama"] / "model.onnx"))
    ops = Counter(n.op_type for n in model.graph.node)
    assert ops["GroupQueryAttention"] == 2 and ops["Concat"] == 0
    gqa = next(n for n in model.graph.node if n.op_type == "GroupQueryAttention")
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in gqa.attribute}
    assert (attrs["do_rotary"], attrs["num_heads"], attrs["kv_num_heads"]) == (1, 4, 2)
    assert list(gqa.input[3:7]) == ["past.0.key", "past.0.value", "seqlens_k",
                                    "total_sequence_length"]
    assert list(gqa.output[1:]) == ["present.0.key", "present.0.value"]
    props = {p.key: p.value for p in model.metadata_props}
    assert props == {"codeflow.kv_cache": "inplace", "codeflow.max_positions": "4096"}
    concat = onnx.load(str(model_dirs["llama_concat"] / "model.onnx")).graph
    assert not any(n.op_type == "GroupQueryAttention" for n in concat.node)


def test_fp16_inplace_export_is_verified(hf_dirs: dict[str, Path], tmp_path: Path) -> None:
    result = onnx_export.export_model(hf_dirs["llama"], tmp_path / "fp16", dtype="fp16")
    session = OrtSession.open(tmp_path / "fp16" / "model.onnx", provider="cpu")
    assert session.layout.inplace and session.layout.kv_dtype is np.float16
    assert result.spec.kv.cache == "inplace"
    ref = torch_logits(hf_dirs["llama"], PROMPT)
    got = session.logits_of(PROMPT, split=5)
    assert np.abs(got - ref).max() <= onnx_export.TOLERANCE["fp16"] * np.abs(ref).max()


def test_loop_gate_name_layouts_load_the_same(hf_dirs: dict[str, Path]) -> None:
    a = torch_logits(hf_dirs["loop"], PROMPT)
    b = torch_logits(hf_dirs["loop_alt"], PROMPT)
    assert np.array_equal(a, b)


def test_loop_window_matters(hf_dirs: dict[str, Path]) -> None:
    """The local branch is not a no-op: a wider window changes the logits."""
    from inference.export.loop_model import LoopCoderForCausalLM

    ckpt = read_checkpoint(hf_dirs["loop"])
    narrow = load_torch_model(ckpt)
    wide = LoopCoderForCausalLM({**ckpt.config, "loop_window_size": 64})
    wide.load_state_dict(narrow.state_dict())
    with torch.no_grad():
        x = torch.tensor([PROMPT])
        assert (narrow(x) - wide.eval()(x)).abs().max().item() > 1e-3


def test_int8_export_is_verified(hf_dirs: dict[str, Path], tmp_path: Path) -> None:
    result = onnx_export.export_model(hf_dirs["llama"], tmp_path / "int8", dtype="int8")
    assert (result.spec.dtype, result.spec.kv.cache) == ("int8", "inplace")
    assert result.top1_agreement >= onnx_export.MIN_TOP1["int8"]
    ref = torch_logits(hf_dirs["llama"], PROMPT)
    got = OrtSession.open(tmp_path / "int8" / "model.onnx", provider="cpu").logits_of(PROMPT)
    assert np.abs(got - ref).mean() <= onnx_export.TOLERANCE["int8"] * ref.std()
    assert 0 < np.abs(got - ref).max()  # it really is quantized
    onnx = pytest.importorskip("onnx")
    graph = onnx.load(str(tmp_path / "int8" / "model.onnx")).graph
    # every weight MatMul: per layer q/k/v (fused), o, gate/up (fused), down; and lm_head
    assert sum(n.op_type == "MatMulInteger" for n in graph.node) == 2 * 4 + 1
    # the embedding table: fp16, cast back to fp32 after the Gather
    embed = next(t for t in graph.initializer if t.name.endswith("embed_tokens.weight"))
    assert embed.data_type == onnx.TensorProto.FLOAT16
    assert any(n.op_type == "Cast" and n.input[0].endswith("_fp16") for n in graph.node)


def test_fp16_export_is_verified(hf_dirs: dict[str, Path], tmp_path: Path) -> None:
    result = onnx_export.export_model(hf_dirs["loop"], tmp_path / "fp16", dtype="fp16")
    session = OrtSession.open(tmp_path / "fp16" / "model.onnx", provider="cpu")
    assert session.layout.kv_dtype is np.float16 and result.spec.dtype == "fp16"
    ref = torch_logits(hf_dirs["loop"], PROMPT)
    got = session.logits_of(PROMPT, split=5)
    assert np.abs(got - ref).max() <= onnx_export.TOLERANCE["fp16"] * np.abs(ref).max()


@pytest.mark.parametrize("dtype", ["fp32", "int8"])
def test_large_models_keep_weights_in_external_data(hf_dirs: dict[str, Path], tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    dtype: str) -> None:
    from inference import Engine

    monkeypatch.setattr(onnx_export, "EXTERNAL_DATA_BYTES", 1000)
    out = onnx_export.export_model(hf_dirs["qwen2"], tmp_path / "big", dtype=dtype).model_dir
    names = sorted(p.name for p in out.iterdir())
    assert names == ["codeflow-model.json", "generation_config.json", "model.onnx",
                     "model.onnx.data", "tokenizer.json"]
    assert (out / "model.onnx").stat().st_size < (out / "model.onnx.data").stat().st_size
    ref = torch_logits(hf_dirs["qwen2"], PROMPT)
    got = Engine.load(out, provider="cpu").session.logits_of(PROMPT)
    assert onnx_export.within_tolerance(got, ref, dtype)


def test_mismatch_refuses_to_write(hf_dirs: dict[str, Path], tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(onnx_export.TOLERANCE, "fp32", 0.0)
    with pytest.raises(onnx_export.ExportMismatch, match="nothing was written"):
        onnx_export.export_model(hf_dirs["llama"], tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir()] == []


def test_unknown_architecture_is_refused(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"architectures": ["GPT2LMHeadModel"]}))
    with pytest.raises(ValueError, match="GPT2LMHeadModel"):
        read_checkpoint(tmp_path)


@pytest.mark.parametrize("code_style", [True, False])
def test_sentencepiece_model_converts_to_identical_tokenizer(tmp_path: Path,
                                                             code_style: bool) -> None:
    """code_style: identity normalisation, whitespace kept (as Llama-family code models)."""
    spm = pytest.importorskip("sentencepiece")
    from inference.export.tokenizer import write_tokenizer

    corpus = tmp_path / "corpus.txt"
    lines = ["def main(args):", "    return sorted(items, key=len)", "class Foo(Bar): pass",
             "print('héllo wörld')", "  x = y  +  z", "for i in range(10): yield i"]
    corpus.write_text("\n".join(lines * 40) + "\n", encoding="utf-8")
    spm.SentencePieceTrainer.train(
        input=str(corpus), model_prefix=str(tmp_path / "tokenizer"), vocab_size=400,
        model_type="bpe", byte_fallback=True, character_coverage=1.0,
        user_defined_symbols=["<|im_start|>", "<|im_end|>", "<|fim_prefix|>"],
        minloglevel=2, remove_extra_whitespaces=not code_style,
        normalization_rule_name="identity" if code_style else "nmt_nfkc",
    )
    (tmp_path / "config.json").write_text("{}")
    write_tokenizer(tmp_path, tmp_path)
    from tokenizers import Tokenizer

    ours = Tokenizer.from_file(str(tmp_path / "tokenizer.json"))
    ref = spm.SentencePieceProcessor(model_file=str(tmp_path / "tokenizer.model"))
    samples = lines + ["日本語 ✓ unseen ünïcode", "   leading spaces", "tabs\tand\nnewlines",
                       "trailing  ", ""]
    for text in samples:
        assert ours.encode(text, add_special_tokens=False).ids == ref.encode(text), text
        assert ours.decode(ref.encode(text)) == ref.decode(ref.encode(text)), text
    ids = ref.encode("x = sorted(items)  # keep")
    cut = next(k for k in range(1, len(ids)) if ref.id_to_piece(ids[k]).startswith("▁"))
    stream = TextStream(ours, context=ids[:cut])
    streamed = "".join(stream.push(i) for i in ids[cut:]) + stream.finish()
    assert streamed == ref.decode(ids)[len(ref.decode(ids[:cut])):]
    assert streamed.startswith(" ")  # the word-start piece keeps its space
    # Around special tokens: split first, then each piece as sentencepiece encodes it alone.
    with_specials = {"<|im_start|>user\nhi<|im_end|>": ["<|im_start|>", "user\nhi", "<|im_end|>"],
                     "x = 1<|fim_prefix|> def f():": ["x = 1", "<|fim_prefix|>", " def f():"]}
    for text, pieces in with_specials.items():
        expected = [i for p in pieces for i in ([ref.piece_to_id(p)] if p.startswith("<|")
                                                  else ref.encode(p))]
        assert ours.encode(text, add_special_tokens=False).ids == expected, text


def test_cli_export_and_generate(hf_dirs: dict[str, Path], tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    from inference import Engine, GenerateRequest
    from lsp_server.cli import main

    out = tmp_path / "model"
    assert main(["export", str(hf_dirs["qwen2"]), str(out)]) == 0
    assert "wrote" in capsys.readouterr().out
    assert main(["generate", "--model", str(out), "--prompt-ids", "5,6,7", "--max-tokens", "6",
                 "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    expected = Engine.load(out).generate(GenerateRequest((5, 6, 7), max_tokens=6))
    assert got["ids"] == list(expected.ids) and len(got["ids"]) == 6
    assert got["text"] == expected.text
    assert got["prompt_tokens"] == 3
    assert set(got) == {"ids", "text", "prompt_tokens", "ttft_ms", "tokens_per_s"}


def test_cli_generate_without_model_names_the_path(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from lsp_server.cli import main

    assert main(["generate", "--model", str(tmp_path / "nope"), "--prompt", "x"]) == 1
    err = capsys.readouterr().err
    assert str(tmp_path / "nope") in err and "codeflow export" in err


# Int8 agreement for the loop model, on any x86-64 CPU. ORT's int8 kernels differ by CPU: exact
# int32 sums (AVX-512 VNNI, AMX) give a mean |error| of 0.04 x the logits' std here; AVX2 without
# VNNI sums u8 x s8 pairs in saturating int16 (vpmaddubsw), and an emulation of that kernel gives
# 0.10 (0.1007 was measured on the machine of issue 17), top-1 0.88, cosine >= 0.977. A broken
# weight (a doubled scale, pass 2 reading another layer's weight) gives >= 0.34, cosine <= 0.86.
INT8_MEAN_ERR_STD = 0.2
INT8_MIN_COSINE = 0.95


def test_int8_loop_export_quantizes_the_shared_weights(hf_dirs: dict[str, Path],
                                                       tmp_path: Path) -> None:
    onnx = pytest.importorskip("onnx")
    result = onnx_export.export_model(hf_dirs["loop"], tmp_path / "int8", dtype="int8")
    assert result.top1_agreement >= onnx_export.MIN_TOP1["int8"]
    graph = onnx.load(str(tmp_path / "int8" / "model.onnx")).graph
    weights = {t.name: t for t in graph.initializer}
    float_weights = [n.input[1] for n in graph.node if n.op_type == "MatMul"
                     and n.input[1] in weights and weights[n.input[1]].data_type == 1]
    assert float_weights == []  # every weight MatMul reads int8 weights, both passes
    readers = Counter(n.input[1] for n in graph.node if n.op_type == "MatMulInteger")
    assert all(weights[name].data_type == onnx.TensorProto.INT8 for name in readers)
    # per layer qkv, o, gate/up, down: one int8 tensor read by both passes; lm_head once
    assert sorted(readers.values()) == [1] + [2] * 2 * 4
    ref = torch_logits(hf_dirs["loop"], PROMPT)
    got = OrtSession.open(tmp_path / "int8" / "model.onnx", provider="cpu").logits_of(PROMPT)
    assert np.abs(got - ref).mean() <= INT8_MEAN_ERR_STD * ref.std()
    cosine = (got * ref).sum(-1) / np.linalg.norm(got, axis=-1) / np.linalg.norm(ref, axis=-1)
    assert cosine.min() >= INT8_MIN_COSINE
    assert (got.argmax(-1) == ref.argmax(-1)).mean() >= onnx_export.MIN_TOP1["int8"]


def test_cli_generate_threads_reach_the_session(hf_dirs: dict[str, Path], tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """`--threads N` sets onnxruntime's intra-op threads (benchmarks match PyTorch's)."""
    from inference.engine import session as session_mod
    from lsp_server.cli import main

    out = tmp_path / "model"
    assert main(["export", str(hf_dirs["qwen2"]), str(out)]) == 0
    seen: list[int | None] = []
    options = session_mod.session_options

    def spy(threads, prepack=True):  # noqa: ANN001, ANN202
        seen.append(threads)
        return options(threads, prepack)

    monkeypatch.setattr(session_mod, "session_options", spy)
    assert main(["generate", "--model", str(out), "--prompt-ids", "5,6", "--max-tokens", "2",
                 "--threads", "2", "--json"]) == 0
    assert seen == [2]
