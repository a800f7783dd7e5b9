"""Engine: cache == no cache, chunked prefill, prefix reuse, Loop windows, cancel, stops, errors."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from inference import CancelToken, Engine, GenerateRequest, ModelDirError
from inference.engine import OrtSession, Sampler, TextStream, choose_providers

PROMPT = (5, 17, 200, 3, 99, 42, 7, 7, 300, 12, 150, 61, 8, 19, 230, 4, 77)


def no_cache_greedy(model_dir: Path, prompt: tuple[int, ...], steps: int
                    ) -> tuple[list[int], list[np.ndarray]]:
    """Greedy decoding that reruns the whole sequence from scratch for every token."""
    session = OrtSession.open(model_dir / "model.onnx", provider="cpu")
    ids, out, rows = list(prompt), [], []
    for _ in range(steps):
        row = session.logits_of(ids)[-1]
        rows.append(row)
        out.append(int(row.argmax()))
        ids.append(out[-1])
    return out, rows


def cached_rows(engine: Engine, prompt: tuple[int, ...], generated: list[int]) -> list[np.ndarray]:
    rows = [engine.logits(prompt)]
    for i in range(1, len(generated)):
        rows.append(engine.logits(prompt + tuple(generated[:i])))
    return rows


@pytest.mark.parametrize("name", ["llama", "llama_concat", "loop", "loop_concat"])
def test_decoding_with_cache_equals_without(name: str, model_dirs: dict[str, Path]) -> None:
    engine = Engine.load(model_dirs[name], provider="cpu")
    engine.eos_ids = frozenset()
    gen = engine.generate(GenerateRequest(PROMPT, max_tokens=12))
    expected, rows = no_cache_greedy(model_dirs[name], PROMPT, 12)
    assert list(gen.ids) == expected
    assert gen.stop_reason == "length"
    got = cached_rows(engine, PROMPT, expected)
    assert max(float(np.abs(a - b).max()) for a, b in zip(got, rows, strict=True)) <= 1e-4


@pytest.mark.parametrize("name", ["qwen2", "llama_concat", "loop"])
def test_chunked_prefill_equals_one_shot(name: str, model_dirs: dict[str, Path]) -> None:
    long_prompt = tuple((i * 37) % 310 + 1 for i in range(70))
    one = Engine.load(model_dirs[name], provider="cpu").logits(long_prompt)
    chunked = Engine.load(model_dirs[name], provider="cpu", prefill_chunk=3).logits(long_prompt)
    assert np.abs(one - chunked).max() <= 1e-4


@pytest.mark.parametrize("name", ["loop", "loop_concat"])
def test_loop_incremental_decode_past_window_equals_full_forward(
        name: str, hf_dirs: dict[str, Path], model_dirs: dict[str, Path]) -> None:
    torch = pytest.importorskip("torch")
    from inference.export.hf import load_torch_model, read_checkpoint

    model = load_torch_model(read_checkpoint(hf_dirs["loop"]))
    engine = Engine.load(model_dirs[name], provider="cpu", prefill_chunk=3)
    engine.eos_ids = frozenset()
    prompt = PROMPT[:6]  # decode runs far past the window of 4
    gen = engine.generate(GenerateRequest(prompt, max_tokens=14))
    with torch.no_grad():
        full = model(torch.tensor([list(prompt) + list(gen.ids)]))[0].numpy()
    expected = full[len(prompt) - 1:-1].argmax(-1)
    assert list(gen.ids) == [int(i) for i in expected]
    rows = cached_rows(engine, prompt, list(gen.ids))
    assert np.abs(np.stack(rows) - full[len(prompt) - 1:-1]).max() <= 1e-4


def test_loop_window_64_in_place_matches_a_float64_reference(tokenizer_file: Path,
                                                           tmp_path: Path) -> None:
    """Window 64 (the real model's) on the in-place Loop graph: decoding across and past the
    window agrees token for token with the full forward run in float64, and the logits within
    1e-4; a window one token shorter would not (query i sees i-63 ... i)."""
    torch = pytest.importorskip("torch")
    from inference.export import export_model
    from inference.export.hf import load_torch_model, read_checkpoint

    from .conftest import save_loop

    hf = save_loop(tmp_path / "hf", tokenizer_file, window=64)
    out = export_model(hf, tmp_path / "model").model_dir
    engine = Engine.load(out, provider="cpu", prefill_chunk=16)
    assert engine.session.layout.inplace and engine.spec.kv.window == 64
    engine.eos_ids = frozenset()
    prompt = tuple((i * 53) % 310 + 1 for i in range(58))
    gen = engine.generate(GenerateRequest(prompt, max_tokens=16))  # to 74 tokens: past 64
    model = load_torch_model(read_checkpoint(hf)).double()
    with torch.no_grad():
        full = model(torch.tensor([list(prompt) + list(gen.ids)]))[0].numpy()
    reference = full[len(prompt) - 1:-1]
    assert list(gen.ids) == [int(i) for i in reference.argmax(-1)]
    rows = np.stack(cached_rows(engine, prompt, list(gen.ids)))
    assert np.abs(rows - reference).max() <= 1e-4
    narrow = load_torch_model(read_checkpoint(hf))  # the window matters at this length
    narrow.window = 63
    with torch.no_grad():
        off_by_one = narrow.double()(torch.tensor([list(prompt) + list(gen.ids)]))[0].numpy()
    assert np.abs(off_by_one[len(prompt) - 1:-1] - reference).max() > 1e-3


@pytest.mark.parametrize("name", ["llama", "llama_concat", "loop", "loop_concat"])
def test_prefix_reuse_after_edit_equals_fresh_run(name: str, model_dirs: dict[str, Path]) -> None:
    engine = Engine.load(model_dirs[name], provider="cpu", prefill_chunk=4)
    first = engine.generate(GenerateRequest(PROMPT, max_tokens=5))
    edited = PROMPT[:11] + (44, 45) + PROMPT[13:]
    again = engine.generate(GenerateRequest(edited, max_tokens=5))
    fresh = Engine.load(model_dirs[name], provider="cpu").generate(
        GenerateRequest(edited, max_tokens=5))
    assert first.reused_tokens == 0
    assert again.reused_tokens == 11
    assert again.ids == fresh.ids and again.text == fresh.text
    assert np.abs(engine.logits(edited) - Engine.load(model_dirs[name], provider="cpu").logits(
        edited)).max() <= 1e-4


@pytest.mark.parametrize("name", ["llama", "loop"])
def test_prefix_is_found_in_another_slot_and_warm_counts(name: str, model_dirs: dict[str, Path]
                                                         ) -> None:
    engine = Engine.load(model_dirs[name], provider="cpu")
    assert engine.warm(PROMPT[:10], slot="chat") == 10
    gen = engine.generate(GenerateRequest(PROMPT, max_tokens=3, slot="completion"))
    assert gen.reused_tokens == 10
    fresh = Engine.load(model_dirs[name], provider="cpu").generate(
        GenerateRequest(PROMPT, max_tokens=3))
    assert gen.ids == fresh.ids
    assert engine.warm(PROMPT, slot="chat") == 0  # all 17 copied from the completion slot
    assert engine.cache.slot("chat").ids == list(PROMPT)
    assert engine.warm(PROMPT + (9, 9), slot="chat") == 2


def test_kv_cap_evicts_least_recently_used_slot(model_dirs: dict[str, Path]) -> None:
    engine = Engine.load(model_dirs["llama"], provider="cpu", kv_cap_tokens=30)
    engine.warm(PROMPT, slot="a")
    engine.warm(tuple(range(40, 52)), slot="b")
    assert len(engine.cache.slot("a").ids) == 17 and len(engine.cache.slot("b").ids) == 12
    engine.warm(tuple(range(60, 66)), slot="c")
    assert len(engine.cache.slot("a").ids) == 0
    assert len(engine.cache.slot("b").ids) == 12 and len(engine.cache.slot("c").ids) == 6


def _place(start: int, shared: int = 10, length: int = 80) -> tuple[int, ...]:
    """A prompt of ``length`` ids sharing its first ``shared`` with every other place."""
    tail = tuple((start + i) % 300 + 1 for i in range(length - shared))
    return tuple(range(1, shared + 1)) + tail


@pytest.mark.parametrize("name", ["llama", "loop"])
def test_saved_prefix_brings_back_an_earlier_place(name: str, model_dirs: dict[str, Path]
                                                   ) -> None:
    engine = Engine.load(model_dirs[name], provider="cpu", prefill_chunk=16)
    a, b, c = _place(20), _place(110), _place(200)
    assert [engine.warm(p) for p in (a, b, c)] == [80, 70, 70]
    assert engine.warm(a) == 0  # a, saved when b replaced it, comes back whole
    assert engine.warm(b + (5, 6)) == 2
    fresh = Engine.load(model_dirs[name], provider="cpu")
    assert np.abs(engine.logits(c + (9,)) - fresh.logits(c + (9,))).max() <= 1e-4


def test_saved_prefixes_give_the_longest_match_and_drop_the_oldest(
        model_dirs: dict[str, Path]) -> None:
    engine = Engine.load(model_dirs["llama"], provider="cpu", prefill_chunk=16)
    engine.cache.max_saved = 2
    a = _place(20)
    a_short = a[:40] + _place(150, shared=0, length=70)
    places = [a_short, a, _place(110), _place(200)]
    for p in places:
        engine.warm(p)
    saved = engine.cache.saved("completion")
    assert [s.ids for s in saved] == [list(places[2]), list(places[1])]
    target, reused = engine.cache.acquire("completion", a + (7,))
    assert reused == 80 and target.ids == list(a)  # the longer of a and a_short
    assert engine.warm(a_short) == 70  # a_short was the oldest: dropped, only 40 tokens shared


@pytest.mark.parametrize("name", ["llama_concat", "loop_concat"])
def test_io_binding_path_on_cpu_equals_plain_run(name: str, model_dirs: dict[str, Path]) -> None:
    plain = Engine.load(model_dirs[name], provider="cpu", io_binding=False)
    bound = Engine.load(model_dirs[name], provider="cpu", io_binding=True, prefill_chunk=5)
    assert bound.session.io_binding and not plain.session.io_binding
    req = GenerateRequest(PROMPT, max_tokens=8)
    a, b = plain.generate(req), bound.generate(req)
    assert a.ids == b.ids
    edited = PROMPT[:9] + (1, 2, 3)
    assert bound.generate(GenerateRequest(edited, max_tokens=8)).reused_tokens == 9
    assert np.abs(plain.logits(edited) - bound.logits(edited)).max() <= 1e-4
    assert isinstance(bound.cache.slot("completion").shared[0], ort.OrtValue)


# ---- K/V written in place ----------------------------------------------------------------

def test_inplace_kv_is_written_into_the_bound_buffer(model_dirs: dict[str, Path]) -> None:
    """Decoding writes each token's K/V into the slot's one buffer (same memory every step,
    rows past the valid length untouched), and the rows equal the concatenating graph's K/V."""
    from inference.engine.kvbuffer import KVBuffer

    engine = Engine.load(model_dirs["llama"], provider="cpu")
    engine.eos_ids = frozenset()
    engine.warm(PROMPT)
    kv = engine.cache.slot("completion").shared
    assert isinstance(kv, KVBuffer) and kv.length == len(PROMPT)
    assert all(isinstance(v, ort.OrtValue) for v in kv.values)
    pointers = [a.ctypes.data for a in kv.arrays]
    assert [v.data_ptr() for v in kv.values] == pointers
    gen = engine.generate(GenerateRequest(PROMPT + (9,), max_tokens=6))
    assert engine.cache.slot("completion").shared is kv
    assert [a.ctypes.data for a in kv.arrays] == pointers  # bound once, written in place
    total = len(PROMPT) + 1 + len(gen.ids) - 1  # the last token is sampled, never run
    assert kv.length == total and len(engine.cache.slot("completion").ids) == total
    assert all(not a[:, :, total:].any() and a[:, :, total - 1].any() for a in kv.arrays)
    old = OrtSession.open(model_dirs["llama_concat"] / "model.onnx", provider="cpu")
    ids = list(PROMPT) + [9] + list(gen.ids[:-1])
    _, present = old.run(ids, old.empty_state(), num_logits=1)
    assert max(float(np.abs(p - a[:, :, :total]).max())
               for p, a in zip(present, kv.arrays, strict=True)) <= 1e-5


def test_inplace_buffer_grows_in_steps_and_stays_exact(model_dirs: dict[str, Path],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from inference.engine import kvbuffer, kvcache

    monkeypatch.setattr(kvbuffer, "MIN_CAPACITY", 8)
    seen = []
    original = kvbuffer.KVBuffer._allocate

    def spy(self: kvbuffer.KVBuffer, capacity: int, keep: object) -> None:
        seen.append(capacity)
        original(self, capacity, keep)

    monkeypatch.setattr(kvbuffer.KVBuffer, "_allocate", spy)
    long_prompt = [(i * 37) % 310 + 1 for i in range(70)]
    session = OrtSession.open(model_dirs["qwen2"] / "model.onnx", provider="cpu")
    state = session.empty_state()
    rows = []
    for start in range(0, 70, 5):  # chunk by chunk: the buffer doubles as needed
        logits, state = session.run(long_prompt[start:start + 5], state, num_logits=5)
        rows.append(logits)
    assert seen == [8, 16, 32, 64, 128]
    one = session.logits_of(long_prompt)
    assert np.abs(np.concatenate(rows) - one).max() <= 1e-4
    seen.clear()  # the engine reserves a prompt's worth (+ room to decode) before its prefill
    engine = Engine.load(model_dirs["qwen2"], provider="cpu", prefill_chunk=16)
    assert np.abs(engine.logits(tuple(long_prompt)) - one[-1]).max() <= 1e-4
    assert seen == [70 + kvcache.DECODE_ROOM]


def test_inplace_slots_never_share_a_buffer(model_dirs: dict[str, Path]) -> None:
    """A slot that takes another's prefix copies the rows: writing its own tokens leaves the
    other slot's K/V (and logits) as they were."""
    engine = Engine.load(model_dirs["llama"], provider="cpu")
    engine.warm(PROMPT, slot="a")
    a = engine.cache.slot("a").shared
    before = [arr[:, :, :a.length].copy() for arr in a.arrays]
    assert engine.warm(PROMPT[:10] + (1, 2, 3, 4, 5, 6, 7, 8), slot="b") == 8
    b = engine.cache.slot("b").shared
    assert b is not a and not set(map(id, b.arrays)) & set(map(id, a.arrays))
    assert all(np.array_equal(x, arr[:, :, :a.length]) for x, arr in zip(before, a.arrays,
                                                                         strict=True))
    fresh = Engine.load(model_dirs["llama"], provider="cpu")
    assert np.abs(engine.logits(PROMPT + (3,), slot="a") - fresh.logits(PROMPT + (3,))).max() \
        <= 1e-4


def test_inplace_saved_prefix_takes_the_buffer_over(model_dirs: dict[str, Path]) -> None:
    """Moving away from a long place saves it without copying its K/V: the saved prefix takes
    the slot's buffer, the slot keeps a copy of only the tokens it shares with the new place."""
    engine = Engine.load(model_dirs["llama"], provider="cpu", prefill_chunk=16)
    a, b = _place(20), _place(110)
    engine.warm(a)
    buffer = engine.cache.slot("completion").shared
    assert engine.warm(b) == 70
    saved = engine.cache.saved("completion")
    assert len(saved) == 1 and saved[0].shared is buffer and saved[0].ids == list(a)
    assert engine.cache.slot("completion").shared is not buffer
    assert engine.warm(a) == 0
    fresh = Engine.load(model_dirs["llama"], provider="cpu")
    assert np.abs(engine.logits(a + (9,)) - fresh.logits(a + (9,))).max() <= 1e-4
    assert np.abs(engine.logits(b + (9,)) - fresh.logits(b + (9,))).max() <= 1e-4


def test_inplace_buffer_stops_at_the_models_positions() -> None:
    from inference.engine.kvbuffer import BufferShape, KVBuffer

    kv = KVBuffer(BufferShape(2, 2, 4, np.float32, "cpu", max_positions=300))
    kv.reserve(10)
    assert kv.capacity == 256 and kv.nbytes() == 2 * 2 * 256 * 4 * 4
    kv.reserve(257)
    assert kv.capacity == 300  # doubling, capped at the model's positions
    with pytest.raises(ValueError, match="exceed the model's 300"):
        kv.reserve(301)


def test_old_concat_dir_loads_with_a_note(model_dirs: dict[str, Path], tmp_path: Path,
                                          caplog: pytest.LogCaptureFixture) -> None:
    old = copy_model(model_dirs["llama_concat"], tmp_path / "old")
    meta = json.loads((old / "codeflow-model.json").read_text())
    del meta["kv"]["cache"]  # as written before in-place K/V
    (old / "codeflow-model.json").write_text(json.dumps(meta))
    with caplog.at_level("INFO", logger="inference.engine.engine"):
        engine = Engine.load(old, provider="cpu")
    assert not engine.session.layout.inplace
    assert "re-export" in caplog.text and "copied every step" in caplog.text
    new = Engine.load(model_dirs["llama"], provider="cpu")
    assert np.abs(engine.logits(PROMPT) - new.logits(PROMPT)).max() <= 1e-4
    meta["kv"]["cache"] = "inplace"  # json and graph from different exports
    (old / "codeflow-model.json").write_text(json.dumps(meta))
    with pytest.raises(ModelDirError, match="different exports"):
        Engine.load(old, provider="cpu")


def test_provider_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ort, "get_available_providers", lambda: ["CPUExecutionProvider"])
    assert choose_providers("auto") == ["CPUExecutionProvider"]
    with pytest.raises(ValueError, match="onnxruntime-gpu"):
        choose_providers("cuda")
    monkeypatch.setattr(ort, "get_available_providers",
                        lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"])
    assert choose_providers("auto") == ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert choose_providers("cpu") == ["CPUExecutionProvider"]
    with pytest.raises(ValueError, match="auto, cpu or cuda"):
        choose_providers("tpu")


def test_cancel_stops_within_one_token(model_dirs: dict[str, Path]) -> None:
    engine = Engine.load(model_dirs["llama"], provider="cpu")
    engine.eos_ids = frozenset()
    token = CancelToken()
    seen = []
    for delta in engine.stream(GenerateRequest(PROMPT, max_tokens=50), token):
        seen.extend(delta.ids)
        if len(seen) >= 3:
            token.cancel()
    gen = engine.last_generation
    assert gen is not None and gen.stop_reason == "cancelled"
    assert gen.ids == tuple(seen)  # no token after the one whose delta saw the cancel
    assert 3 <= len(seen) <= 6


def test_cancel_before_prefill_generates_nothing(model_dirs: dict[str, Path]) -> None:
    engine = Engine.load(model_dirs["llama"], provider="cpu", prefill_chunk=4)
    token = CancelToken()
    token.cancel()
    gen = engine.generate(GenerateRequest(PROMPT, max_tokens=5), token)
    assert (gen.ids, gen.text, gen.stop_reason) == ((), "", "cancelled")


def test_stop_rules(model_dirs: dict[str, Path]) -> None:
    engine = Engine.load(model_dirs["llama"], provider="cpu")
    engine.eos_ids = frozenset()
    base = engine.generate(GenerateRequest(PROMPT, max_tokens=10))
    assert base.stop_reason == "length" and len(base.ids) == 10
    engine.eos_ids = frozenset({base.ids[4]})
    first_eos = base.ids.index(base.ids[4])
    eos = engine.generate(GenerateRequest(PROMPT, max_tokens=10))
    assert eos.stop_reason == "eos" and eos.ids == base.ids[:first_eos]
    engine.eos_ids = frozenset()
    timed = engine.generate(GenerateRequest(PROMPT, max_tokens=10, max_time_s=0.0))
    assert timed.stop_reason == "time" and len(timed.ids) == 1


def test_stop_string_cuts_text(model_dirs: dict[str, Path]) -> None:
    engine = Engine.load(model_dirs["llama"], provider="cpu")
    engine.eos_ids = frozenset()
    prompt = tuple(engine.encode("def add(a, b):\n    return"))
    base = engine.generate(GenerateRequest(prompt, max_tokens=20))
    stop = base.text[5:7]
    assert len(stop) == 2 and "\ufffd" not in stop
    cut = engine.generate(GenerateRequest(prompt, max_tokens=20, stop=(stop,)))
    assert cut.stop_reason == "stop"
    assert cut.text == base.text[:base.text.index(stop)]
    assert base.ids[:len(cut.ids)] == cut.ids


def test_sampling_is_seeded_and_top_k_one_is_greedy(model_dirs: dict[str, Path]) -> None:
    engine = Engine.load(model_dirs["qwen2"], provider="cpu")
    engine.eos_ids = frozenset()
    sample = GenerateRequest(PROMPT, max_tokens=10, temperature=1.5, top_p=0.9, seed=7)
    a, b = engine.generate(sample), engine.generate(sample)
    assert a.ids == b.ids
    greedy = engine.generate(GenerateRequest(PROMPT, max_tokens=10))
    top1 = engine.generate(GenerateRequest(PROMPT, max_tokens=10, temperature=1.0, top_k=1))
    assert top1.ids == greedy.ids


def test_sampler_distribution_filters() -> None:
    logits = np.log(np.array([0.5, 0.3, 0.15, 0.05]))
    probs = Sampler(temperature=1.0, top_p=0.7).distribution(logits)
    assert np.allclose(probs, [0.625, 0.375, 0, 0])
    probs = Sampler(temperature=1.0, top_k=3).distribution(logits)
    assert np.allclose(probs, [0.5 / 0.95, 0.3 / 0.95, 0.15 / 0.95, 0])
    assert Sampler()(logits) == 0


def test_text_stream_is_utf8_safe(tokenizer_file: Path) -> None:
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tokenizer_file))
    text = "print('héllo ✓ 日本語 ünïcode 🙂')"
    ids = tok.encode(text).ids
    assert any("\ufffd" in tok.decode([i]) for i in ids)  # some tokens split a character
    stream = TextStream(tok)
    deltas = [stream.push(i) for i in ids] + [stream.finish()]
    assert all("\ufffd" not in d for d in deltas)
    assert "".join(deltas) == text == stream.text


