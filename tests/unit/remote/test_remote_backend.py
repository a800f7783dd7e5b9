"""RemoteBackend against a scripted OpenAI-compatible server on loopback."""

from __future__ import annotations

import logging
import socket
import threading
from pathlib import Path
from typing import Any

import pytest

from inference.backends import Backend, GenerateRequest, RemoteBackend
from inference.backends.remote import (
    Endpoint,
    RemoteAuthError,
    RemoteConfigError,
    RemoteError,
    RemoteHTTPError,
    RemoteTimeout,
    RemoteUnavailable,
    Transport,
    chatml_messages,
    default_spec,
    sse_events,
)
from inference.cancel import CancelToken
from lsp_server.config import RemoteConfig

from .conftest import FakeServer, Handler, chat_chunk, completion_chunk, free_port, stream_texts

KEY = "sk-test-secret-0123"


def backend_for(url: str, model_dir: Path | None, **cfg: Any) -> RemoteBackend:
    return RemoteBackend.from_config(RemoteConfig(url=url, model="m1", **cfg), model_dir,
                                     environ={"TEAM_KEY": KEY})


def fresh(fake: FakeServer, model_dir: Path | None, **cfg: Any) -> RemoteBackend:
    """A backend whose load-time questions to the server are forgotten (`fake.seen` cleared)."""
    backend = backend_for(fake.url, model_dir, **cfg)
    fake.seen.clear()
    return backend


def ids_of(backend: RemoteBackend, text: str) -> tuple[int, ...]:
    return tuple(backend.tokenizer.encode(text, add_special_tokens=False).ids)


def test_endpoint_parse() -> None:
    assert Endpoint.parse("http://127.0.0.1:8000") == Endpoint("http", "127.0.0.1", 8000, "")
    assert Endpoint.parse("https://gpu.lan/v1/") == Endpoint("https", "gpu.lan", 443, "")
    assert Endpoint.parse("https://h:9/team/v1").base == "/team"
    with pytest.raises(RemoteConfigError, match="is not an http"):
        Endpoint.parse("ftp://x")


def test_chatml_messages() -> None:
    text = ("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nhi\nthere<|im_end|>\n"
            "<|im_start|>assistant\n")
    assert chatml_messages(text) == [{"role": "system", "content": "Be brief."},
                                     {"role": "user", "content": "hi\nthere"}]
    assert chatml_messages("<|fim_prefix|>a<|fim_suffix|>b<|fim_middle|>") is None
    assert chatml_messages("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\nSure") is None


def test_default_spec_is_iquest_fim() -> None:
    spec = default_spec("big", max_context=4096)
    assert (spec.name, spec.family, spec.prompt_format, spec.max_context) == (
        "big", "iquestcoder", {"fim": "iquest", "chat": "chatml"}, 4096)
    assert spec.special_tokens["fim_middle"] == "<|fim_middle|>"


def test_from_config_uses_local_tokenizer_and_default_spec(model_dir: Path) -> None:
    backend = backend_for("http://127.0.0.1:1", model_dir)
    assert isinstance(backend, Backend)
    assert backend.spec.model_dir == model_dir
    assert backend.spec.prompt_format["fim"] == "iquest"
    assert backend.tokenizer.decode(ids_of(backend, "def add")) == "def add"


def test_empty_url_and_bad_timeout_are_named(model_dir: Path) -> None:
    with pytest.raises(RemoteConfigError, match="codeflow.remote.url is not set"):
        backend_for("", model_dir)
    with pytest.raises(RemoteConfigError, match="timeoutS must be above 0, got 0"):
        backend_for("http://127.0.0.1:1", model_dir, timeout_s=0.0)


def test_missing_key_variable_is_named(model_dir: Path) -> None:
    with pytest.raises(RemoteConfigError, match="environment variable NOPE_KEY, but it is not"):
        backend_for("http://127.0.0.1:1", model_dir, api_key_env="NOPE_KEY")


