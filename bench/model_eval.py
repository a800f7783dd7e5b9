"""Evaluate a codeflow model dir on the held-out stdlib files (see inference/training/data.py).

    .venv/bin/python bench/model_eval.py [--model DIR ...] [--tasks 200] [--seed 0] [--json OUT]

Per model dir (default: the bundled ``inference/models/default`` and ``default-loop``):

- ``heldout_loss``: mean next-token cross-entropy (nats/token) of the exported ONNX graph itself
  (onnxruntime, all logits of a 1024-token window, empty caches) over the first
  ``--loss-tokens`` tokens of the held-out files joined by ``<|endoftext|>``;
- single-line infill: ``--tasks`` seeded tasks, each a random non-blank line inside a function
  body (tree-sitter-python) of a held-out file; the line is removed and the model gets the
  prefix (the lines above, trimmed to its last 768 tokens) and the suffix (the lines below,
  first 256 tokens) in the infill order its ``codeflow-model.json`` declares
  (``prompt_format.infill``): PSM ``<|fim_prefix|>{prefix}<|fim_suffix|>{suffix}<|fim_middle|>``
  or SPM ``<|fim_prefix|><|fim_suffix|>{suffix}<|fim_middle|>{prefix}``, decoded greedily by
  ``inference.Engine`` until a newline or EOS. Scored: exact match (after stripping trailing
  whitespace), edit similarity = 1 − Levenshtein(pred, target) / max(len(pred), len(target)),
  and syntactic validity = the file with the predicted line in place has no more ERROR/MISSING
  nodes than the original. The same scores, in one table, for the other infill order, for the
  same model continuing the prefix left to right (no FIM tokens, no suffix; the prefix trimmed
  to its last 1,024 tokens; a diagnostic) and for the copy-the-previous-non-blank-line baseline;
- ``decode_tokens_per_s``: median of the engine's own tokens/s over 5 greedy 128-token
  generations from 512-token held-out prompts (CPU provider).
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import statistics
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from inference.training.data import SourceFile, load_corpus  # noqa: E402
from inference.training.tokenizer import (  # noqa: E402
    ENDOFTEXT,
    FIM_MIDDLE,
    FIM_PREFIX,
    FIM_SUFFIX,
)

log = logging.getLogger("model_eval")

PREFIX_TOKENS = 768
SUFFIX_TOKENS = 256
LOSS_WINDOW = 1024


@dataclass(frozen=True)
class InfillTask:
    """One blanked line: the file, the 0-based line number and the line's text."""

    path: str
    line: int
    target: str


@dataclass(frozen=True)
class Scores:
    """Mean scores of predictions over a task set."""

    exact_match: float
    edit_similarity: float
    syntax_valid: float


@dataclass(frozen=True)
class ModelReport:
    """Everything measured for one model dir."""

    model: str
    heldout_loss: float
    loss_tokens: int
    tasks: int
    model_scores: Scores
    baseline_scores: Scores
    left_to_right_scores: Scores
    decode_tokens_per_s: float
    examples: list[dict[str, str]]
    infill_order: str = "psm"
    other_order_scores: Scores | None = None

    @property
    def other_order(self) -> str:
        return "spm" if self.infill_order == "psm" else "psm"

    def table(self) -> str:
        """The infill scores of this model dir as a text table, the declared order first."""
        rows = [(f"FIM {self.infill_order.upper()} (declared)", self.model_scores)]
        if self.other_order_scores is not None:
            rows.append((f"FIM {self.other_order.upper()}", self.other_order_scores))
        rows += [("left to right (diagnostic)", self.left_to_right_scores),
                 ("copy previous line", self.baseline_scores)]
        lines = [f"{'':28} {'exact':>7} {'edit sim':>9} {'valid':>7}"]
        lines += [f"{name:28} {sc.exact_match:7.3f} {sc.edit_similarity:9.3f} "
                  f"{sc.syntax_valid:7.3f}" for name, sc in rows]
        return "\n".join(lines)


def python_parser() -> object:
    import tree_sitter_python
    from tree_sitter import Language, Parser

    return Parser(Language(tree_sitter_python.language()))


