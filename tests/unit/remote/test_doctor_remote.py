"""`codeflow doctor`'s remote server checks against a scripted server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lsp_server.commands.doctor import Check, _remote

from .conftest import FakeServer, Handler, free_port, stream_texts

MODELS = {"object": "list", "data": [{"id": "coder", "object": "model"}]}


def serve_models(fake: FakeServer) -> None:
    fake.routes[("GET", "/v1/models")] = lambda h, b: h.send_json(200, MODELS)


def test_all_good(fake: FakeServer, model_dir: Path) -> None:
    serve_models(fake)
    fake.routes[("POST", "/v1/completions")] = stream_texts(["):"])
    checks = _remote(str(model_dir), {"CODEFLOW_REMOTE_URL": fake.url + "/v1",
                                      "CODEFLOW_REMOTE_MODEL": "coder"})
    assert [(c.name, c.ok, c.required) for c in checks] == [
        ("remote server", True, True), ("remote model", True, True),
        ("remote tokenizer", True, True), ("remote context", True, True),
        ("remote generation", True, True)]
    assert checks[0].detail == f"{fake.url} answers; serves coder"
    assert checks[2].detail == (f"{model_dir}/tokenizer.json (not checked: the server offers "
                                "no /tokenize)")
    assert checks[3].detail == "131072 tokens (assumed: neither the server nor the model dir says)"
    assert checks[4].detail.endswith(" ms: '):' (length)")
    assert fake.seen[-1].body["max_tokens"] == 1


def test_model_not_served(fake: FakeServer, model_dir: Path) -> None:
    serve_models(fake)
    checks = _remote(str(model_dir), {"CODEFLOW_REMOTE_URL": fake.url,
                                      "CODEFLOW_REMOTE_MODEL": "other"})
    assert checks[1] == Check("remote model", False, "the server does not serve 'other'",
                              "set CODEFLOW_REMOTE_MODEL / codeflow.remote.model to one of: coder")
    assert len(checks) == 2


def test_server_down(model_dir: Path) -> None:
    port = free_port()
    checks = _remote(str(model_dir), {"CODEFLOW_REMOTE_URL": f"http://127.0.0.1:{port}"})
    assert [(c.name, c.ok, c.fix) for c in checks] == [
        ("remote server", False,
         "start the server, or fix CODEFLOW_REMOTE_URL (codeflow.remote.url)")]
    assert checks[0].detail.startswith(f"cannot reach the model server at http://127.0.0.1:{port}")


def test_key_variable_missing(fake: FakeServer, model_dir: Path) -> None:
    checks = _remote(str(model_dir), {"CODEFLOW_REMOTE_URL": fake.url,
                                      "CODEFLOW_REMOTE_KEY_ENV": "TEAM_KEY"})
    assert [(c.name, c.ok) for c in checks] == [("remote server", False)]
    assert "environment variable TEAM_KEY, but it is not set" in checks[0].detail
    assert fake.seen == []


def test_wrong_key(fake: FakeServer, model_dir: Path) -> None:
    def refuse(h: Handler, body: Any) -> None:
        h.send_json(401, {"detail": "Invalid API key"})

    fake.routes[("GET", "/v1/models")] = refuse
    checks = _remote(str(model_dir), {"CODEFLOW_REMOTE_URL": fake.url,
                                      "CODEFLOW_REMOTE_KEY_ENV": "TEAM_KEY", "TEAM_KEY": "nope"})
    assert checks[0].detail == (f"{fake.url}/v1/models answered HTTP 401 (Invalid API key): the "
                                "key in codeflow.remote.apiKeyEnv's variable was refused: check it")
    assert checks[0].fix == ("put the team's key in the variable that CODEFLOW_REMOTE_KEY_ENV "
                             "(codeflow.remote.apiKeyEnv) names")
    assert fake.seen[0].headers["Authorization"] == "Bearer nope"


def test_not_an_openai_server(fake: FakeServer, model_dir: Path) -> None:
    checks = _remote(str(model_dir), {"CODEFLOW_REMOTE_URL": fake.url})
    assert (checks[0].ok, checks[0].fix) == (
        False, "CODEFLOW_REMOTE_URL (codeflow.remote.url) must point at an OpenAI-compatible "
               "server, e.g. http://host:8000/v1")


def test_tokenizer_compared_with_the_server(fake: FakeServer, model_dir: Path,
                                            tokenizer_file: Path) -> None:
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tokenizer_file))
    fake.routes[("GET", "/v1/models")] = lambda h, b: h.send_json(200, {"object": "list", "data": [
        {"id": "coder", "object": "model", "owned_by": "vllm", "max_model_len": 8192}]})
    fake.routes[("POST", "/v1/completions")] = stream_texts(["x"])
    answers = {"ours": None}

    def tokenize(h: Handler, body: Any) -> None:
        ids = tok.encode(body["prompt"], add_special_tokens=False).ids
        h.send_json(200, {"tokens": ids if answers["ours"] else ids[::-1]})

    fake.routes[("POST", "/tokenize")] = tokenize
    env = {"CODEFLOW_REMOTE_URL": fake.url}
    answers["ours"] = True
    good = _remote(str(model_dir), env)
    assert [(c.name, c.ok, c.detail) for c in good[2:4]] == [
        ("remote tokenizer", True, f"{model_dir}/tokenizer.json (agrees with the server's "
                                   "tokenizer)"),
        ("remote context", True, "8192 tokens (the server's /v1/models max_model_len)")]
    answers["ours"] = False
    bad = _remote(str(model_dir), env)[2]
    assert (bad.ok, bad.required) == (False, False)
    assert bad.detail.startswith(f"the tokenizer in {model_dir} splits text differently from "
                                 "the server's, so it is not for the served model; using the "
                                 "server's own (/tokenize) instead")
    unset = _remote(None, env)
    assert [(c.name, c.ok, c.detail) for c in unset[2:4]] == [
        ("remote tokenizer", True, "the server's own (/tokenize)"),
        ("remote context", True, "8192 tokens (the server's /v1/models max_model_len)")]


def test_context_length_missing_says_what_to_set(fake: FakeServer, tokenizer_file: Path
                                                 ) -> None:
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tokenizer_file))
    fake.routes[("GET", "/v1/models")] = lambda h, b: h.send_json(200, MODELS)
    fake.routes[("POST", "/extras/tokenize")] = lambda h, b: h.send_json(
        200, {"tokens": tok.encode(b["input"]).ids})
    fake.routes[("POST", "/v1/completions")] = stream_texts(["x"])
    env = {"CODEFLOW_REMOTE_URL": fake.url}
    checks = _remote(None, env)
    assert (checks[0].ok, checks[0].fix) == (False, "fix the remote settings")
    assert checks[0].detail.endswith("set codeflow.remote.maxContext to the server's context "
                                     "size (its --n_ctx or --max-model-len)")
    checks = _remote(None, {**env, "CODEFLOW_REMOTE_MAX_CONTEXT": "2048"})
    assert [(c.name, c.ok, c.detail) for c in checks[2:4]] == [
        ("remote tokenizer", True, "the server's own (/extras/tokenize)"),
        ("remote context", True, "2048 tokens (codeflow.remote.maxContext)")]
