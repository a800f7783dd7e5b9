"""The extra training corpus: licence filter, leakage guard, mixing into batches."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

from tokenizers import Tokenizer

from inference.training.data import (
    Packer,
    SampleMix,
    SourceFile,
    load_corpus,
    load_extra,
    repo_sample,
)
from inference.training.extra import is_permissive, looks_generated, take_files


def test_licence_filter_keeps_permissive_and_drops_copyleft() -> None:
    for licence in ("MIT", "BSD-3-Clause", "Apache Software License", "PSF-2.0", "ISC"):
        assert is_permissive(licence), licence
    for licence in ("MPL-2.0", "GPLv2 with linking exception", "MPL-2.0 AND MIT", "LGPL-3.0",
                    "", "Proprietary"):
        assert not is_permissive(licence), licence


def test_generated_files_are_recognised() -> None:
    assert looks_generated("x = 1\n" + "TABLE = [" + "1, " * 300 + "]\n")
    assert not looks_generated("def f():\n    return 1\n")


def test_take_files_guards_against_stdlib_copies_and_caps(tmp_path: Path) -> None:
    copy = tmp_path / "vendored_json.py"
    copy.write_text("import json\n")
    same_name = tmp_path / "heldout_mod.py"
    same_name.write_text("y = 2\n")
    own = [tmp_path / f"own{i}.py" for i in range(5)]
    for i, path in enumerate(own):
        path.write_text(f"value_{i} = {i}\n" * 20)
    stdlib_hashes = {hashlib.sha1(b"import json\n").digest()}
    kept = take_files([copy, same_name, *own], cap_chars=500,
                      stdlib_hashes=stdlib_hashes, heldout_names={"heldout_mod.py"})
    names = [p.name for p, _ in kept]
    assert "vendored_json.py" not in names and "heldout_mod.py" not in names
    assert names == ["own0.py", "own1.py", "own2.py"]  # stops once 500 chars are taken


def test_extra_files_mix_into_batches(tiny_corpus: Path, tiny_tokenizer: Tokenizer,
                                      tmp_path: Path) -> None:
    pkg = tmp_path / "extra" / "somepkg"
    pkg.mkdir(parents=True)
    (pkg / "zebra.py").write_text("ZEBRA_STRIPES = 'zebra zebra zebra'\n" * 40)
    extra = load_extra(tmp_path / "extra")
    assert [f.path for f in extra] == ["extra/somepkg/zebra.py"]
    files = load_corpus(tiny_corpus).train
    zebra = tiny_tokenizer.encode("ZEBRA_STRIPES").ids[0]
    never = Packer(files, tiny_tokenizer, 64, seed=3, mix=SampleMix(extra_rate=0.0), extra=extra)
    always = Packer(files, tiny_tokenizer, 64, seed=3, mix=SampleMix(extra_rate=1.0), extra=extra)
    assert zebra not in {i for row in never.batch(1, 4) for i in row}
    assert zebra in {i for row in always.batch(1, 4) for i in row}


def test_repo_samples_name_the_distribution() -> None:
    files = (SourceFile("extra/somepkg/a.py", "a = 1\n" * 30),
             SourceFile("extra/somepkg/b.py", "b = 2\n" * 30))
    text = repo_sample(files, random.Random(0), SampleMix(fim_rate=0.0))
    assert text.startswith("<|repo_name|>somepkg\n")