def test_streams_a_fim_completion(fake: FakeServer, model_dir: Path) -> None:
    serve_models(fake, "vllm")
    fake.routes[("POST", "/v1/completions")] = stream_texts(["    return", " a + b", "\n"])
    backend = fresh(fake, model_dir)
    prompt = "<|fim_prefix|>def add(a, b):\n<|fim_suffix|>\n<|fim_middle|>"
    req = GenerateRequest(ids_of(backend, prompt), max_tokens=3, stop=("\n\n",))
    deltas = list(backend.stream(req))
    assert [d.text for d in deltas] == ["    return", " a + b", "\n"]
    assert deltas[1].ids == ids_of(backend, " a + b")
    gen = backend.last_generation
    assert gen is not None
    assert (gen.text, gen.stop_reason, gen.prompt_tokens) == (
        "    return a + b\n", "length", len(req.prompt_ids))
    assert gen.ids == ids_of(backend, "    return a + b\n")
    body = fake.seen[0].body
    assert body == {"model": "m1", "prompt": list(req.prompt_ids), "max_tokens": 3,
                    "temperature": 0.0, "top_p": 1.0, "stream": True, "repeat_penalty": 1.0,
                    "min_p": 0.0, "stop": ["\n\n"],
                    "cache_prompt": True, "return_token_ids": True}
    assert "Authorization" not in fake.seen[0].headers
    assert backend.last_route == "/v1/completions"


def serve_models(fake: FakeServer, owner: str) -> None:
    fake.routes[("GET", "/v1/models")] = lambda h, b: h.send_json(
        200, {"object": "list", "data": [{"id": "m1", "object": "model", "owned_by": owner}]})


@pytest.mark.parametrize(("owner", "mode"), [("vllm", "ids"), ("llamacpp", "ids"),
                                             ("me", "text"), (None, "text")])
def test_auto_prompt_mode_asks_the_server_once(fake: FakeServer, model_dir: Path,
                                               owner: str | None, mode: str) -> None:
    if owner is not None:
        serve_models(fake, owner)
    fake.routes[("POST", "/v1/completions")] = stream_texts(["ok"])
    backend = backend_for(fake.url, model_dir)
    assert fake.paths().count("/v1/models") == 1  # asked while loading
    fake.seen.clear()
    req = GenerateRequest(ids_of(backend, "def f"))
    assert backend.generate(req).text == backend.generate(req).text == "ok"
    prompt = list(req.prompt_ids) if mode == "ids" else "def f"
    assert [(s.path, s.body and s.body["prompt"]) for s in fake.seen] == [
        ("/v1/completions", prompt), ("/v1/completions", prompt)]
    assert backend.prompt_as == mode


def test_sampling_fields_and_ids_prompt(fake: FakeServer, model_dir: Path) -> None:
    fake.routes[("POST", "/v1/completions")] = stream_texts(["x"], finish="stop")
    base = fresh(fake, model_dir)
    backend = RemoteBackend(base.transport, "", base.tokenizer, default_spec(""), prompt_as="ids")
    gen = backend.generate(GenerateRequest((5, 6, 7), temperature=0.7, top_k=20, seed=3))
    body = fake.seen[0].body
    assert (body["prompt"], body["top_k"], body["seed"], "model" in body) == ([5, 6, 7], 20, 3,
                                                                              False)
    assert gen.stop_reason == "eos"


def test_server_token_ids_and_stop_reason(fake: FakeServer, model_dir: Path) -> None:
    def route(h: Handler, body: Any) -> None:
        h.start_sse()
        h.event(completion_chunk("ab", token_ids=[11, 12]))
        h.event(completion_chunk("c", "stop", token_ids=[13], stop_reason="\n"))
        h.end_sse()

    fake.routes[("POST", "/v1/completions")] = route
    backend = backend_for(fake.url, model_dir)
    deltas = list(backend.stream(GenerateRequest((1, 2))))
    assert [d.ids for d in deltas] == [(11, 12), (13,)]
    gen = backend.last_generation
    assert gen is not None and (gen.ids, gen.stop_reason) == ((11, 12, 13), "stop")


def test_chatml_prompt_goes_to_chat_endpoint(fake: FakeServer, model_dir: Path) -> None:
    def route(h: Handler, body: Any) -> None:
        h.start_sse()
        for piece in (chat_chunk(None), chat_chunk("Hel"), chat_chunk("lo"), chat_chunk(None,
                                                                                        "stop")):
            h.event(piece)
        h.end_sse()

    fake.routes[("POST", "/v1/chat/completions")] = route
    backend = fresh(fake, model_dir)
    prompt = "<|im_start|>system\nsys<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n" \
             "<|im_start|>assistant\n"
    gen = backend.generate(GenerateRequest(ids_of(backend, prompt), slot="chat"))
    assert (gen.text, gen.stop_reason) == ("Hello", "eos")
    assert fake.seen[0].body["messages"] == [{"role": "system", "content": "sys"},
                                             {"role": "user", "content": "hi"}]
    deltas = list(backend.stream_chat([{"role": "user", "content": "yo"}], GenerateRequest(())))
    assert "".join(d.text for d in deltas) == "Hello"
    assert fake.seen[1].body["messages"] == [{"role": "user", "content": "yo"}]