def test_text_stream_holds_back_possible_stop(tokenizer_file: Path) -> None:
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tokenizer_file))
    ids = [tok.encode(c).ids[0] for c in "ab\ncd\n\nef"]
    stream = TextStream(tok, stop=("\n\n",))
    deltas = []
    for i in ids:
        deltas.append(stream.push(i))
        if stream.stopped:
            break
    assert deltas == ["a", "b", "", "\nc", "d", "", ""]
    assert stream.text == "ab\ncd" and stream.stopped


def test_engine_runs_from_another_thread(model_dirs: dict[str, Path]) -> None:
    engine = Engine.load(model_dirs["loop"], provider="cpu")
    req = GenerateRequest(PROMPT, max_tokens=6)
    result = {}
    worker = threading.Thread(target=lambda: result.update(gen=engine.generate(req)))
    worker.start()
    worker.join(timeout=60)
    same = Engine.load(model_dirs["loop"], provider="cpu").generate(req)
    assert result["gen"].ids == same.ids


# ---- bad model dirs ------------------------------------------------------------------------

def copy_model(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def test_missing_dir_names_path_and_fix(tmp_path: Path) -> None:
    with pytest.raises(ModelDirError, match="codeflow export") as info:
        Engine.load(tmp_path / "absent")
    assert str(tmp_path / "absent") in str(info.value)


def test_truncated_onnx_is_a_clear_error(model_dirs: dict[str, Path], tmp_path: Path) -> None:
    bad = copy_model(model_dirs["llama"], tmp_path / "m")
    data = (bad / "model.onnx").read_bytes()
    (bad / "model.onnx").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelDirError, match="truncated or not a codeflow graph") as info:
        Engine.load(bad)
    assert str(bad / "model.onnx") in str(info.value)


