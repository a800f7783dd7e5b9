"""Chat prompts from a model's own Jinja template: rendered as transformers renders them, and
budgeted exactly by the assembler."""

from __future__ import annotations

from pathlib import Path

import pytest
from tokenizers import Tokenizer

from context.assemble import Assembler, ChatTemplate, ChatTemplateError, PromptRequest

from .conftest import model_json
from .templates import CHATML, KITCHEN_SINK, LLAMA3, THINKING
from .test_assembler import BLANKED

TEMPLATES = {"chatml": CHATML, "thinking": THINKING, "llama3": LLAMA3, "sink": KITCHEN_SINK}
CONVERSATIONS = [
    [{"role": "user", "content": "Why is the sky blue?"}],
    [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "  hi  \n"}],
    [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Fix it"},
     {"role": "assistant", "content": "<think>\nthe loop is off by one\n</think>\n\nUse `<=`."},
     {"role": "user", "content": "And the test? \"quoted\" & <b>"}],
]


@pytest.fixture(scope="module")
def hf_tokenizer(tokenizer_path: Path):
    transformers = pytest.importorskip("transformers")
    return transformers.PreTrainedTokenizerFast(
        tokenizer_file=str(tokenizer_path), bos_token="<s>", eos_token="</s>")


@pytest.mark.parametrize("name", sorted(TEMPLATES))
@pytest.mark.parametrize("turns", range(len(CONVERSATIONS)))
@pytest.mark.parametrize("gen", [True, False])
def test_rendering_equals_transformers(hf_tokenizer, name: str, turns: int, gen: bool) -> None:
    messages = CONVERSATIONS[turns]
    source = TEMPLATES[name]
    ours = ChatTemplate(source, {"bos": "<s>", "eos": "</s>", "pad": None}).render(
        messages, add_generation_prompt=gen)
    theirs = hf_tokenizer.apply_chat_template(messages, chat_template=source, tokenize=False,
                                              add_generation_prompt=gen)
    assert ours == theirs
    assert ours  # every template renders something for every conversation


def test_thinking_template_drops_old_reasoning_and_opens_think() -> None:
    text = ChatTemplate(THINKING).render(CONVERSATIONS[2])
    assert "the loop is off by one" not in text
    assert text.endswith("<|im_start|>user\nAnd the test? \"quoted\" & <b><|im_end|>\n"
                         "<|im_start|>assistant\n<think>\n")


def test_raise_exception_and_bad_templates_are_chat_template_errors() -> None:
    bad = [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]
    with pytest.raises(ChatTemplateError, match="roles must alternate"):
        ChatTemplate(KITCHEN_SINK).render(bad)
    with pytest.raises(ChatTemplateError, match="does not compile"):
        ChatTemplate("{% for m in messages %}")


def test_the_sandbox_refuses_unsafe_attributes() -> None:
    evil = "{{ messages.__class__.__mro__[1].__subclasses__() }}"
    with pytest.raises(ChatTemplateError):
        ChatTemplate(evil).render([{"role": "user", "content": "x"}])


def _build(geo_index, tok: Path, template: str, messages, budget: int = 4096):
    asm = Assembler(geo_index, None, tok, model_json("iquest", bos="<s>"), chat_template=template)
    return asm, asm.build(PromptRequest("geo/main.py", BLANKED, 7, 4, budget, kind="chat",
                                        messages=tuple(messages)))


@pytest.mark.parametrize("name", ["chatml", "thinking", "llama3"])
def test_assembled_chat_prompt_is_the_templates_rendering(geo_index, tokenizer_path,
                                                          name: str) -> None:
    msgs = [("user", "What does report return?"), ("assistant", "A tuple."),
            ("user", "And area?")]
    _, p = _build(geo_index, tokenizer_path, TEMPLATES[name], msgs)
    assert "### Current file: geo/main.py (cursor at line 8)" in p.text
    assert "def perimeter(width, height):" in p.text  # retrieved context is in the system turn
    start = p.text.index("You are a coding assistant")
    end = p.text.rindex("```", 0, p.text.index("What does report return?")) + 3
    whole = [{"role": "system", "content": p.text[start:end]},
             *({"role": r, "content": c} for r, c in msgs)]
    assert p.text == ChatTemplate(TEMPLATES[name], {"bos": "<s>"}).render(whole)
    assert "".join(s.text for s in p.sections) == p.text
    assert [s.text for s in p.sections if s.kind == "message"] == [c for _, c in msgs]
    tok = Tokenizer.from_file(str(tokenizer_path))
    assert p.ids == tuple(tok.encode(p.text, add_special_tokens=False).ids)
    assert p.prompt_tokens == len(p.ids) == sum(s.tokens for s in p.sections)
    assert {"prefix", "suffix", "system"} <= {s.kind for s in p.sections}


def test_templated_history_budget_is_exact(geo_index, tokenizer_path) -> None:
    old = ("user", "blah " * 400)
    msgs = [old, ("assistant", "ok"), ("user", "Now what?")]
    _, full = _build(geo_index, tokenizer_path, LLAMA3, msgs, budget=8192)
    assert "blah blah" in full.text
    budget = 600
    _, p = _build(geo_index, tokenizer_path, LLAMA3, msgs, budget=budget)
    assert p.prompt_tokens <= budget
    assert "blah blah" not in p.text
    # the leading assistant turn goes with the user turn it answered
    assert [s.text for s in p.sections if s.kind == "message"] == ["Now what?"]
    assert p.text.endswith("<|start_header_id|>user<|end_header_id|>\n\nNow what?<|eot_id|>"
                           "<|start_header_id|>assistant<|end_header_id|>\n\n")


def test_context_is_dropped_before_turns_when_over_budget(geo_index, tokenizer_path) -> None:
    msgs = [("user", "first question"), ("assistant", "first answer"), ("user", "Now what?")]
    _, roomy = _build(geo_index, tokenizer_path, CHATML, msgs, budget=4096)
    assert "def perimeter(width, height):" in roomy.text
    _, tight = _build(geo_index, tokenizer_path, CHATML, msgs, budget=roomy.prompt_tokens - 10)
    assert tight.prompt_tokens <= roomy.prompt_tokens - 10
    assert [s.text for s in tight.sections if s.kind == "message"] == [c for _, c in msgs]


def test_broken_template_falls_back_to_chatml(geo_index, tokenizer_path, caplog) -> None:
    _, p = _build(geo_index, tokenizer_path, "{% if %}", [("user", "hi")])
    assert p.text.startswith("<s><|im_start|>system\nYou are a coding assistant")
    assert "chat template does not compile" in caplog.text