def error_count(parser: object, text: str) -> int:
    """Number of ERROR and MISSING nodes in the parse of ``text``."""
    tree = parser.parse(text.encode("utf-8"))
    count, stack = 0, [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type == "ERROR" or node.is_missing:
            count += 1
        if node.has_error:
            stack.extend(node.children)
    return count


def function_body_lines(parser: object, text: str) -> list[int]:
    """0-based lines strictly inside function bodies (the ``def`` line excluded)."""
    tree = parser.parse(text.encode("utf-8"))
    lines: set[int] = set()
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type == "function_definition":
            body = node.child_by_field_name("body")
            if body is not None and body.start_point[0] > node.start_point[0]:
                lines.update(range(body.start_point[0], body.end_point[0] + 1))
        stack.extend(node.children)
    return sorted(lines)


def make_tasks(files: Sequence[SourceFile], n: int, seed: int) -> list[InfillTask]:
    """``n`` seeded tasks drawn uniformly from all non-blank function-body lines."""
    parser = python_parser()
    pool: list[InfillTask] = []
    for f in files:
        lines = f.text.split("\n")
        for i in function_body_lines(parser, f.text):
            if i < len(lines) and lines[i].strip() and i > 0:
                pool.append(InfillTask(f.path, i, lines[i]))
    rng = random.Random(seed)
    return rng.sample(pool, min(n, len(pool)))


def levenshtein(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def edit_similarity(pred: str, target: str) -> float:
    """1 − normalised Levenshtein distance (1.0 for two empty strings)."""
    pred, target = pred.rstrip(), target.rstrip()
    longest = max(len(pred), len(target))
    return 1.0 if longest == 0 else 1.0 - levenshtein(pred, target) / longest


def split_file(text: str, line: int) -> tuple[str, str]:
    """(prefix, suffix) around a removed line: prefix ends with a newline, suffix starts after."""
    lines = text.split("\n")
    return "\n".join(lines[:line]) + "\n", "\n".join(lines[line + 1 :])


def previous_line(text: str, line: int) -> str:
    lines = text.split("\n")
    for i in range(line - 1, -1, -1):
        if lines[i].strip():
            return lines[i]
    return ""


def score(preds: Sequence[str], tasks: Sequence[InfillTask], texts: dict[str, str]) -> Scores:
    parser = python_parser()
    base_errors = {path: error_count(parser, text) for path, text in texts.items()}
    exact = sim = valid = 0.0
    for pred, task in zip(preds, tasks, strict=True):
        exact += pred.rstrip() == task.target.rstrip()
        sim += edit_similarity(pred, task.target)
        prefix, suffix = split_file(texts[task.path], task.line)
        valid += error_count(parser, prefix + pred + "\n" + suffix) <= base_errors[task.path]
    n = max(1, len(tasks))
    return Scores(round(exact / n, 4), round(sim / n, 4), round(valid / n, 4))


def _fim_parts(tok: object, prefix: str, suffix: str,
               max_context: int) -> tuple[list[int], list[int]]:
    """The prefix's last and the suffix's first tokens that fit the model's context."""
    scale = min(1.0, (max_context - 70) / (PREFIX_TOKENS + SUFFIX_TOKENS))
    pre = tok.encode(prefix, add_special_tokens=False).ids[-int(PREFIX_TOKENS * scale) :]
    suf = tok.encode(suffix, add_special_tokens=False).ids[: int(SUFFIX_TOKENS * scale)]
    return pre, suf


def fim_prompt(tok: object, prefix: str, suffix: str, max_context: int) -> tuple[int, ...]:
    pre, suf = _fim_parts(tok, prefix, suffix, max_context)
    return (tok.token_to_id(FIM_PREFIX), *pre, tok.token_to_id(FIM_SUFFIX), *suf,
            tok.token_to_id(FIM_MIDDLE))


def spm_prompt(tok: object, prefix: str, suffix: str, max_context: int) -> tuple[int, ...]:
    """SPM order (variant 2): the suffix first, then the prefix right before the middle."""
    pre, suf = _fim_parts(tok, prefix, suffix, max_context)
    return (tok.token_to_id(FIM_PREFIX), tok.token_to_id(FIM_SUFFIX), *suf,
            tok.token_to_id(FIM_MIDDLE), *pre)


INFILL_PROMPTS = {"psm": fim_prompt, "spm": spm_prompt}


def left_to_right_prompt(
    tok: object, prefix: str, suffix: str, max_context: int
) -> tuple[int, ...]:
    """The prefix alone (its last ``PREFIX_TOKENS + SUFFIX_TOKENS`` tokens), no FIM tokens."""
    keep = min(PREFIX_TOKENS + SUFFIX_TOKENS, max_context - 70)
    return tuple(tok.encode(prefix, add_special_tokens=False).ids[-keep:])


def predict(
    engine: object,
    tasks: Sequence[InfillTask],
    texts: dict[str, str],
    prompt: Callable[[object, str, str, int], tuple[int, ...]] = fim_prompt,
) -> list[str]:
    from inference import GenerateRequest

    preds = []
    for task in tasks:
        prefix, suffix = split_file(texts[task.path], task.line)
        ids = prompt(engine.tokenizer, prefix, suffix, engine.spec.max_context)
        gen = engine.generate(GenerateRequest(prompt_ids=ids, max_tokens=64, stop=("\n",)))
        preds.append(gen.text.split("\n", 1)[0])
    return preds


def decode_speed(engine: object, files: Sequence[SourceFile], runs: int = 5) -> float:
    from inference import GenerateRequest

    speeds = []
    for f in sorted(files, key=lambda f: -len(f.text))[:runs]:
        keep = min(512, engine.spec.max_context - 129)
        ids = tuple(engine.tokenizer.encode(f.text, add_special_tokens=False).ids[:keep])
        gen = engine.generate(GenerateRequest(prompt_ids=ids, max_tokens=128))
        speeds.append(gen.tokens_per_s)
    return round(statistics.median(speeds), 1)


def heldout_loss(
    model_dir: Path, tok: object, files: Sequence[SourceFile], max_tokens: int, max_context: int
) -> tuple[float, int]:
    """Mean cross-entropy of the ONNX graph over held-out windows (see the module docstring)."""
    from inference.engine.session import OrtSession

    sess = OrtSession.open(model_dir / "model.onnx", provider="cpu", threads=2)
    eos = tok.token_to_id(ENDOFTEXT)
    ids: list[int] = []
    for f in files:
        ids += tok.encode(f.text, add_special_tokens=False).ids + [eos]
        if len(ids) > max_tokens:
            break
    ids = ids[: max_tokens + 1]
    total, count = 0.0, 0
    for start in range(0, len(ids) - 1, LOSS_WINDOW):
        chunk = ids[start : start + LOSS_WINDOW + 1]
        if len(chunk) < 2:
            break
        logits = _full_logits(sess, chunk[:-1])
        total += _cross_entropy(logits, np.array(chunk[1:])) * (len(chunk) - 1)
        count += len(chunk) - 1
    return round(total / count, 4), count


def _full_logits(sess: object, ids: Sequence[int]) -> np.ndarray:
    """Logits of every position in one chunk, through the engine's session (concat and
    in-place K/V graphs alike)."""
    return sess.logits_of(list(ids)).astype(np.float64)


def _cross_entropy(logits: np.ndarray, targets: np.ndarray) -> float:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    logz = np.log(np.exp(shifted).sum(axis=-1))
    return float((logz - shifted[np.arange(len(targets)), targets]).mean())


def evaluate_model(
    model_dir: Path, tasks: Sequence[InfillTask], files: Sequence[SourceFile], loss_tokens: int
) -> ModelReport:
    from inference import Engine

    texts = {f.path: f.text for f in files}
    engine = Engine.load(model_dir, provider="cpu", threads=2)
    loss, counted = heldout_loss(
        model_dir, engine.tokenizer, files, loss_tokens, engine.spec.max_context
    )
    order = engine.spec.infill
    other = "spm" if order == "psm" else "psm"
    preds = predict(engine, tasks, texts, INFILL_PROMPTS[order])
    baseline = [previous_line(texts[t.path], t.line) for t in tasks]
    examples = [
        {"path": t.path, "line": str(t.line), "target": t.target, "predicted": p}
        for t, p in list(zip(tasks, preds, strict=True))[:8]
    ]
    return ModelReport(
        model=str(model_dir),
        heldout_loss=loss,
        loss_tokens=counted,
        tasks=len(tasks),
        model_scores=score(preds, tasks, texts),
        baseline_scores=score(baseline, tasks, texts),
        left_to_right_scores=score(
            predict(engine, tasks, texts, left_to_right_prompt), tasks, texts
        ),
        decode_tokens_per_s=decode_speed(engine, files),
        examples=examples,
        infill_order=order,
        other_order_scores=score(
            predict(engine, tasks, texts, INFILL_PROMPTS[other]), tasks, texts
        ),
    )


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", action="append", type=Path, help="model dir (repeatable)")
    p.add_argument("--tasks", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--loss-tokens", type=int, default=65_536)
    p.add_argument("--json", type=Path, help="write the reports here")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    models = args.model or [
        d
        for d in (REPO / "inference/models/default", REPO / "inference/models/default-loop")
        if d.is_dir()
    ]
    if not models:
        print("no model dirs found; pass --model DIR", file=sys.stderr)
        return 1
    heldout = load_corpus().heldout
    tasks = make_tasks(heldout, args.tasks, args.seed)
    reports = [evaluate_model(m, tasks, heldout, args.loss_tokens) for m in models]
    for r in reports:
        print(
            f"{r.model}: held-out loss {r.heldout_loss} nats/token ({r.loss_tokens} tokens); "
            f"decode {r.decode_tokens_per_s} tok/s; {r.tasks} single-line infill tasks:\n"
            f"{r.table()}\n"
        )
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in reports], indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
