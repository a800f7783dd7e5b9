"""A team server without a local model dir: the served model's own tokenizer and context length.

Scripted servers speak each dialect: vLLM (`/tokenize` reads `prompt`, `/v1/models` lists
`max_model_len`), llama.cpp's server (`/tokenize` reads `content`, `/props` has `n_ctx`) and
llama-cpp-python (`/extras/tokenize` reads `input` and adds BOS, `/extras/detokenize` drops
special tokens, no context length anywhere). The served tokenizer is not the bundled one: the
bundled model's 8K vocabulary must never count or cut a prompt for another model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tokenizers import Tokenizer

from context.assemble import PromptRequest
from inference import default_model_dir
from inference.backends import GenerateRequest, RemoteBackend
from inference.backends.remote import RemoteConfigError, ServedModel, ServerTokenizer
from lsp_server.config import Config, RemoteConfig
from lsp_server.services import Services

from .conftest import CORPUS, FakeServer, Handler, stream_texts

MODEL = "served-coder"
FILE = ("import os\n\n\ndef add(a, b):\n    return a + b\n\n\nclass Stack:\n"
        "    def __init__(self):\n        self.items = []\n\n    def push(self, x):\n"
        "        \n\n\nprint(add(1, 2), os.sep)\n")
LINE, CHARACTER = 12, 8


SPECIALS = ("<|endoftext|>", "<|fim_middle|>", "<|fim_suffix|>", "<|fim_prefix|>",
            "<|im_end|>", "<|im_start|>", "<|file_sep|>", "<|repo_name|>")
"""The bundled model's special tokens in another order: other ids for the same spellings."""


@pytest.fixture(scope="module")
def served() -> Tokenizer:
    """The served model's tokenizer: byte-level BPE with the Qwen2 split (so prompt sections
    concatenate exactly), 400 tokens of its own, special-token ids unlike the bundled one's."""
    from tokenizers import pre_tokenizers, trainers

    from inference.training.tokenizer import new_tokenizer

    tok = new_tokenizer()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=list(SPECIALS),
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator([FILE, *CORPUS], trainer)
    return tok


def bundled() -> Tokenizer:
    return Tokenizer.from_file(str(default_model_dir() / "tokenizer.json"))


def serve_vllm(fake: FakeServer, tok: Tokenizer, max_len: int = 32768) -> None:
    fake.routes[("GET", "/v1/models")] = lambda h, b: h.send_json(200, {"object": "list", "data": [
        {"id": MODEL, "object": "model", "owned_by": "vllm", "max_model_len": max_len}]})

    def tokenize(h: Handler, body: Any) -> None:
        if body.get("model") != MODEL:
            h.send_json(404, {"message": f"The model `{body.get('model')}` does not exist."})
            return
        if set(body) - {"model", "prompt", "add_special_tokens"}:  # vLLM warns on each one
            h.send_json(400, {"message": f"unexpected fields in {sorted(body)}"})
            return
        ids = tok.encode(body["prompt"], add_special_tokens=body.get("add_special_tokens",
                                                                       True)).ids
        h.send_json(200, {"count": len(ids), "max_model_len": max_len, "tokens": ids,
                          "token_strs": None})

    fake.routes[("POST", "/tokenize")] = tokenize
    fake.routes[("POST", "/detokenize")] = lambda h, b: h.send_json(
        200, {"prompt": tok.decode(b["tokens"], skip_special_tokens=False)})


def serve_llama_cpp_python(fake: FakeServer, tok: Tokenizer, bos: int) -> None:
    fake.routes[("GET", "/v1/models")] = lambda h, b: h.send_json(200, {"object": "list", "data": [
        {"id": MODEL, "object": "model", "owned_by": "me", "permissions": []}]})
    fake.routes[("POST", "/extras/tokenize")] = lambda h, b: h.send_json(
        200, {"tokens": [bos, *tok.encode(b["input"], add_special_tokens=False).ids]})
    fake.routes[("POST", "/extras/detokenize")] = lambda h, b: h.send_json(
        200, {"text": tok.decode(b["tokens"], skip_special_tokens=True)})