def test_api_key_is_sent_but_never_shown(fake: FakeServer, model_dir: Path,
                                         caplog: pytest.LogCaptureFixture) -> None:
    def route(h: Handler, body: Any) -> None:
        h.send_json(401, {"detail": "Invalid API key"})

    fake.routes[("POST", "/v1/completions")] = route
    backend = backend_for(fake.url, model_dir, api_key_env="TEAM_KEY")
    caplog.set_level(logging.DEBUG)
    with pytest.raises(RemoteAuthError) as info:
        backend.generate(GenerateRequest((1, 2)))
    assert fake.seen[0].headers["Authorization"] == f"Bearer {KEY}"
    assert info.value.status == 401
    assert str(info.value) == (f"{fake.url}/v1/completions answered HTTP 401 (Invalid API key): "
                               "the key in codeflow.remote.apiKeyEnv's variable was refused: "
                               "check it")
    assert KEY not in str(info.value) + repr(backend) + repr(backend.transport) + caplog.text


def test_http_error_is_not_retried(fake: FakeServer, model_dir: Path) -> None:
    fake.routes[("POST", "/v1/completions")] = lambda h, b: h.send_json(
        503, {"error": {"message": "model is loading"}})
    serve_models(fake, "vllm")
    backend = fresh(fake, model_dir)
    with pytest.raises(RemoteHTTPError, match="answered HTTP 503: model is loading") as info:
        backend.generate(GenerateRequest((1, 2)))
    assert info.value.status == 503
    assert fake.paths() == ["/v1/completions"]


def test_mid_stream_error_event(fake: FakeServer, model_dir: Path) -> None:
    def route(h: Handler, body: Any) -> None:
        h.start_sse()
        h.event(completion_chunk("a"))
        h.event({"error": {"message": "out of memory"}})
        h.end_sse()

    fake.routes[("POST", "/v1/completions")] = route
    with pytest.raises(RemoteError, match="failed mid-stream: out of memory"):
        backend_for(fake.url, model_dir).generate(GenerateRequest((1, 2)))


def test_server_down_is_retried_then_plain(model_dir: Path, monkeypatch: pytest.MonkeyPatch
                                           ) -> None:
    port = free_port()
    backend = backend_for(f"http://127.0.0.1:{port}", model_dir)
    backend.transport.backoff_s = 0.001
    made: list[int] = []
    original = Transport._new_connection

    def counting(self: Transport) -> Any:
        made.append(1)
        return original(self)

    monkeypatch.setattr(Transport, "_new_connection", counting)
    with pytest.raises(RemoteUnavailable) as info:
        backend.generate(GenerateRequest((1, 2)))
    assert len(made) == 3
    assert str(info.value).startswith(
        f"cannot reach the model server at http://127.0.0.1:{port} (")
    assert str(info.value).endswith("tried 3 time(s)): is it running, and is "
                                    "codeflow.remote.url right?")


def test_silent_server_times_out_once(model_dir: Path) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            accepted.append(conn)

    threading.Thread(target=accept, daemon=True).start()
    port = listener.getsockname()[1]
    backend = backend_for(f"http://127.0.0.1:{port}", model_dir, timeout_s=0.3)
    assert backend.served.tokenizer.endswith("(not checked: the server did not answer)")
    loading = len(accepted)
    try:
        with pytest.raises(RemoteTimeout) as info:
            backend.generate(GenerateRequest((1, 2)))
    finally:
        listener.close()
        for conn in accepted:
            conn.close()
    assert str(info.value) == (f"the model server at http://127.0.0.1:{port} sent nothing for "
                               "0.3s: it is overloaded or stuck (codeflow.remote.timeoutS sets "
                               "the limit)")
    assert len(accepted) - loading == 1


