"""A reasoning model behind a real llama.cpp server (llama-cpp-python), through `codeflow serve`.

llama-cpp-python has no reasoning parser: the `<think>…</think>` tags come in the streamed text
and codeflow must split them. A random model does not write tags, so the served model is built
to: a tiny Llama whose tokenizer has `<think>` and `</think>` as added (non-special) tokens, with
attention and MLP outputs zeroed (the residual stream is the token's embedding) and one-hot
embeddings, so the output layer makes the next token a function of the current one only. The
chain starts at the `\\n` that ends every ChatML generation prompt (`<|im_start|>assistant\\n`),
so greedy decoding answers any chat with exactly `REPLY` (the margin is 80 logits: sampling at
any usual temperature gives the same). The served text is checked once against `REPLY` straight
from `/v1/chat/completions`, then codeflow's remote backend (no local model dir: the server's
tokenizer) is driven through the real server over LSP: `codeflow/chat` (reasoning as
`reasoningDelta`, never in the answer nor in the history sent on the next turn) and
`codeflow.fixFailingTest` (the right fix is in the reasoning's code block, the answer has none: no
candidate). A loopback TCP relay between codeflow and llama.cpp records the request bodies.
"""

from __future__ import annotations

import json
import socket
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed: CI builds it from "
                    "its sdist (`make llamacpp`, see docs/serving-a-team.md)")
pytest.importorskip("torch", reason="the export extra (torch) is needed to build the model")

import pytest_lsp  # noqa: E402
from pytest_lsp import ClientServerConfig, LanguageClient  # noqa: E402

from tests.lsp.conftest import SERVER, init_params, server_env  # noqa: E402
from tests.lsp.test_actions import TRUSTED, command, failing  # noqa: E402
from tests.lsp.test_reasoning import capture, joined  # noqa: E402
from tests.unit.features.fixflow import GOOD_MEAN, make_workspace  # noqa: E402

from .llamacpp_support import LlamaServer, convert_to_gguf  # noqa: E402

MODEL = "thinking-tiny"
N_CTX = 2048
THINK_OPEN, THINK_CLOSE = "<think>", "</think>"
BLOCK = f"\n```python\n{GOOD_MEAN}```\n"
"""The fix, in the reasoning only; added tokens of 32 characters (a chain cannot repeat a
token, and llama-cpp-python prints at most 32 bytes of a token)."""
PIECES = [BLOCK[i:i + 32] for i in range(0, len(BLOCK), 32)]
THOUGHT = f"Let me look at mean{BLOCK}"
ANSWER = "The answer is 4."
REPLY = f"{THINK_OPEN}{THOUGHT}{THINK_CLOSE}{ANSWER}"
CORPUS = [f"Let me look at mean\n{ANSWER}\n", "system\nuser\nassistant\nWhat does mean return?\n",
          "def mean(xs):\n    return sum(xs) / len(xs)\n"] * 20
QUESTION = "What does mean return?"
FILE = "def mean(xs):\n    return sum(xs) / len(xs)\n"


def thinking_tokenizer() -> Any:
    """Byte-level BPE (Qwen2 split) with `<think>`, `</think>` and `PIECES` added as plain
    tokens (not special: llama.cpp prints them)."""
    from tokenizers import AddedToken, pre_tokenizers, trainers

    from inference.training.tokenizer import SPECIAL_TOKENS, new_tokenizer

    tok = new_tokenizer()
    trainer = trainers.BpeTrainer(vocab_size=400, min_frequency=2,
                                  special_tokens=list(SPECIAL_TOKENS),
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(CORPUS, trainer)
    tok.add_tokens([AddedToken(THINK_OPEN, special=False, normalized=False),
                    AddedToken(THINK_CLOSE, special=False, normalized=False),
                    *(AddedToken(p, special=False, normalized=False) for p in PIECES)])
    return tok


def chain_ids(tok: Any) -> list[int]:
    """The token path greedy decoding must follow: `\\n`, REPLY, `<|im_end|>`, EOS."""
    from inference.training.tokenizer import EOS_ID, IM_END

    path = [tok.token_to_id("Ċ")] + tok.encode(REPLY, add_special_tokens=False).ids
    path += [tok.token_to_id(IM_END), EOS_ID]
    assert len(set(path)) == len(path), [tok.id_to_token(i) for i in path]  # a function of one
    assert tok.decode(path[1:-2], skip_special_tokens=False) == REPLY
    assert [tok.id_to_token(i) for i in path if tok.id_to_token(i) in PIECES] == PIECES
    return path


def thinking_checkpoint(out: Path) -> Path:
    """The tiny Llama that answers every ChatML chat with `REPLY` (see the module docstring)."""
    import torch

    from inference.training.model import SHAPES, build_model
    from inference.training.tokenizer import save_hf_tokenizer

    tok = thinking_tokenizer()
    shape = replace(SHAPES["tiny"], vocab_size=tok.get_vocab_size(), max_position_embeddings=N_CTX)
    path = chain_ids(tok)
    assert len(path) - 1 <= shape.hidden_size
    model = build_model(shape, 0)
    with torch.no_grad():
        for layer in model.model.layers:
            layer.self_attn.o_proj.weight.zero_()
            layer.mlp.down_proj.weight.zero_()
        model.model.embed_tokens.weight.zero_()
        model.lm_head.weight.zero_()
        for dim, (current, nxt) in enumerate(zip(path, path[1:], strict=False)):
            model.model.embed_tokens.weight[current, dim] = 1.0
            model.lm_head.weight[nxt, dim] = 10.0  # RMSNorm scales the one-hot to sqrt(64)
    model.save_pretrained(out, safe_serialization=True)
    save_hf_tokenizer(tok, out, shape.max_position_embeddings)
    return out


@dataclass
class Relay:
    """A loopback TCP relay to `target` that keeps every byte the client sent."""

    target: tuple[str, int]
    listener: socket.socket = field(default_factory=socket.socket)
    sent: list[bytes] = field(default_factory=list)

    def start(self) -> Relay:
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen()
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}"

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            record = bytearray()
            self.sent.append(record)  # type: ignore[arg-type]
            threading.Thread(target=_pump, args=(client, upstream, record), daemon=True).start()
            threading.Thread(target=_pump, args=(upstream, client, None), daemon=True).start()

    def bodies(self, path: str) -> list[Any]:
        """JSON bodies of the POSTs to `path`, in the order they were sent."""
        out = []
        for raw in map(bytes, self.sent):
            while raw:
                head, _, rest = raw.partition(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                sizes = [int(line.split(":", 1)[1]) for line in lines[1:]
                         if line.lower().startswith("content-length:")]
                body, raw = rest[:sum(sizes)], rest[sum(sizes):]
                if lines[0].startswith(f"POST {path} "):
                    out.append(json.loads(body))
        return out

    def close(self) -> None:
        self.listener.close()


def _pump(src: socket.socket, dst: socket.socket, record: bytearray | None) -> None:
    try:
        while data := src.recv(65536):
            if record is not None:
                record.extend(data)
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    root = tmp_path_factory.mktemp("thinking")
    gguf = convert_to_gguf(thinking_checkpoint(root / "hf"), root / "thinking.gguf")
    srv = LlamaServer.start(gguf, root, model=MODEL, n_ctx=N_CTX)
    yield srv
    srv.stop()


@pytest.fixture
def relay(server: LlamaServer) -> Iterator[Relay]:
    host, port = server.url.removeprefix("http://").split(":")
    r = Relay((host, int(port))).start()
    yield r
    r.close()


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER, server_env=server_env()))
async def lsp(lsp_client: LanguageClient):
    yield
    await lsp_client.shutdown_session()


