"""The infill benchmark's scoring: edit similarity, syntax check, task selection."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from inference.training.data import SourceFile

BENCH = Path(__file__).resolve().parents[3] / "bench" / "model_eval.py"
spec = importlib.util.spec_from_file_location("model_eval", BENCH)
model_eval = importlib.util.module_from_spec(spec)
sys.modules.setdefault("model_eval", model_eval)
spec.loader.exec_module(model_eval)

SOURCE = '''import os


def f(a):
    b = a + 1
    if b:
        return os.sep
    return b


X = 1
'''


def test_edit_similarity() -> None:
    assert model_eval.edit_similarity("return x", "return x  ") == 1.0
    assert model_eval.edit_similarity("abcd", "abce") == pytest.approx(0.75)
    assert model_eval.edit_similarity("", "abc") == 0.0
    assert model_eval.levenshtein("kitten", "sitting") == 3


def test_tasks_are_function_body_lines() -> None:
    files = [SourceFile("m.py", SOURCE)]
    tasks = model_eval.make_tasks(files, 10, seed=0)
    assert sorted(t.line for t in tasks) == [4, 5, 6, 7]
    assert all(t.target == SOURCE.split("\n")[t.line] for t in tasks)


def test_syntax_validity_counts_new_errors() -> None:
    files = [SourceFile("m.py", SOURCE)]
    task = next(t for t in model_eval.make_tasks(files, 10, seed=0) if t.line == 4)
    texts = {"m.py": SOURCE}
    good = model_eval.score(["    b = a + 2"], [task], texts)
    bad = model_eval.score(["    b = (a +"], [task], texts)
    assert (good.exact_match, good.syntax_valid) == (0.0, 1.0)
    assert bad.syntax_valid == 0.0
    assert model_eval.previous_line(SOURCE, 4) == "def f(a):"


def test_left_to_right_prompt_is_the_prefix_tail_without_fim_tokens(tiny_tokenizer) -> None:
    prefix, suffix = model_eval.split_file(SOURCE, 6)
    ids = model_eval.left_to_right_prompt(tiny_tokenizer, prefix, suffix, 4096)
    assert tiny_tokenizer.decode(list(ids), skip_special_tokens=False) == prefix
    fim = model_eval.fim_prompt(tiny_tokenizer, prefix, suffix, 4096)
    special = {tiny_tokenizer.token_to_id(t) for t in ("<|fim_prefix|>", "<|fim_middle|>")}
    assert special <= set(fim) and not special & set(ids)
    short = model_eval.left_to_right_prompt(tiny_tokenizer, prefix * 50, suffix, 200)
    assert len(short) == 130 and tuple(ids[-5:]) == short[-5:]


def test_spm_prompt_puts_the_suffix_first_and_ends_with_the_prefix(tiny_tokenizer) -> None:
    prefix, suffix = model_eval.split_file(SOURCE, 6)
    ids = model_eval.spm_prompt(tiny_tokenizer, prefix, suffix, 4096)
    pre, suf, mid = (tiny_tokenizer.token_to_id(t)
                     for t in ("<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>"))
    assert ids[:2] == (pre, suf)
    cut = ids.index(mid)
    assert tiny_tokenizer.decode(list(ids[2:cut])) == suffix
    assert tiny_tokenizer.decode(list(ids[cut + 1:])) == prefix
    assert model_eval.INFILL_PROMPTS == {"psm": model_eval.fim_prompt, "spm": model_eval.spm_prompt}


def test_report_table_lists_the_declared_order_first() -> None:
    sc = model_eval.Scores
    report = model_eval.ModelReport(
        model="m", heldout_loss=2.0, loss_tokens=10, tasks=2, model_scores=sc(0.5, 0.6, 0.7),
        baseline_scores=sc(0.1, 0.2, 0.3), left_to_right_scores=sc(0.4, 0.5, 0.6),
        decode_tokens_per_s=1.0, examples=[], infill_order="spm",
        other_order_scores=sc(0.0, 0.3, 0.5))
    lines = report.table().splitlines()
    assert [line.split()[:2] for line in lines[1:]] == [
        ["FIM", "SPM"], ["FIM", "PSM"], ["left", "to"], ["copy", "previous"]]
    assert lines[1].split()[-3:] == ["0.500", "0.600", "0.700"]
    assert lines[2].split()[-2:] == ["0.300", "0.500"]