def services_for(fake: FakeServer, reports: list[tuple[str, str]], model_path: str = "",
                 **remote: Any) -> Services:
    config = Config(backend="remote", model_path=model_path,
                    remote=RemoteConfig(url=fake.url + "/v1", model=MODEL, **remote))
    return Services(None, config, lambda level, msg: reports.append((level, msg)))


def build(services: Services) -> Any:
    assembler = services.assembler()
    assert assembler is not None
    return assembler.build(PromptRequest(path="stack.py", text=FILE, line=LINE,
                                         character=CHARACTER, budget=512))


def test_vllm_without_model_dir_counts_with_the_servers_tokenizer(
        fake: FakeServer, served: Tokenizer) -> None:
    serve_vllm(fake, served)
    fake.routes[("POST", "/v1/completions")] = stream_texts(["self.items.append(x)"])
    reports: list[tuple[str, str]] = []
    services = services_for(fake, reports)
    backend = services.load_backend()
    assert reports == [] and isinstance(backend, RemoteBackend)
    prompt = build(services)
    assert prompt.fim and "<|fim_middle|>" in prompt.text
    assert list(prompt.ids) == served.encode(prompt.text, add_special_tokens=False).ids
    assert list(prompt.ids) != bundled().encode(prompt.text, add_special_tokens=False).ids
    assert backend.spec.max_context == 32768
    assert isinstance(backend.tokenizer, ServerTokenizer)
    assert backend.served == ServedModel("the server's own (/tokenize)", 32768,
                                         "the server's /v1/models max_model_len")
    fake.seen.clear()
    gen = backend.generate(GenerateRequest(prompt.ids, max_tokens=8))
    assert gen.text == "self.items.append(x)"
    assert [(s.path, s.body["prompt"]) for s in fake.seen] == [
        ("/v1/completions", list(prompt.ids))]


def test_server_tokenizer_caches_and_batches(fake: FakeServer, served: Tokenizer) -> None:
    serve_vllm(fake, served)
    services = services_for(fake, [])
    services.load_backend()
    first = build(services)
    texts = [s.body["prompt"] for s in fake.seen if s.path == "/tokenize"]
    assert len(texts) == len(set(texts))  # no text is asked for twice
    before = FILE.splitlines(keepends=True)[:LINE]
    assert set(before) <= set(texts)  # the lines before the cursor, counted one by one
    fake.seen.clear()
    again = build(services)
    assert again.ids == first.ids and fake.paths() == []  # every count came from the cache


def test_llama_cpp_python_needs_max_context(fake: FakeServer, served: Tokenizer) -> None:
    bos = served.token_to_id("<|endoftext|>")
    serve_llama_cpp_python(fake, served, bos)
    reports: list[tuple[str, str]] = []
    services = services_for(fake, reports)
    assert services.load_backend() is None
    assert reports == [("error", "codeflow: the model could not be loaded: cannot tell the "
                        f"context length of {MODEL}: the server at {fake.url} reports none "
                        "(vLLM: max_model_len in /v1/models; llama.cpp's server: n_ctx in /props);"
                        " set codeflow.remote.maxContext to the server's context size (its "
                        "--n_ctx or --max-model-len)")]
    fake.routes[("POST", "/v1/completions")] = stream_texts(["ok"])
    services = services_for(fake, reports := [], max_context=2048)
    backend = services.load_backend()
    assert reports == [] and backend is not None
    assert (backend.spec.max_context, backend.served.context_source) == (
        2048, "codeflow.remote.maxContext")
    assert backend.served.tokenizer == "the server's own (/extras/tokenize)"
    prompt = build(services)
    assert list(prompt.ids) == served.encode(prompt.text, add_special_tokens=False).ids
    fake.seen.clear()
    assert backend.generate(GenerateRequest(prompt.ids, max_tokens=4)).text == "ok"
    sent = [s.body["prompt"] for s in fake.seen if s.path == "/v1/completions"]
    assert sent == [prompt.text]  # text, special tokens spelled out although the server's
    # detokenizer drops them


