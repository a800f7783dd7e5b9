"""Fixtures for the training tests: a tiny corpus of real stdlib files and its tokenizer."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from tokenizers import Tokenizer

from inference.training.data import stdlib_root
from inference.training.tokenizer import train_tokenizer

TINY_FILES = ("colorsys.py", "bisect.py", "keyword.py", "this.py", "textwrap.py", "fnmatch.py")


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding a few small stdlib modules (one sub-package too)."""
    root = tmp_path_factory.mktemp("corpus")
    for name in TINY_FILES:
        shutil.copy(stdlib_root() / name, root / name)
    (root / "pkg").mkdir()
    shutil.copy(stdlib_root() / "json" / "__init__.py", root / "pkg" / "__init__.py")
    return root


@pytest.fixture(scope="session")
def tiny_tokenizer(tiny_corpus: Path) -> Tokenizer:
    texts = [p.read_text(encoding="utf-8") for p in sorted(tiny_corpus.rglob("*.py"))]
    return train_tokenizer(texts, vocab_size=600)
