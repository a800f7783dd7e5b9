"""A Thinking model and an Instruct model through the real server (scripted outputs, tiny model
dirs with their own chat template and generation defaults): the prompt is the model's template,
reasoning streams apart from the answer and never reaches history, code blocks or fixes."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.unit.assemble.templates import CHATML, THINKING
from tests.unit.features.fixflow import GOOD_MEAN, WRONG_MEAN, answer, make_workspace

from .conftest import SERVER, init_params, server_env
from .test_actions import TRUSTED, command, failing

SCRIPT = Path(tempfile.gettempdir()) / f"codeflow-reasoning-{os.getpid()}" / "script.json"
PROMPTS = SCRIPT.parent / "prompts.jsonl"
IQUEST_GEN = {"do_sample": True, "temperature": 0.6, "top_p": 0.85, "top_k": 20,
              "eos_token_id": [0]}
THOUGHT = "The user asks about total; it sums prices.\n"
REPLY = f"<think>\n{THOUGHT}</think>\n\n`total` adds up the values."


@pytest_lsp.fixture(
    config=ClientServerConfig(
        server_command=SERVER, server_env=server_env(CODEFLOW_TEST_BACKEND=str(SCRIPT))
    )
)
async def scripted(lsp_client: LanguageClient):
    """A server whose model replays `SCRIPT` (written by each test before initialize)."""
    yield
    await lsp_client.shutdown_session()


def write_script(template: str, *outputs: str) -> None:
    SCRIPT.parent.mkdir(parents=True, exist_ok=True)
    PROMPTS.unlink(missing_ok=True)
    SCRIPT.write_text(json.dumps({"outputs": list(outputs), "promptLog": str(PROMPTS),
                                  "chatTemplate": template, "generationConfig": IQUEST_GEN}))


def prompts() -> list[dict[str, Any]]:
    return [json.loads(line) for line in PROMPTS.read_text().splitlines()]


def capture(client: LanguageClient, token: str) -> list[dict[str, str]]:
    """Every `$/progress` value sent for our partial-result token."""
    values: list[dict[str, str]] = []
    default = client.protocol.fm.features[types.PROGRESS]

    def on_progress(params: Any) -> None:
        if params.token == token:
            values.append(dict(params.value))
        else:
            default(params)

    client.protocol.fm.features[types.PROGRESS] = on_progress
    return values


def joined(values: list[dict[str, str]], field: str) -> str:
    return "".join(v[field] for v in values if field in v)


HISTORY = [
    {"role": "user", "content": "What is calc?"},
    {"role": "assistant", "content": "<think>\nOLD-REASONING\n</think>\n\nA module."},
    {"role": "user", "content": "What does total do?"},
]


async def chat(client: LanguageClient, ws: Path, token: str) -> Any:
    return await client.protocol.send_request_async(
        "codeflow/chat",
        {"messages": HISTORY, "references": [(ws / "calc.py").as_uri()],
         "partialResultToken": token})


async def test_thinking_model_streams_reasoning_apart(scripted: LanguageClient,
                                                      tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws", git=False)
    write_script(THINKING, REPLY)
    await scripted.initialize_session(init_params(ws))
    values = capture(scripted, "r-1")
    result = await chat(scripted, ws, "r-1")
    assert result.text == "`total` adds up the values."
    assert result.reasoning == THOUGHT
    assert result.finishReason == "eos"
    assert joined(values, "delta") == result.text
    assert joined(values, "reasoningDelta") == THOUGHT
    assert all(set(v) in ({"delta"}, {"reasoningDelta"}) for v in values)
    first_answer = next(i for i, v in enumerate(values) if "delta" in v)
    assert all("reasoningDelta" in v for v in values[:first_answer])
    [sent] = prompts()
    assert sent["prompt"].endswith("What does total do?<|im_end|>\n<|im_start|>assistant\n"
                                   "<think>\n")
    assert sent["prompt"].startswith("<|im_start|>system\nYou are a coding assistant")
    assert "OLD-REASONING" not in sent["prompt"]
    assert "<|im_start|>assistant\nA module.<|im_end|>" in sent["prompt"]
    assert (sent["temperature"], sent["top_p"], sent["top_k"]) == (0.6, 0.85, 20)
    assert sent["max_tokens"] == 512 + 2048


async def test_show_reasoning_off_sends_only_the_answer(scripted: LanguageClient,
                                                        tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws", git=False)
    write_script(THINKING, REPLY)
    await scripted.initialize_session(init_params(ws, {"chat": {"showReasoning": False,
                                                                "temperature": 0}}))
    values = capture(scripted, "r-2")
    result = await chat(scripted, ws, "r-2")
    assert (result.text, result.reasoning) == ("`total` adds up the values.", "")
    assert all(set(v) == {"delta"} for v in values)
    assert prompts()[0]["temperature"] == 0.0


async def test_instruct_model_answer_keeps_its_text(scripted: LanguageClient,
                                                    tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws", git=False)
    write_script(CHATML, "Close it with </think> like HTML.")
    await scripted.initialize_session(init_params(ws))
    values = capture(scripted, "r-3")
    result = await chat(scripted, ws, "r-3")
    assert (result.text, result.reasoning) == ("Close it with </think> like HTML.", "")
    assert joined(values, "reasoningDelta") == ""
    [sent] = prompts()
    assert sent["prompt"].endswith("What does total do?<|im_end|>\n<|im_start|>assistant\n")
    # the template renders assistant turns verbatim: the server took the reasoning out
    assert "<|im_start|>assistant\nA module.<|im_end|>" in sent["prompt"]
    assert "OLD-REASONING" not in sent["prompt"]
    assert sent["max_tokens"] == 512


async def test_fixes_take_code_from_the_answer_only(scripted: LanguageClient,
                                                    tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws")
    write_script(
        THINKING,
        f"<think>\nMaybe:\n{answer(GOOD_MEAN)}\n</think>\n\nI cannot tell.",
        f"<think>\nFirst try:\n{answer(WRONG_MEAN)}\n</think>\n\n{answer(GOOD_MEAN)}",
    )
    await scripted.initialize_session(init_params(ws, TRUSTED))
    await failing(scripted, ws)
    result = await command(
        scripted, "codeflow.fixFailingTest", {"nodeId": "test_calc.py::test_mean"})
    got = [(c["index"], c["verified"], c["note"]) for c in result["candidates"]]
    assert got == [
        (0, False, "patch does not apply: the answer has no code block"),
        (1, True, "verified: test passes"),
    ]
    assert [p["max_tokens"] for p in prompts()] == [512 + 2048] * 2