def test_llamacpp_server_props_and_content_field(fake: FakeServer, served: Tokenizer) -> None:
    fake.routes[("GET", "/v1/models")] = lambda h, b: h.send_json(200, {"object": "list", "data": [
        {"id": MODEL, "object": "model", "owned_by": "llamacpp",
         "meta": {"n_ctx_train": 131072}}]})
    fake.routes[("GET", "/props")] = lambda h, b: h.send_json(
        200, {"default_generation_settings": {"n_ctx": 8192}, "total_slots": 1})
    fake.routes[("POST", "/tokenize")] = lambda h, b: h.send_json(
        200, {"tokens": served.encode(b["content"], add_special_tokens=False).ids})
    backend = RemoteBackend.from_config(RemoteConfig(url=fake.url, model=MODEL, max_context=0))
    assert (backend.spec.max_context, backend.served.context_source) == (
        8192, "the server's /props n_ctx")
    capped = RemoteBackend.from_config(RemoteConfig(url=fake.url, model=MODEL, max_context=4096))
    assert capped.spec.max_context == 4096
    assert backend.tokenizer.encode("def add(a, b):").ids == served.encode("def add(a, b):").ids
    assert backend.prompt_as == "ids"


def test_a_dir_for_another_model_is_not_used(fake: FakeServer, served: Tokenizer) -> None:
    serve_vllm(fake, served, max_len=16384)
    reports: list[tuple[str, str]] = []
    services = services_for(fake, reports, model_path=str(default_model_dir()))
    backend = services.load_backend()
    assert backend is not None and isinstance(backend.tokenizer, ServerTokenizer)
    assert backend.spec.max_context == 16384
    assert reports == [("warning", backend.served.note)]
    assert backend.served.note.startswith(f"codeflow: the tokenizer in {default_model_dir()} "
                                          "splits text differently from the server's")
    prompt = build(services)
    assert list(prompt.ids) == served.encode(prompt.text, add_special_tokens=False).ids


def test_a_dir_for_the_same_model_is_kept(fake: FakeServer, served: Tokenizer,
                                          tmp_path: Path) -> None:
    serve_vllm(fake, served)
    model_dir = tmp_path / "served"
    model_dir.mkdir()
    served.save(str(model_dir / "tokenizer.json"))
    backend = RemoteBackend.from_config(RemoteConfig(url=fake.url, model=MODEL), model_dir)
    assert not isinstance(backend.tokenizer, ServerTokenizer)
    assert backend.served.tokenizer == (f"{model_dir / 'tokenizer.json'} (agrees with the "
                                        "server's tokenizer)")
    assert backend.spec.max_context == 32768


def test_no_tokenize_and_no_dir_is_a_clear_error(fake: FakeServer) -> None:
    fake.routes[("GET", "/v1/models")] = lambda h, b: h.send_json(200, {"object": "list", "data": [
        {"id": MODEL, "object": "model", "owned_by": "proxy", "max_model_len": 4096}]})
    with pytest.raises(RemoteConfigError, match=r"offers no /tokenize \(vLLM and llama.cpp's "
                       "server do\); set codeflow.modelPath"):
        RemoteBackend.from_config(RemoteConfig(url=fake.url, model=MODEL))


def test_server_tokenizer_decodes_specials_and_strips_bos(fake: FakeServer,
                                                          served: Tokenizer) -> None:
    bos = served.token_to_id("<|endoftext|>")
    serve_llama_cpp_python(fake, served, bos)
    backend = RemoteBackend.from_config(RemoteConfig(url=fake.url, model=MODEL, max_context=999))
    text = "<|fim_prefix|>def f():\n<|fim_suffix|>\n<|fim_middle|>"
    ids = backend.tokenizer.encode(text).ids
    assert ids == served.encode(text, add_special_tokens=False).ids
    assert backend.tokenizer.decode(ids) == text
    fake.seen.clear()
    assert backend.tokenizer.decode(ids) == text and fake.seen == []  # cached
    assert backend.tokenizer.token_to_id("<|fim_middle|>") == served.token_to_id("<|fim_middle|>")