def test_served_model_writes_its_reasoning_in_tags(server: LlamaServer) -> None:
    """The premise: llama.cpp streams the tags as text (no reasoning parser), greedy = REPLY."""
    body = {"model": MODEL, "messages": [{"role": "user", "content": QUESTION}],
            "max_tokens": 64, "temperature": 0}
    req = urllib.request.Request(server.url + "/v1/chat/completions",
                                 data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        message = json.loads(resp.read())["choices"][0]["message"]
    assert message["content"] == REPLY
    assert not message.get("reasoning_content")


async def test_chat_streams_reasoning_apart_and_keeps_it_out_of_history(
        lsp: LanguageClient, relay: Relay, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "calc.py").write_text(FILE, encoding="utf-8")
    remote = {"url": relay.url + "/v1", "model": MODEL, "maxContext": N_CTX}
    await lsp.initialize_session(init_params(ws, {"backend": "remote", "remote": remote,
                                                  "chat": {"temperature": 0}}))
    history = [{"role": "user", "content": QUESTION}]
    values = capture(lsp, "t-1")
    first = await lsp.protocol.send_request_async(
        "codeflow/chat", {"messages": history, "references": [(ws / "calc.py").as_uri()],
                          "partialResultToken": "t-1"})
    assert (first.text, first.reasoning, first.finishReason) == (ANSWER, THOUGHT, "eos")
    assert joined(values, "delta") == ANSWER
    assert joined(values, "reasoningDelta") == THOUGHT
    assert all(set(v) in ({"delta"}, {"reasoningDelta"}) for v in values)
    assert not any("think" in v.get("delta", "") for v in values)
    [sent] = relay.bodies("/v1/chat/completions")
    assert sent["messages"][-1]["role"] == "user"
    assert sent["messages"][-1]["content"].endswith(QUESTION)

    # the editor sends the whole turn back (as the VS Code panel keeps it), reasoning included
    history += [{"role": "assistant", "content": f"{THINK_OPEN}{first.reasoning}{THINK_CLOSE}"
                                                 f"{first.text}"},
                {"role": "user", "content": "And for an empty list?"}]
    values = capture(lsp, "t-2")
    second = await lsp.protocol.send_request_async(
        "codeflow/chat", {"messages": history, "partialResultToken": "t-2"})
    assert (second.text, second.reasoning) == (ANSWER, THOUGHT)
    assert joined(values, "delta") == ANSWER
    _, again = relay.bodies("/v1/chat/completions")
    turns = [(m["role"], m["content"]) for m in again["messages"]]
    assert ("assistant", ANSWER) in turns
    assert not any(THOUGHT in content or "think>" in content for _, content in turns)
    assert turns[-1] == ("user", "And for an empty list?")


async def test_fix_takes_code_from_the_answer_only(lsp: LanguageClient, relay: Relay,
                                                   tmp_path: Path) -> None:
    """The reasoning holds the right fix in a code block, the answer none: no candidate."""
    ws = make_workspace(tmp_path / "ws")
    remote = {"url": relay.url + "/v1", "model": MODEL, "maxContext": N_CTX}
    await lsp.initialize_session(init_params(ws, {**TRUSTED, "backend": "remote",
                                                  "remote": remote}))
    await failing(lsp, ws)
    result = await command(lsp, "codeflow.fixFailingTest", {"nodeId": "test_calc.py::test_mean"})
    notes = {(c["verified"], c["note"]) for c in result["candidates"]}
    assert notes == {(False, "patch does not apply: the answer has no code block")}
    assert relay.bodies("/v1/chat/completions")  # the model was asked
