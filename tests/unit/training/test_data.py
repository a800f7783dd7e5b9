"""Corpus split, FIM sample construction and packing."""

from __future__ import annotations

import random
from pathlib import Path

from tokenizers import Tokenizer

from inference.training.data import (
    FimSplit,
    Packer,
    SampleMix,
    SourceFile,
    fim_text,
    is_heldout,
    load_corpus,
    make_sample,
    make_sample_parts,
    repo_sample,
    split_chars,
    split_lines,
    spm_parts,
)

TEXT = "import os\n\n\ndef f(a):\n    b = a + 1\n    return b\n\n\nx = f(2)\n"


def test_fim_text_is_psm_order() -> None:
    split = FimSplit("def f():\n", "    return 1\n", "\nx = f()\n")
    assert fim_text(split) == (
        "<|fim_prefix|>def f():\n<|fim_suffix|>\nx = f()\n"
        "<|fim_middle|>    return 1\n<|endoftext|>"
    )


def test_split_lines_cuts_whole_nonblank_lines() -> None:
    rng = random.Random(0)
    for _ in range(50):
        split = split_lines(TEXT, rng, max_lines=2)
        assert split is not None
        assert split.prefix + split.middle + split.suffix == TEXT
        assert split.prefix == "" or split.prefix.endswith("\n")
        assert split.middle.endswith("\n") and split.middle.strip()
        assert 1 <= split.middle.count("\n") <= 2


def test_split_chars_partitions_text() -> None:
    rng = random.Random(1)
    seen_inside_line = False
    for _ in range(50):
        split = split_chars(TEXT, rng)
        assert split is not None
        assert split.prefix + split.middle + split.suffix == TEXT
        seen_inside_line |= not split.prefix.endswith("\n")
    assert seen_inside_line


def test_heldout_split_is_deterministic_and_small(tiny_corpus: Path) -> None:
    assert is_heldout("json/decoder.py") == is_heldout("json/decoder.py")
    share = sum(is_heldout(f"m{i}.py") for i in range(2000)) / 2000
    assert 0.03 < share < 0.07
    corpus = load_corpus(tiny_corpus)
    assert len(corpus.heldout) >= 1  # a tiny corpus still holds one file out
    assert not {f.path for f in corpus.train} & {f.path for f in corpus.heldout}


def test_repo_sample_format(tiny_corpus: Path) -> None:
    files = load_corpus(tiny_corpus).train
    rng = random.Random(0)
    fim_seen = 0
    for _ in range(20):
        text = repo_sample(files, rng, SampleMix(fim_rate=0.5, window_chars=600))
        assert text.startswith("<|repo_name|>cpython\n<|file_sep|>")
        assert text.count("<|file_sep|>") >= 2
        last = text.rsplit("<|file_sep|>", 1)[1]
        path = last.split("\n", 1)[0]
        assert path in {f.path for f in files}
        fim_seen += last.startswith(f"{path}\n<|fim_prefix|>")
    assert 0 < fim_seen < 20


def test_packer_batches_depend_only_on_step(tiny_corpus: Path, tiny_tokenizer: Tokenizer) -> None:
    files = load_corpus(tiny_corpus).train
    packer = Packer(files, tiny_tokenizer, seq_len=64, seed=7, mix=SampleMix(fim_rate=1.0))
    a, b = packer.batch(3, 2), packer.batch(3, 2)
    assert a == b and [len(r) for r in a] == [65, 65]
    assert packer.batch(4, 2) != a
    fim_ids = {tiny_tokenizer.token_to_id(t) for t in ("<|fim_prefix|>", "<|fim_middle|>")}
    assert fim_ids & set(a[0] + a[1])


def test_min_window_chars_draws_windows_between_the_bounds() -> None:
    text = "".join(f"line_{i} = {i}\n" for i in range(2000))  # one long file, no FIM
    files = (SourceFile("big.py", text),)
    fixed = SampleMix(fim_rate=0.0, repo_rate=0.0, window_chars=1200)
    varied = SampleMix(fim_rate=0.0, repo_rate=0.0, window_chars=1200, min_window_chars=300)
    rng = random.Random(3)
    assert {len(make_sample(files, rng, fixed)) for _ in range(20)} == {1200}
    sizes = [len(make_sample(files, rng, varied)) for _ in range(200)]
    assert 300 <= min(sizes) < 500 and 1000 < max(sizes) <= 1200


def test_spm_parts_are_variant_2_order_with_the_middle_right_after_the_prefix() -> None:
    split = FimSplit("def f():\n", "    return 1\n", "\nx = f()\n")
    head, tail = spm_parts(split)
    assert head == "<|fim_prefix|><|fim_suffix|>\nx = f()\n<|fim_middle|>def f():\n"
    assert tail == "    return 1\n<|endoftext|>"


def test_spm_rate_splits_fim_samples_between_the_orders() -> None:
    files = (SourceFile("a.py", TEXT * 20),)
    rng = random.Random(5)
    mix = SampleMix(fim_rate=1.0, repo_rate=0.0, spm_rate=0.5)
    samples = [make_sample_parts(files, rng, mix) for _ in range(200)]
    spm = [s for s in samples if len(s) == 2]
    assert all(s[0].startswith("<|fim_prefix|><|fim_suffix|>") for s in spm)
    assert all(s[1].endswith("<|endoftext|>") and "<|fim_" not in s[1] for s in spm)
    psm = [s for s in samples if len(s) == 1]
    assert all(s[0].startswith("<|fim_prefix|>") and s[0].endswith("<|endoftext|>") for s in psm)
    assert 60 < len(spm) < 140 and len(psm) == 200 - len(spm)
    never = SampleMix(fim_rate=1.0, repo_rate=0.0)
    assert all(len(make_sample_parts(files, rng, never)) == 1 for _ in range(50))


def test_spm_repo_samples_keep_the_header_before_the_prefix() -> None:
    files = (SourceFile("pkg/a.py", TEXT * 5), SourceFile("pkg/b.py", TEXT * 5))
    rng = random.Random(2)
    mix = SampleMix(fim_rate=1.0, repo_rate=1.0, spm_rate=1.0)
    head, tail = make_sample_parts(files, rng, mix)
    assert head.startswith("<|repo_name|>cpython\n<|file_sep|>")
    assert "<|fim_prefix|><|fim_suffix|>" in head and tail.endswith("<|endoftext|>")


def test_packer_tokenizes_the_spm_middle_apart_from_the_prefix(
        tiny_tokenizer: Tokenizer) -> None:
    """No BPE piece spans the cursor: the ids are the two pieces' own ids, concatenated."""
    files = (SourceFile("a.py", TEXT * 20),)
    mix = SampleMix(fim_rate=1.0, line_fim_rate=0.0, repo_rate=0.0, spm_rate=1.0)
    packer = Packer(files, tiny_tokenizer, seq_len=2000, seed=1, mix=mix)
    rng = random.Random("1:0")  # the packer's generator for step 0
    head, tail = make_sample_parts(files, rng, mix)
    expected = (tiny_tokenizer.encode(head, add_special_tokens=False).ids
                + tiny_tokenizer.encode(tail, add_special_tokens=False).ids)
    assert packer.batch(0, 1)[0][: len(expected)] == expected
