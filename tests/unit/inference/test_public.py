"""Public names, the no-torch runtime rule, the model-dir json, and the scripted backend."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import inference
from inference import (
    Backend,
    Engine,
    GenerateRequest,
    KVSpec,
    ModelDirError,
    ModelSpec,
    ScriptedBackend,
    default_model_dir,
)


def test_public_names() -> None:
    assert sorted(inference.__all__) == [
        "Backend", "CancelToken", "Cancelled", "Delta", "Engine", "GenerateRequest",
        "Generation", "KVSpec", "ModelDirError", "ModelSpec", "ScriptedBackend",
        "default_model_dir",
    ]
    for name in inference.__all__:
        assert getattr(inference, name) is not None
    assert issubclass(ModelDirError, ValueError)
    assert default_model_dir() == Path(inference.__file__).parent / "models" / "default"


def test_runtime_imports_no_torch() -> None:
    code = ("import sys, inference, inference.engine, inference.backends, inference.spec, "
            "inference.export; bad = [m for m in sys.modules if m.split('.')[0] in "
            "('torch', 'transformers', 'onnx', 'optimum')]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def spec() -> ModelSpec:
    return ModelSpec(name="t", family="qwen2", architecture="dense",
                     prompt_format={"fim": "qwen2.5", "chat": "chatml"},
                     special_tokens={"eos": "<|endoftext|>"}, eos_token_ids=(0,),
                     max_context=2048, dtype="fp32", kv=KVSpec("dense", 2, 2, 16))


def test_model_json_round_trip(tmp_path: Path) -> None:
    spec().save(tmp_path)
    loaded = ModelSpec.load(tmp_path)
    assert loaded.raw == spec().raw
    assert loaded.raw["kv"] == {"layout": "dense", "num_layers": 2, "num_kv_heads": 2,
                                "head_dim": 16, "window": None, "num_heads": None,
                                "cache": "concat"}
    assert loaded.model_dir == tmp_path


def test_model_json_kv_cache_field(tmp_path: Path) -> None:
    data = spec().raw
    del data["kv"]["cache"]  # written before in-place K/V: the concatenating graph
    assert ModelSpec.from_dict(data).kv.cache == "concat"
    data["kv"]["cache"] = "inplace"
    assert ModelSpec.from_dict(data).kv.cache == "inplace"
    data["kv"]["cache"] = "paged"
    with pytest.raises(ModelDirError, match="kv.cache 'paged'"):
        ModelSpec.from_dict(data)


def test_model_json_rejects_loop_without_window(tmp_path: Path) -> None:
    data = spec().raw
    data["kv"]["layout"] = "loop"
    with pytest.raises(ModelDirError, match="kv.window"):
        ModelSpec.from_dict(data)


def test_scripted_backend_is_a_backend(tokenizer_file: Path) -> None:
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tokenizer_file))
    backend = ScriptedBackend(tok, spec(), ["return a + b", "x"])
    assert isinstance(backend, Backend)
    text = "".join(d.text for d in backend.stream(GenerateRequest((1, 2), max_tokens=50)))
    assert text == "return a + b"
    assert backend.last_generation is not None and backend.last_generation.stop_reason == "eos"
    assert backend.generate(GenerateRequest((1,), max_tokens=50)).text == "x"
    assert [r.prompt_ids for r in backend.requests] == [(1, 2), (1,)]


def test_engine_is_a_backend(model_dirs: dict[str, Path]) -> None:
    engine = Engine.load(model_dirs["llama"], provider="cpu")
    assert isinstance(engine, Backend)
    assert engine.spec.family == "llama"
    assert engine.last_generation is None