def test_foreign_onnx_is_a_clear_error(model_dirs: dict[str, Path], tmp_path: Path) -> None:
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    bad = copy_model(model_dirs["llama"], tmp_path / "m")
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", [x], [y])
    onnx.save(helper.make_model(graph), str(bad / "model.onnx"))
    with pytest.raises(ModelDirError, match="not a codeflow graph"):
        Engine.load(bad)


def test_missing_files_and_mismatched_json(model_dirs: dict[str, Path], tmp_path: Path) -> None:
    bad = copy_model(model_dirs["llama"], tmp_path / "m")
    (bad / "tokenizer.json").unlink()
    with pytest.raises(ModelDirError, match="tokenizer.json is missing"):
        Engine.load(bad)
    other = copy_model(model_dirs["loop"], tmp_path / "n")
    meta = json.loads((other / "codeflow-model.json").read_text())
    meta["kv"]["num_layers"] = 3
    (other / "codeflow-model.json").write_text(json.dumps(meta))
    with pytest.raises(ModelDirError, match="different exports"):
        Engine.load(other)
    (other / "codeflow-model.json").write_text("{")
    with pytest.raises(ModelDirError, match="not valid JSON"):
        Engine.load(other)
    (other / "codeflow-model.json").unlink()
    with pytest.raises(ModelDirError, match="codeflow-model.json is missing"):
        Engine.load(other)


