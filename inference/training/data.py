"""Training data: the interpreter's standard library as a code corpus, FIM samples, packing.

The corpus is every ``.py`` file under ``sysconfig.get_paths()["stdlib"]`` (PSF licence), minus
``site-packages`` and test *data* directories (fixtures with deliberately odd encodings or bad
syntax). Files are split into train / held-out by a hash of their stdlib-relative path, so the
split is the same on every machine and does not depend on walk order.

Samples are drawn per step from a generator seeded with ``(seed, step)``: a batch depends only on
the step number, which makes runs reproducible and resumable without saving a data cursor.

Sample kinds (IQuest spelling of the special tokens):

- plain: a window of a file, ``<|endoftext|>`` appended when the window reaches the file's end;
- FIM, PSM order:
  ``<|fim_prefix|>{prefix}<|fim_suffix|>{suffix}<|fim_middle|>{middle}<|endoftext|>``;
  half of the FIM samples cut at line boundaries with a middle of one to three lines, so that
  single-line infill is learned; the others cut at random characters (a cursor inside a line);
- FIM, SPM order (variant 2 of Bavarian et al. 2022, as in StarCoder), a ``spm_rate`` share of
  the FIM samples:
  ``<|fim_prefix|><|fim_suffix|>{suffix}<|fim_middle|>{prefix}{middle}<|endoftext|>``; the
  middle is a direct continuation of the prefix. The text before the middle and the middle are
  tokenized separately (as at inference, where the prompt ends with the prefix's own tokens), so
  no BPE piece spans the cursor;
- repo-level: ``<|repo_name|>{name}\\n<|file_sep|>{path}\\n{content}...`` over files of one package.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import os
import random
import sysconfig
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from tokenizers import Tokenizer

from inference.training.tokenizer import (
    ENDOFTEXT,
    FILE_SEP,
    FIM_MIDDLE,
    FIM_PREFIX,
    FIM_SUFFIX,
    REPO_NAME,
)

log = logging.getLogger(__name__)

#: Directory names whose contents are test fixtures rather than ordinary code.
EXCLUDED_DIRS = frozenset(
    {"site-packages", "__pycache__", "data", "test_data", "tests_data", "idle_test",
     "encoded_modules", "tokenizedata", "translationdata", "decimaltestdata"}
)
MAX_FILE_BYTES = 400_000
#: Paths of extra-corpus files start with this (``extra/<distribution>/...``).
EXTRA_PREFIX = "extra/"


@dataclass(frozen=True)
class SourceFile:
    """One corpus file: its stdlib-relative POSIX path and its text."""

    path: str
    text: str


@dataclass(frozen=True)
class Corpus:
    """The train and held-out files of a corpus."""

    train: tuple[SourceFile, ...]
    heldout: tuple[SourceFile, ...]

    @property
    def train_chars(self) -> int:
        return sum(len(f.text) for f in self.train)


@dataclass(frozen=True)
class SampleMix:
    """Probabilities of each sample kind and the window size in characters."""

    fim_rate: float = 0.5
    line_fim_rate: float = 0.5
    repo_rate: float = 0.2
    window_chars: int = 3000
    extra_rate: float = 0.0
    min_window_chars: int = 0
    spm_rate: float = 0.0


def stdlib_root() -> Path:
    """The interpreter's standard library directory."""
    return Path(sysconfig.get_paths()["stdlib"])


