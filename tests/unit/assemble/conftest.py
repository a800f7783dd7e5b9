"""Fixtures for the assembly tests: a small trained tokenizer, model dicts, an indexed workspace.

The tokenizer is a byte-level BPE trained on this repository's own context sources, with a
Qwen2-style pre-tokenizer (newline-aware) and the special tokens of every supported family.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

from context.index import WorkspaceIndex

REPO = Path(__file__).resolve().parents[3]

QWEN_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)
SPECIALS = [
    "<|endoftext|>", "<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>", "<|repo_name|>",
    "<|file_sep|>", "<|im_start|>", "<|im_end|>", "<fim_prefix>", "<fim_suffix>", "<fim_middle>",
    "<repo_name>", "<file_sep>", "<｜fim▁begin｜>", "<｜fim▁hole｜>", "<｜fim▁end｜>",
    "<｜end▁of▁sentence｜>", "<｜begin▁of▁sentence｜>", "<PRE>", "<SUF>", "<MID>", "<EOT>", "</s>",
    "<s>",
]


def _corpus() -> list[str]:
    files = sorted((REPO / "context" / "retrieve").glob("*.py"))
    return [f.read_text("utf-8") for f in files]


def train_tokenizer(path: Path, qwen_style: bool = True) -> Path:
    """Train a 1500-token byte-level BPE and save it as tokenizer.json under ``path``."""
    tok = Tokenizer(models.BPE())
    if qwen_style:
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(QWEN_SPLIT), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ])
    else:
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=1500, special_tokens=SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False,
    )
    tok.train_from_iterator(_corpus(), trainer)
    out = path / "tokenizer.json"
    tok.save(str(out))
    return out


@pytest.fixture(scope="session")
def tokenizer_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Qwen2-style byte-level BPE tokenizer.json with all families' special tokens."""
    return train_tokenizer(tmp_path_factory.mktemp("tok"))


def model_json(fim: str = "iquest", **special: str | None) -> dict:
    """A codeflow-model.json dict for a format (special token spellings may be overridden)."""
    tokens: dict[str, str | None] = {"bos": None, "pad": None}
    if fim in ("iquest", "qwen2.5"):
        tokens.update({
            "eos": "<|endoftext|>", "fim_prefix": "<|fim_prefix|>",
            "fim_suffix": "<|fim_suffix|>", "fim_middle": "<|fim_middle|>",
            "repo_name": "<|repo_name|>", "file_sep": "<|file_sep|>",
            "im_start": "<|im_start|>", "im_end": "<|im_end|>",
        })
    tokens.update(special)
    return {
        "format_version": 1, "name": "test", "family": "iquestcoder", "architecture": "dense",
        "prompt_format": {"fim": fim, "chat": "chatml"}, "special_tokens": tokens,
        "eos_token_ids": [0], "max_context": 131072, "dtype": "fp32",
    }


UTIL = '''"""Geometry helpers."""

SCALE = 3


def area(width, height):
    """Area of a rectangle."""
    return width * height * SCALE


def perimeter(width, height):
    return 2 * (width + height)


class Shape:
    """A shape with a name."""

    def __init__(self, name):
        self.name = name

    def describe(self):
        return f"shape {self.name}"
'''

MAIN = '''from geo.util import area, perimeter, Shape
from geo import util


def report(w, h):
    s = Shape("box")
    total = area(w, h)
    edge = util.perimeter(w, h)
    return s.describe(), total, edge


def unused_helper():
    return 1
'''

CALLER = '''from geo.main import report


def show():
    print(report(2, 3))
'''


def write_workspace(root: Path, files: dict[str, str]) -> Path:
    """Write ``files`` (relative path → text) under ``root``."""
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, "utf-8")
    return root


GEO = {"geo/__init__.py": "", "geo/util.py": UTIL, "geo/main.py": MAIN, "app/cli.py": CALLER}


@pytest.fixture
def geo_index(tmp_path: Path) -> Iterator[WorkspaceIndex]:
    """The real index over a small 'geo' workspace."""
    root = write_workspace(tmp_path / "ws", GEO)
    index = WorkspaceIndex(root, store_path=tmp_path / "store.sqlite3")
    index.refresh()
    yield index
    index.close()


@pytest.fixture
def make_model_json() -> Callable[..., dict]:
    """The ``model_json`` helper as a fixture."""
    return model_json


def dump_model_dir(path: Path, tokenizer: Path, fim: str = "iquest") -> Path:
    """A model dir with tokenizer.json and codeflow-model.json (no weights)."""
    path.mkdir(parents=True, exist_ok=True)
    (path / "tokenizer.json").write_bytes(tokenizer.read_bytes())
    (path / "codeflow-model.json").write_text(json.dumps(model_json(fim)), "utf-8")
    return path
