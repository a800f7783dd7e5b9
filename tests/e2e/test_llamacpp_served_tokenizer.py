"""A team server without a local model dir, against a real llama.cpp server (llama-cpp-python).

The served model is not the bundled one: a tiny random Llama with its own small BPE vocabulary
(500 tokens, special tokens at other ids), exported with `codeflow export` for the local engine
and converted to GGUF f32 for the server. With `backend: remote` and no `modelPath`, prompts
must be counted with the server's tokenizer (the ids codeflow sends are the server's own
tokenization of what it receives) and greedy output must equal the local engine's on the same
model. llama-cpp-python reports no context length: without `remote.maxContext` loading fails
with a message that says so, and the server keeps serving.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed: CI builds it from "
                    "its sdist (`make llamacpp`, see docs/serving-a-team.md)")
pytest.importorskip("torch", reason="the export extra (torch) is needed to build the models")

from context.assemble import PromptRequest  # noqa: E402
from inference import default_model_dir  # noqa: E402
from inference.backends import GenerateRequest, RemoteBackend  # noqa: E402
from inference.backends.remote import ServerTokenizer  # noqa: E402
from inference.engine import Engine  # noqa: E402
from lsp_server.commands.doctor import _remote  # noqa: E402
from lsp_server.config import Config, RemoteConfig  # noqa: E402
from lsp_server.services import Services  # noqa: E402

from .llamacpp_support import (  # noqa: E402
    TINY_CORPUS,
    LlamaServer,
    convert_to_gguf,
    export_onnx,
    tiny_checkpoint,
)
from .test_llamacpp_server import server_tokens  # noqa: E402

MODEL = "served-tiny"
N_CTX = 512
N_TOKENS = 24
SPECIALS = ("<|endoftext|>", "<|fim_middle|>", "<|fim_suffix|>", "<|fim_prefix|>",
            "<|im_end|>", "<|im_start|>", "<|file_sep|>", "<|repo_name|>")
"""The bundled model's special tokens in another order (EOS stays 0): other ids."""
CORPUS = [
    "def mean(xs):\n    total = 0\n    for x in xs:\n        total += x\n"
    "    return total / len(xs)\n",
    "class Queue:\n    def __init__(self):\n        self.items = []\n\n"
    "    def put(self, item):\n        self.items.insert(0, item)\n",
    "import json\n\n\ndef load(path):\n    with open(path) as f:\n        return json.load(f)\n",
] * 20 + TINY_CORPUS
FILE = ("import json\n\n\nclass Queue:\n    def __init__(self):\n        self.items = []\n\n"
        "    def put(self, item):\n        \n\n\ndef load(path):\n    with open(path) as f:\n"
        "        return json.load(f)\n")
LINE, CHARACTER = 8, 8