def test_cancel_between_events_closes_the_socket(fake: FakeServer, model_dir: Path) -> None:
    def route(h: Handler, body: Any) -> None:
        h.start_sse()
        h.event(completion_chunk("one"))
        h.event(completion_chunk("two"))
        h.wait_for_client_close()

    fake.routes[("POST", "/v1/completions")] = route
    backend = backend_for(fake.url, model_dir)
    cancel = CancelToken()
    texts = []
    for delta in backend.stream(GenerateRequest((1, 2), max_tokens=50), cancel):
        texts.append(delta.text)
        cancel.cancel()
    assert texts == ["one"]
    gen = backend.last_generation
    assert gen is not None and (gen.text, gen.stop_reason) == ("one", "cancelled")
    assert fake.client_closed.wait(10)


def test_cancel_while_server_is_silent(fake: FakeServer, model_dir: Path) -> None:
    def route(h: Handler, body: Any) -> None:
        h.start_sse()
        h.wait_for_client_close()

    fake.routes[("POST", "/v1/completions")] = route
    backend = backend_for(fake.url, model_dir, timeout_s=60.0)
    cancel = CancelToken()
    timer = threading.Timer(0.2, cancel.cancel)
    timer.start()
    assert list(backend.stream(GenerateRequest((1, 2)), cancel)) == []
    timer.join()
    gen = backend.last_generation
    assert gen is not None and (gen.text, gen.stop_reason) == ("", "cancelled")
    assert fake.client_closed.wait(10)


def test_max_time_ends_a_silent_stream(fake: FakeServer, model_dir: Path) -> None:
    def route(h: Handler, body: Any) -> None:
        h.start_sse()
        h.event(completion_chunk("x"))
        h.wait_for_client_close()

    fake.routes[("POST", "/v1/completions")] = route
    backend = backend_for(fake.url, model_dir, timeout_s=60.0)
    gen = backend.generate(GenerateRequest((1, 2), max_time_s=0.2))
    assert (gen.text, gen.stop_reason) == ("x", "time")


def test_already_cancelled_sends_nothing(fake: FakeServer, model_dir: Path) -> None:
    cancel = CancelToken()
    cancel.cancel()
    gen = fresh(fake, model_dir).generate(GenerateRequest((1, 2)), cancel)
    assert (gen.stop_reason, fake.seen) == ("cancelled", [])


def test_no_tokenizer_anywhere_says_what_to_set(fake: FakeServer) -> None:
    with pytest.raises(RemoteConfigError, match="set codeflow.modelPath to a dir holding"):
        backend_for(fake.url, None)


def test_models_list(fake: FakeServer, model_dir: Path) -> None:
    fake.routes[("GET", "/v1/models")] = lambda h, b: h.send_json(
        200, {"object": "list", "data": [{"id": "m1", "object": "model"}]})
    assert [m["id"] for m in backend_for(fake.url, model_dir).models()] == ["m1"]


def test_sse_events_parses_multiline_and_comments() -> None:
    class Lines:
        def __init__(self, raw: bytes) -> None:
            self.lines = raw.splitlines(keepends=True)

        def readline(self) -> bytes:
            return self.lines.pop(0) if self.lines else b""

    raw = b": ping\n\ndata: {\"a\":\ndata: 1}\n\ndata:[DONE]\n\ndata: never\n\n"
    assert list(sse_events(Lines(raw))) == ['{"a":\n1}']  # type: ignore[arg-type]


def test_public_names() -> None:
    import inference.backends as backends
    from inference.backends import remote

    assert {"RemoteBackend", "RemoteError"} <= set(backends.__all__)
    assert (backends.RemoteBackend, backends.RemoteError) == (remote.RemoteBackend,
                                                              remote.RemoteError)


def test_tls_is_verified_by_default(tls_fake: FakeServer, model_dir: Path) -> None:
    tls_fake.routes[("POST", "/v1/completions")] = stream_texts(["ok"])
    with pytest.raises(RemoteUnavailable) as info:
        backend_for(tls_fake.url, model_dir).generate(GenerateRequest((1, 2)))
    assert str(info.value).startswith(f"TLS with {tls_fake.url} failed ([SSL: "
                                      "CERTIFICATE_VERIFY_FAILED]")
    assert str(info.value).endswith("or set codeflow.remote.verifyTls to false for a server "
                                    "you trust")
    assert tls_fake.seen == []
    trusting = backend_for(tls_fake.url, model_dir, verify_tls=False)
    assert trusting.generate(GenerateRequest((1, 2))).text == "ok"
