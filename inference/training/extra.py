"""More training code: Python source of installed distributions under permissive licences.

The standard library alone holds about 7.7M tokens, which a 2-hour run sees several times over.
This script gathers more Python from the distributions installed in the training environment
(the ``train`` extra pins them, so the set is reproducible), keeping only those whose metadata
declares a permissive licence (MIT, BSD, Apache, PSF, ISC, ...; never GPL/LGPL/MPL/AGPL), and
copies their ``.py`` files into ``OUT/<distribution>/...`` with a ``MANIFEST.json`` naming every
distribution, version and licence. It runs before training, never while serving.

Leakage guard: a file whose text equals a standard-library file's, or whose name equals a
held-out standard-library file's name, is left out (vendored copies of stdlib modules exist).
Generated-looking files (very long lines) are skipped; each distribution is capped so that a
few huge packages do not dominate.

    python -m inference.training.extra --out /work/train-data/extra --cap-mb 3
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import re
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

from inference.training.data import MAX_FILE_BYTES, load_corpus

log = logging.getLogger(__name__)

PERMISSIVE = re.compile(r"\b(MIT|BSD|Apache|PSF|Python Software Foundation|ISC|Unlicense|zlib"
                        r"|HPND|0BSD|Historical Permission)\b", re.IGNORECASE)
COPYLEFT = re.compile(r"\b(GPL|LGPL|AGPL|MPL|Mozilla|EPL|CDDL|copyleft)\b", re.IGNORECASE)
MAX_LINE_CHARS = 400


@dataclass(frozen=True)
class DistChoice:
    """One distribution taken into the extra corpus."""

    name: str
    version: str
    licence: str
    files: int
    chars: int


def licence_of(dist: metadata.Distribution) -> str:
    """The licence a distribution declares (expression, licence field, or classifiers)."""
    meta = dist.metadata
    parts = [meta.get("License-Expression") or ""]
    field = (meta.get("License") or "").strip()
    if field and len(field) < 200:  # some put the whole licence text here
        parts.append(field)
    elif field:
        parts.append(field.splitlines()[0])
    parts += [c.split("::")[-1].strip() for c in meta.get_all("Classifier") or []
              if c.startswith("License ::")]
    return "; ".join(p for p in parts if p)


def is_permissive(licence: str) -> bool:
    """True for a declared permissive licence with no copyleft licence named beside it."""
    return bool(PERMISSIVE.search(licence)) and not COPYLEFT.search(licence)


def looks_generated(text: str) -> bool:
    """Data tables and generated code: any very long line."""
    return any(len(line) > MAX_LINE_CHARS for line in text.splitlines())


def _python_files(dist: metadata.Distribution) -> list[Path]:
    found = []
    for entry in dist.files or ():
        if entry.suffix == ".py" and "__pycache__" not in entry.parts:
            path = Path(str(dist.locate_file(entry)))
            if path.is_file() and path.stat().st_size <= MAX_FILE_BYTES:
                found.append((entry.as_posix(), path))
    # a fixed order that samples the whole package, not its alphabetically first folders
    found.sort(key=lambda item: hashlib.sha1(item[0].encode()).digest())
    return [path for _, path in found]


def take_files(paths: Iterable[Path], cap_chars: int, stdlib_hashes: set[bytes],
               heldout_names: set[str]) -> list[tuple[Path, str]]:
    """Files to keep, in order, until ``cap_chars`` are taken."""
    kept: list[tuple[Path, str]] = []
    total = 0
    for path in paths:
        if path.name in heldout_names and path.name != "__init__.py":
            continue
        try:
            text = path.read_text(encoding="utf-8").replace("\r\n", "\n")
        except (UnicodeDecodeError, OSError):
            continue
        if not text.strip() or looks_generated(text):
            continue
        if hashlib.sha1(text.encode()).digest() in stdlib_hashes:
            continue
        kept.append((path, text))
        total += len(text)
        if total >= cap_chars:
            break
    return kept


def collect(out: Path, cap_chars: int, skip: Sequence[str] = ()) -> list[DistChoice]:
    """Write the extra corpus under ``out``; returns what was taken."""
    corpus = load_corpus()
    stdlib_hashes = {hashlib.sha1(f.text.encode()).digest()
                     for f in (*corpus.train, *corpus.heldout)}
    heldout_names = {f.path.rsplit("/", 1)[-1] for f in corpus.heldout}
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    chosen: list[DistChoice] = []
    seen: set[str] = set()
    dists = sorted(metadata.distributions(), key=lambda d: (d.metadata["Name"] or "").lower())
    for dist in dists:
        name = (dist.metadata["Name"] or "").lower().replace("_", "-")
        if not name or name in seen or name in skip or name.startswith("codeflow"):
            continue
        seen.add(name)
        licence = licence_of(dist)
        if not is_permissive(licence):
            log.info("skip %s: licence %r", name, licence or "not declared")
            continue
        kept = take_files(_python_files(dist), cap_chars, stdlib_hashes, heldout_names)
        if not kept:
            continue
        _write(out / name, dist, kept)
        chosen.append(DistChoice(name, dist.version, licence, len(kept),
                                 sum(len(t) for _, t in kept)))
    manifest = {"cap_chars": cap_chars, "distributions": [asdict(c) for c in chosen]}
    (out / "MANIFEST.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return chosen


def _write(dest: Path, dist: metadata.Distribution, kept: list[tuple[Path, str]]) -> None:
    root = Path(str(dist.locate_file("")))
    for path, text in kept:
        try:
            rel = path.relative_to(root)
        except ValueError:
            rel = Path(path.name)
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    p = argparse.ArgumentParser(prog="python -m inference.training.extra", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--cap-mb", type=float, default=3.0, help="characters per distribution, MB")
    p.add_argument("--skip", nargs="*", default=[], help="distribution names to leave out")
    args = p.parse_args(argv)
    chosen = collect(args.out, int(args.cap_mb * 1_000_000), args.skip)
    total = sum(c.chars for c in chosen)
    print(f"{len(chosen)} distributions, {sum(c.files for c in chosen)} files, "
          f"{total / 1e6:.1f} M chars -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