def is_heldout(path: str, percent: int = 5) -> bool:
    """Deterministic held-out split by file: ``sha1(path) mod 100 < percent``."""
    digest = hashlib.sha1(path.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") % 100 < percent


def _wanted(rel: Path) -> bool:
    if any(part in EXCLUDED_DIRS for part in rel.parts[:-1]):
        return False
    name = rel.name
    return name.endswith(".py") and not name.startswith(("bad", "bad_"))


def iter_source_files(root: Path) -> Iterator[SourceFile]:
    """Yield the readable UTF-8 ``.py`` files under ``root`` in sorted path order."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in EXCLUDED_DIRS)
        for name in sorted(filenames):
            full = Path(dirpath) / name
            rel = full.relative_to(root)
            if not _wanted(rel) or full.stat().st_size > MAX_FILE_BYTES:
                continue
            try:
                text = full.read_text(encoding="utf-8")
            except (UnicodeDecodeError, OSError) as exc:
                log.debug("skip %s: %s", rel, exc)
                continue
            if text.strip():
                yield SourceFile(rel.as_posix(), text.replace("\r\n", "\n"))


def load_extra(root: Path) -> tuple[SourceFile, ...]:
    """The extra corpus written by ``inference.training.extra`` (training only, never held out);
    paths become ``extra/<distribution>/...``."""
    files = tuple(SourceFile(EXTRA_PREFIX + f.path, f.text) for f in iter_source_files(root))
    log.info("extra corpus: %d files, %.1f M chars", len(files),
             sum(len(f.text) for f in files) / 1e6)
    return files


def load_corpus(root: Path | None = None, heldout_percent: int = 5) -> Corpus:
    """Read the corpus under ``root`` (default: the stdlib) and split it by file."""
    files = list(iter_source_files(root or stdlib_root()))
    held = {f.path for f in files if is_heldout(f.path, heldout_percent)}
    if not held and len(files) > 1:  # a tiny corpus: hold out the file with the smallest hash
        held = {min((f.path for f in files), key=lambda p: hashlib.sha1(p.encode()).digest())}
    train = tuple(f for f in files if f.path not in held)
    heldout = tuple(f for f in files if f.path in held)
    log.info("corpus: %d train files, %d held-out files", len(train), len(heldout))
    return Corpus(train, heldout)


@dataclass(frozen=True)
class FimSplit:
    """A file window cut into prefix, middle and suffix."""

    prefix: str
    middle: str
    suffix: str


def fim_text(split: FimSplit) -> str:
    """The PSM-order FIM training text, ``<|endoftext|>`` after the middle."""
    return (
        f"{FIM_PREFIX}{split.prefix}{FIM_SUFFIX}{split.suffix}"
        f"{FIM_MIDDLE}{split.middle}{ENDOFTEXT}"
    )


def spm_parts(split: FimSplit) -> tuple[str, str]:
    """The SPM-order (variant 2) training text in two pieces to tokenize separately: everything
    up to the end of the prefix, then the middle and ``<|endoftext|>``."""
    head = f"{FIM_PREFIX}{FIM_SUFFIX}{split.suffix}{FIM_MIDDLE}{split.prefix}"
    return head, f"{split.middle}{ENDOFTEXT}"


def split_lines(text: str, rng: random.Random, max_lines: int = 3) -> FimSplit | None:
    """Cut at line boundaries: the middle is 1..max_lines whole non-blank-led lines."""
    lines = text.splitlines(keepends=True)
    candidates = [i for i, line in enumerate(lines) if line.strip()]
    if not candidates:
        return None
    start = rng.choice(candidates)
    end = min(len(lines), start + rng.randint(1, max_lines))
    return FimSplit("".join(lines[:start]), "".join(lines[start:end]), "".join(lines[end:]))


def split_chars(text: str, rng: random.Random) -> FimSplit | None:
    """Cut at two random character positions (a cursor anywhere)."""
    if len(text) < 2:
        return None
    a, b = sorted(rng.sample(range(len(text) + 1), 2))
    return FimSplit(text[:a], text[a:b], text[b:])


def window(text: str, rng: random.Random, size: int) -> tuple[str, bool]:
    """A window of about ``size`` chars starting at a line start; True if it ends the file."""
    if len(text) <= size:
        return text, True
    start = rng.randrange(0, len(text) - size // 2)
    line_start = text.rfind("\n", 0, start) + 1
    chunk = text[line_start:line_start + size]
    return chunk, line_start + size >= len(text)


def make_sample(files: Sequence[SourceFile], rng: random.Random, mix: SampleMix) -> str:
    """One training text drawn from ``files`` (chosen with probability ∝ length)."""
    return "".join(make_sample_parts(files, rng, mix))


def make_sample_parts(
    files: Sequence[SourceFile], rng: random.Random, mix: SampleMix
) -> tuple[str, ...]:
    """One training text as the pieces to tokenize separately (one piece, or two for SPM)."""
    if rng.random() < mix.repo_rate:
        return repo_sample_parts(files, rng, mix)
    source = _pick_file(files, rng)
    chunk, at_end = window(source.text, rng, _window_size(rng, mix))
    return _maybe_fim(chunk, at_end, rng, mix)


def _window_size(rng: random.Random, mix: SampleMix) -> int:
    """``window_chars``, or uniform in ``[min_window_chars, window_chars]`` when a minimum is
    set (more, shorter samples per row: more FIM middles for the same compute)."""
    if not mix.min_window_chars:
        return mix.window_chars
    return rng.randint(min(mix.min_window_chars, mix.window_chars), mix.window_chars)


def _maybe_fim(
    chunk: str, at_end: bool, rng: random.Random, mix: SampleMix
) -> tuple[str, ...]:
    if rng.random() < mix.fim_rate:
        cut = split_lines if rng.random() < mix.line_fim_rate else split_chars
        split = cut(chunk, rng)
        if split is not None:
            if mix.spm_rate > 0 and rng.random() < mix.spm_rate:
                return spm_parts(split)
            return (fim_text(split),)
    return (chunk + (ENDOFTEXT if at_end else ""),)


def repo_sample(files: Sequence[SourceFile], rng: random.Random, mix: SampleMix) -> str:
    """A repo-level sample as one text (see ``repo_sample_parts``)."""
    return "".join(repo_sample_parts(files, rng, mix))


def repo_sample_parts(
    files: Sequence[SourceFile], rng: random.Random, mix: SampleMix
) -> tuple[str, ...]:
    """Repo-level format (Qwen2.5-Coder / IQuest): snippets of up to three files of the same
    package, each after ``<|file_sep|>{path}\n``, then the current file, FIM or plain::

        <|repo_name|>cpython\n<|file_sep|>a.py\n...\n<|file_sep|>b.py\n<|fim_prefix|>...
    """
    anchor = _pick_file(files, rng)
    package = _package(anchor.path)
    siblings = [f for f in _index(files).by_package.get(package, ()) if f.path != anchor.path]
    parts = [f"{REPO_NAME}{_repo_name(anchor.path)}\n"]
    for other in rng.sample(siblings, min(len(siblings), rng.randint(1, 3))):
        snippet, _ = window(other.text, rng, rng.randint(100, mix.window_chars // 3))
        parts.append(f"{FILE_SEP}{other.path}\n{snippet.rstrip()}\n")
    chunk, at_end = window(anchor.text, rng, mix.window_chars // 2)
    current = _maybe_fim(chunk, at_end, rng, mix)
    parts.append(f"{FILE_SEP}{anchor.path}\n{current[0]}")
    return ("".join(parts), *current[1:])


def _package(path: str) -> str:
    return path.rsplit("/", 1)[0] if "/" in path else ""


def _repo_name(path: str) -> str:
    """``cpython`` for standard-library paths; the distribution for extra-corpus paths."""
    return path.split("/", 2)[1] if path.startswith(EXTRA_PREFIX) else "cpython"


@dataclass(frozen=True)
class _FileIndex:
    """What sampling needs of a file sequence, computed once per sequence."""

    cum_weights: list[float]
    by_package: dict[str, list[SourceFile]]


_INDEXES: dict[int, tuple[Sequence[SourceFile], _FileIndex]] = {}


def _index(files: Sequence[SourceFile]) -> _FileIndex:
    cached = _INDEXES.get(id(files))
    if cached is not None and cached[0] is files:
        return cached[1]
    weights = [min(len(f.text), 50_000) * (0.5 if _is_test(f.path) else 1.0) for f in files]
    groups: dict[str, list[SourceFile]] = {}
    for f in files:
        groups.setdefault(_package(f.path), []).append(f)
    index = _FileIndex(list(itertools.accumulate(weights)), groups)
    _INDEXES[id(files)] = (files, index)
    return index


def _pick_file(files: Sequence[SourceFile], rng: random.Random) -> SourceFile:
    return rng.choices(files, cum_weights=_index(files).cum_weights, k=1)[0]


def _is_test(path: str) -> bool:
    """Test suites are half of the stdlib; they are drawn at half weight."""
    return path.startswith("test/") or "/test" in path


class Packer:
    """Packs drawn samples into fixed-length token rows; a batch depends only on the step."""

    def __init__(
        self,
        files: Sequence[SourceFile],
        tokenizer: Tokenizer,
        seq_len: int,
        seed: int,
        mix: SampleMix | None = None,
        extra: Sequence[SourceFile] = (),
    ) -> None:
        if not files:
            raise ValueError("no files to sample from")
        self.files = files
        self.extra = extra
        self.tokenizer = tokenizer
        self.seq_len = seq_len
        self.seed = seed
        self.mix = mix or SampleMix()

    def batch(self, step: int, batch_size: int) -> list[list[int]]:
        """``batch_size`` rows of ``seq_len + 1`` ids (inputs and shifted targets) for ``step``."""
        rng = random.Random(f"{self.seed}:{step}")
        need = batch_size * (self.seq_len + 1)
        ids: list[int] = []
        while len(ids) < need:
            samples = [make_sample_parts(self._pool(rng), rng, self.mix) for _ in range(batch_size)]
            pieces = [piece for parts in samples for piece in parts]
            for enc in self.tokenizer.encode_batch(pieces, add_special_tokens=False):
                ids.extend(enc.ids)
        width = self.seq_len + 1
        return [ids[i * width:(i + 1) * width] for i in range(batch_size)]

    def _pool(self, rng: random.Random) -> Sequence[SourceFile]:
        """The extra corpus with probability ``mix.extra_rate`` (when there is one)."""
        if self.extra and self.mix.extra_rate > 0 and rng.random() < self.mix.extra_rate:
            return self.extra
        return self.files
