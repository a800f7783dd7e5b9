"""The remote backend end to end against a real llama.cpp server (llama-cpp-python) on loopback.

Same weights on both sides: the HF checkpoint (`inference/models/default/hf`, or a tiny random
Llama when it is missing) is exported to an fp32 ONNX model dir with `codeflow export` for the
local engine and converted to GGUF f32 with llama.cpp's converter for the server (f32 KV cache).
Tolerance: greedy decoding gives the identical text, token for token, for N_TOKENS tokens.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed: CI builds it from "
                    "its sdist (`make llamacpp`, see docs/serving-a-team.md)")
pytest.importorskip("torch", reason="the export extra (torch) is needed to build the models")

from inference.backends import GenerateRequest, RemoteBackend  # noqa: E402
from inference.backends.remote import RemoteAuthError, RemoteUnavailable  # noqa: E402
from inference.cancel import CancelToken  # noqa: E402
from inference.engine import Engine  # noqa: E402
from lsp_server.config import Config, RemoteConfig  # noqa: E402

from .llamacpp_support import (  # noqa: E402
    LlamaServer,
    convert_to_gguf,
    export_onnx,
    free_port,
    hf_checkpoint,
)

N_TOKENS = 24
KEY = "team-secret-42"
PROMPTS = (
    "<|fim_prefix|>def add(a, b):\n    <|fim_suffix|>\n\n\nprint(add(1, 2))\n<|fim_middle|>",
    "import os\nimport sys\n\n\ndef main():\n",
    "class Stack:\n    def __init__(self):\n        self.items = []\n\n    def push(self, x):\n",
)
CHAT = ("<|im_start|>system\nYou write Python.<|im_end|>\n<|im_start|>user\n"
        "Write a function that adds two numbers.<|im_end|>\n<|im_start|>assistant\n")


@dataclass(frozen=True)
class Weights:
    """One checkpoint in both forms."""

    hf: Path
    onnx: Path
    gguf: Path
    kind: str


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> Weights:
    root = tmp_path_factory.mktemp("llamacpp")
    hf, kind = hf_checkpoint(root)
    onnx = export_onnx(hf, root / "onnx")
    gguf = convert_to_gguf(hf, root / "model-f32.gguf", "f32")
    return Weights(hf, onnx, gguf, kind)


@pytest.fixture(scope="module")
def server(weights: Weights, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    srv = LlamaServer.start(weights.gguf, tmp_path_factory.mktemp("logs"))
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def engine(weights: Weights) -> Engine:
    return Engine.load(weights.onnx, provider="cpu", threads=1)


def remote(server: LlamaServer, weights: Weights, **cfg: object) -> RemoteBackend:
    config = RemoteConfig(url=server.url + "/v1", model=server.model, **cfg)  # type: ignore[arg-type]
    return RemoteBackend.from_config(config, weights.onnx, environ={"TEAM_KEY": KEY,
                                                                    "BAD_KEY": "wrong"})


def ids(engine: Engine, text: str) -> tuple[int, ...]:
    return tuple(engine.encode(text))


def server_tokens(server: LlamaServer, text: str) -> list[int]:
    body = json.dumps({"input": text}).encode()
    req = urllib.request.Request(server.url + "/extras/tokenize", data=body,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return list(json.loads(resp.read())["tokens"])


@pytest.mark.parametrize("prompt", PROMPTS + (CHAT,))
def test_server_tokenizes_our_prompts_identically(server: LlamaServer, engine: Engine,
                                                  prompt: str) -> None:
    assert server_tokens(server, prompt) == list(ids(engine, prompt))


@pytest.mark.parametrize("prompt", PROMPTS)
def test_greedy_completion_matches_local_engine(server: LlamaServer, weights: Weights,
                                                engine: Engine, prompt: str) -> None:
    req = GenerateRequest(ids(engine, prompt), max_tokens=N_TOKENS)
    local = engine.generate(req)
    backend = remote(server, weights)
    got = backend.generate(req)
    assert (got.text, got.stop_reason) == (local.text, local.stop_reason)
    assert backend.last_route == "/v1/completions"
    assert backend.prompt_as == "text"  # llama-cpp-python takes no token-id prompts


def test_chatml_prompt_goes_through_chat_endpoint(server: LlamaServer, weights: Weights,
                                                  engine: Engine) -> None:
    req = GenerateRequest(ids(engine, CHAT), max_tokens=N_TOKENS, stop=("<|im_end|>",),
                          slot="chat")
    local = engine.generate(req)
    backend = remote(server, weights)
    got = backend.generate(req)
    assert backend.last_route == "/v1/chat/completions"
    assert got.text == local.text


def test_streams_token_by_token(server: LlamaServer, weights: Weights, engine: Engine) -> None:
    backend = remote(server, weights)
    req = GenerateRequest(ids(engine, PROMPTS[1]), max_tokens=N_TOKENS)
    deltas = list(backend.stream(req))
    gen = backend.last_generation
    assert gen is not None
    assert "".join(d.text for d in deltas) == gen.text == engine.generate(req).text
    assert len(deltas) >= N_TOKENS // 2
    assert all(d.text for d in deltas)


def test_cancel_mid_stream(server: LlamaServer, weights: Weights, engine: Engine) -> None:
    backend = remote(server, weights)
    req = GenerateRequest(ids(engine, PROMPTS[2]), max_tokens=200)
    cancel = CancelToken()
    seen = []
    for delta in backend.stream(req, cancel):
        seen.append(delta.text)
        if len(seen) == 2:
            cancel.cancel()
    gen = backend.last_generation
    assert gen is not None
    assert (len(seen), gen.stop_reason, gen.text) == (2, "cancelled", "".join(seen))
    again = backend.generate(GenerateRequest(req.prompt_ids, max_tokens=N_TOKENS))
    assert again.text == engine.generate(GenerateRequest(req.prompt_ids,
                                                         max_tokens=N_TOKENS)).text


@pytest.fixture(scope="module")
def keyed_server(weights: Weights, tmp_path_factory: pytest.TempPathFactory
                 ) -> Iterator[LlamaServer]:
    srv = LlamaServer.start(weights.gguf, tmp_path_factory.mktemp("logs"), api_key=KEY)
    yield srv
    srv.stop()


def test_api_key(keyed_server: LlamaServer, weights: Weights, engine: Engine) -> None:
    req = GenerateRequest(ids(engine, PROMPTS[0]), max_tokens=8)
    with pytest.raises(RemoteAuthError) as info:
        remote(keyed_server, weights, api_key_env="BAD_KEY").generate(req)
    assert info.value.status == 401
    assert "wrong" not in str(info.value)
    missing = remote(keyed_server, weights)
    with pytest.raises(RemoteAuthError, match="set the key in the environment variable"):
        missing.generate(req)
    good = remote(keyed_server, weights, api_key_env="TEAM_KEY")
    assert good.generate(req).text == engine.generate(req).text


def test_server_down_keeps_local_features(weights: Weights, tmp_path: Path) -> None:
    from context.assemble import PromptRequest
    from lsp_server.services import Services

    dead = f"http://127.0.0.1:{free_port()}"
    reports: list[tuple[str, str]] = []
    config = Config(backend="remote", model_path=str(weights.onnx),
                    remote=RemoteConfig(url=dead, model="m", timeout_s=2.0))
    services = Services(tmp_path, config, lambda level, msg: reports.append((level, msg)))
    backend = services.load_backend()
    assert isinstance(backend, RemoteBackend) and reports == []
    assembler = services.assembler()
    prompt = assembler.build(PromptRequest(path="a.py", text="def add(a, b):\n    ",
                                           line=1, character=4, budget=256))
    assert prompt.fim and prompt.ids
    with pytest.raises(RemoteUnavailable) as info:
        backend.generate(GenerateRequest(prompt.ids, max_tokens=4))
    assert str(info.value).startswith(f"cannot reach the model server at {dead} (")