def served_tokenizer() -> Any:
    """Byte-level BPE with the Qwen2 split (what llama.cpp's `qwen2` pre-tokenizer does)."""
    from tokenizers import pre_tokenizers, trainers

    from inference.training.tokenizer import new_tokenizer

    tok = new_tokenizer()
    trainer = trainers.BpeTrainer(vocab_size=500, min_frequency=2, special_tokens=list(SPECIALS),
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(CORPUS, trainer)
    return tok


@dataclass(frozen=True)
class Served:
    onnx: Path
    gguf: Path


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Served:
    root = tmp_path_factory.mktemp("served")
    hf = tiny_checkpoint(root / "hf", seed=7, tok=served_tokenizer())
    return Served(export_onnx(hf, root / "onnx"), convert_to_gguf(hf, root / "served.gguf"))


@pytest.fixture(scope="module")
def server(served: Served, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    srv = LlamaServer.start(served.gguf, tmp_path_factory.mktemp("logs"), model=MODEL,
                            n_ctx=N_CTX)
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def engine(served: Served) -> Engine:
    return Engine.load(served.onnx, provider="cpu", threads=1)


def services_for(server: LlamaServer, reports: list[tuple[str, str]], **remote: Any) -> Services:
    config = Config(backend="remote", remote=RemoteConfig(url=server.url + "/v1", model=MODEL,
                                                          **remote))
    return Services(None, config, lambda level, msg: reports.append((level, msg)))


def record_bodies(backend: RemoteBackend) -> list[tuple[str, Any]]:
    """(path, body) of every request the backend sends from now on."""
    sent: list[tuple[str, Any]] = []
    transport = backend.transport
    send = transport.send

    def recording(conn: Any, method: str, path: str, body: Any = None) -> Any:
        sent.append((path, body))
        return send(conn, method, path, body)

    transport.send = recording  # type: ignore[method-assign]
    return sent


def test_no_model_dir_counts_with_the_servers_tokenizer(server: LlamaServer, engine: Engine
                                                        ) -> None:
    reports: list[tuple[str, str]] = []
    assert services_for(server, reports).load_backend() is None
    assert len(reports) == 1 and reports[0][0] == "error"
    assert reports[0][1].endswith("reports none (vLLM: max_model_len in /v1/models; llama.cpp's "
                                  "server: n_ctx in /props); set codeflow.remote.maxContext to "
                                  "the server's context size (its --n_ctx or --max-model-len)")

    reports.clear()
    services = services_for(server, reports, max_context=N_CTX)
    backend = services.load_backend()
    assert reports == [] and isinstance(backend, RemoteBackend)
    assert isinstance(backend.tokenizer, ServerTokenizer)
    assert backend.spec.max_context == N_CTX
    assembler = services.assembler()
    assert assembler is not None
    prompt = assembler.build(PromptRequest(path="queue.py", text=FILE, line=LINE,
                                           character=CHARACTER, budget=256))
    assert prompt.fim and prompt.text.count("<|fim_") == 3
    ids = list(prompt.ids)
    assert ids == server_tokens(server, prompt.text) == engine.encode(prompt.text)
    from tokenizers import Tokenizer

    bundled = Tokenizer.from_file(str(default_model_dir() / "tokenizer.json"))
    assert ids != bundled.encode(prompt.text, add_special_tokens=False).ids

    sent = record_bodies(backend)
    req = GenerateRequest(prompt.ids, max_tokens=N_TOKENS)
    got = backend.generate(req)
    bodies = [body for path, body in sent if path == "/v1/completions"]
    assert len(bodies) == 1
    assert server_tokens(server, bodies[0]["prompt"]) == ids
    local = engine.generate(req)
    assert got.text and (got.text, got.stop_reason) == (local.text, local.stop_reason)


def test_doctor_names_the_tokenizer_and_context(server: LlamaServer, served: Served) -> None:
    env = {"CODEFLOW_REMOTE_URL": server.url + "/v1", "CODEFLOW_REMOTE_MODEL": MODEL,
           "CODEFLOW_REMOTE_MAX_CONTEXT": str(N_CTX)}
    checks = {c.name: c for c in _remote(None, env)}
    assert checks["remote tokenizer"].detail == "the server's own (/extras/tokenize)"
    assert checks["remote context"].detail == f"{N_CTX} tokens (codeflow.remote.maxContext)"
    assert checks["remote generation"].ok
    same = {c.name: c for c in _remote(str(served.onnx), env)}
    assert same["remote tokenizer"].detail == (f"{served.onnx / 'tokenizer.json'} (agrees with "
                                               "the server's tokenizer)")
    other = {c.name: c for c in _remote(str(default_model_dir()), env)}
    assert (other["remote tokenizer"].ok, other["remote tokenizer"].required) == (False, False)
    assert other["remote tokenizer"].detail.startswith(
        f"the tokenizer in {default_model_dir()} splits text differently from the server's")


def test_editor_is_told_what_to_set_and_the_server_keeps_serving(server: LlamaServer,
                                                                  tmp_path: Path) -> None:
    """Through `codeflow serve`: no context length → an error the editor shows (once), the
    server answers everything else; with `remote.maxContext` set the model loads."""
    import time

    from tests.robustness.harness import Server as Lsp
    from tests.robustness.harness import server_env

    root = tmp_path / "ws"
    root.mkdir()
    (root / "queue.py").write_text(FILE, encoding="utf-8")
    uri = (root / "queue.py").as_uri()
    remote = {"url": server.url + "/v1", "model": MODEL}
    lsp = Lsp(server_env(tmp_path / "cache"))
    try:
        assert lsp.call(lsp.initialize(root, {"backend": "remote", "remote": remote})).ok
        lsp.call(lsp.wait_ready(model=False))
        params = {"textDocument": {"uri": uri}, "position": {"line": LINE, "character": CHARACTER},
                  "context": {"triggerKind": 1}}
        reply = lsp.call(lsp.request("textDocument/inlineCompletion", params))
        assert reply.ok and reply.result["items"] == []
        deadline = time.monotonic() + 60
        while not any("codeflow.remote.maxContext" in text for _, text in lsp.seen.messages):
            assert time.monotonic() < deadline, lsp.seen.messages
            time.sleep(0.05)
        shown = [(kind, text) for kind, text in lsp.seen.messages if "maxContext" in text]
        assert shown == [(1, "codeflow: the model could not be loaded: cannot tell the context "
                          f"length of {MODEL}: the server at {server.url} reports none (vLLM: "
                          "max_model_len in /v1/models; llama.cpp's server: n_ctx in /props); "
                          "set codeflow.remote.maxContext to the server's context size (its "
                          "--n_ctx or --max-model-len)")]
        where = {"start": {"line": LINE, "character": 0}, "end": {"line": LINE, "character": 0}}
        actions = lsp.call(lsp.request("textDocument/codeAction", {
            "textDocument": {"uri": uri}, "range": where, "context": {"diagnostics": []}}))
        assert actions.ok  # answered (nothing to offer here), not an error
        stats = lsp.call(lsp.request("codeflow/_stats", {})).result
        assert (stats["index_ready"], stats["model_loaded"]) == (True, False)

        settings = {"backend": "remote", "remote": {**remote, "maxContext": N_CTX}}

        async def change() -> None:
            lsp.notify("workspace/didChangeConfiguration", {"settings": {"codeflow": settings}})

        lsp.call(change())
        assert lsp.call(lsp.wait_ready())["model_loaded"]
        params["position"] = {"line": LINE - 1, "character": 4}
        assert lsp.call(lsp.request("textDocument/inlineCompletion", params)).ok
    finally:
        lsp.stop()