@pytest.mark.gpu
def test_cuda_provider_matches_cpu(model_dirs: dict[str, Path]) -> None:
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        pytest.skip("no CUDA provider")
    gpu = Engine.load(model_dirs["loop"], provider="cuda")
    assert gpu.session.io_binding and gpu.session.device == "cuda"
    cpu = Engine.load(model_dirs["loop"], provider="cpu")
    assert np.abs(gpu.logits(PROMPT) - cpu.logits(PROMPT)).max() <= 1e-3


def test_prefill_chunks_shrink_for_long_contexts() -> None:
    from inference.engine.engine import chunk_size

    assert chunk_size(512, 8, 8192) == 512  # 8 x 512 x 8192 = 2^25 scores fit
    assert chunk_size(512, 40, 131072) == 16  # would be 12: floor of 16
    assert chunk_size(512, 32, 16384) == 128


def test_generation_stops_at_max_context(model_dirs: dict[str, Path], tmp_path: Path) -> None:
    small = copy_model(model_dirs["llama"], tmp_path / "m")
    meta = json.loads((small / "codeflow-model.json").read_text())
    meta["max_context"] = 20
    (small / "codeflow-model.json").write_text(json.dumps(meta))
    engine = Engine.load(small, provider="cpu")
    engine.eos_ids = frozenset()
    gen = engine.generate(GenerateRequest(PROMPT, max_tokens=10))
    assert gen.stop_reason == "context" and len(PROMPT) + len(gen.ids) == 20
    with pytest.raises(ValueError, match="exceeds max context"):
        engine.generate(GenerateRequest(PROMPT + PROMPT, max_tokens=1))


def test_default_threads_leave_cores_and_do_not_spin() -> None:
    from inference.engine.session import default_threads, session_options

    assert [default_threads(n) for n in (1, 2, 4, 16)] == [1, 1, 2, 8]
    opts = session_options(None)
    assert opts.intra_op_num_threads == default_threads()
    assert opts.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert session_options(3).intra_op_num_threads == 3


def test_cpu_prefill_chunk_default(model_dirs: dict[str, Path]) -> None:
    from inference.engine.engine import CPU_PREFILL_CHUNK

    assert Engine.load(model_dirs["llama"], provider="cpu").prefill_chunk == CPU_PREFILL_CHUNK
    assert Engine.load(model_dirs["llama"], provider="cpu", prefill_chunk=7).prefill_chunk == 7
