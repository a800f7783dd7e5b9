"""Context quality: does the assembled prompt contain the definition the blanked line needs?

Tasks come from code we did not write (a copy of part of the standard library): in module A, a
one-line statement inside a function uses a name imported from module B (``from B import name``
or ``import B`` + ``B.name``); the line is blanked to its indentation and the cursor put there.
Gold = the first line of the name's definition in B. Recall = share of tasks whose prompt has a
section of B containing that line. Baseline at equal cross-file characters: RepoCoder's Jaccard
sliding windows (20 lines, stride 10, query = identifiers of the 10 lines above the cursor).
Also: per-source ablation (alone / leave-one-out) and assembly time on the warm index.

Other languages, built the same way from code we did not write, each with recall at 2K and 8K,
the baseline, assembly time and budget overruns: TypeScript (rxjs 7.8.2's ``src/``, fetched with
npm as bench/index.py does; plus receiver-method tasks: ``x.meth(`` where the file declares
``x: Type``), Go (part of the standard library from Debian's golang-src), Rust (crates under
``~/.cargo/registry/src``, else Debian's ``librust-*-dev`` under ``/usr/share/cargo/registry``).
A language whose sources are missing is skipped with a message.

    .venv/bin/python bench/context_eval.py [--tasks 300] [--tokenizer PATH] [--json OUT]
        [--languages python,typescript,go,rust] [--lang-tasks 150] [--no-ablation]
        [--budgets 2048,8192] [--timing-tasks 40]
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from context.assemble import Assembler, AssemblerConfig, PromptRequest  # noqa: E402
from context.retrieve import SOURCES, jaccard_top, windows  # noqa: E402
from context.retrieve.text import identifiers  # noqa: E402

WORK = ROOT / "bench" / "_work"
PACKAGES = ("asyncio email json http logging concurrent importlib urllib xml unittest "
            "multiprocessing collections ctypes sqlite3 wsgiref xmlrpc").split()
MODEL_JSON = {
    "format_version": 1, "name": "eval", "family": "iquestcoder", "architecture": "dense",
    "prompt_format": {"fim": "iquest", "chat": "chatml"},
    "special_tokens": {"eos": "<|endoftext|>", "fim_prefix": "<|fim_prefix|>",
                       "fim_suffix": "<|fim_suffix|>", "fim_middle": "<|fim_middle|>",
                       "repo_name": "<|repo_name|>", "file_sep": "<|file_sep|>",
                       "im_start": "<|im_start|>", "im_end": "<|im_end|>", "bos": None,
                       "pad": None},
}
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|fim_prefix|>", "<|fim_suffix|>",
            "<|fim_middle|>", "<|repo_name|>", "<|file_sep|>"]
QWEN_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
              r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")


@dataclass(frozen=True)
class Task:
    """A blanked line in ``path`` whose gold definition starts at ``gold_line`` of ``gold_path``."""

    path: str
    line: int
    indent: str
    name: str
    gold_path: str
    gold_line: int
    gold_text: str


def stdlib_workspace() -> Path:
    """A copy of part of the standard library (made once under bench/_work)."""
    dst = WORK / "stdlib"
    if dst.exists():
        return dst
    src = Path(sysconfig.get_paths()["stdlib"])
    dst.mkdir(parents=True)
    for f in sorted(src.glob("*.py")):
        shutil.copy2(f, dst / f.name)
    for pkg in PACKAGES:
        shutil.copytree(src / pkg, dst / pkg,
                        ignore=shutil.ignore_patterns("test", "tests", "__pycache__"))
    return dst


def ts_workspace() -> tuple[Path | None, str]:
    """rxjs 7.8.2's TypeScript ``src/`` (as bench/index.py gets it: ``npm install`` into a temp
    dir), copied once under bench/_work; (None, why) when npm is missing or fails."""
    dst = WORK / "ts"
    if (dst / "rxjs" / "src").is_dir():
        return dst, "rxjs@7.8.2 src/"
    npm = shutil.which("npm")
    if npm is None:
        return None, "npm not found"
    with tempfile.TemporaryDirectory() as tmp:
        try:
            subprocess.run([npm, "install", "--no-audit", "--no-fund", "--silent",
                            "rxjs@7.8.2"], cwd=tmp, check=True, timeout=300,
                           capture_output=True)
        except (OSError, subprocess.SubprocessError) as exc:
            return None, f"npm install failed ({exc})"
        shutil.copytree(Path(tmp) / "node_modules" / "rxjs" / "src", dst / "rxjs" / "src")
    return dst, "rxjs@7.8.2 src/"


GO_PACKAGES = ("bufio bytes strings strconv io fmt sort errors unicode/utf8 encoding/json "
               "encoding/base64 encoding/binary encoding/csv net/url path path/filepath "
               "text/template text/template/parse compress/flate compress/gzip archive/tar "
               "archive/zip").split()


def go_workspace() -> tuple[Path | None, str]:
    """Part of the Go standard library's source (Debian's golang-src: ``/usr/share/go-*`` or
    ``/usr/lib/go-*``), without tests, with its ``go.mod`` (``module std``)."""
    dst = WORK / "go"
    if (dst / "go.mod").is_file():
        return dst, "Go standard library (" + ", ".join(GO_PACKAGES[:4]) + ", ...)"
    roots = sorted(Path("/usr/share").glob("go-*/src")) + sorted(Path("/usr/lib").glob("go*/src"))
    roots = [r for r in roots if (r / "go.mod").is_file()]
    if not roots:
        return None, "no Go source (apt-get install golang-src)"
    src = roots[-1]
    for pkg in GO_PACKAGES:
        for f in sorted((src / pkg).glob("*.go")):
            if not f.name.endswith("_test.go"):
                (dst / pkg).mkdir(parents=True, exist_ok=True)
                shutil.copy2(f, dst / pkg / f.name)
    shutil.copy2(src / "go.mod", dst / "go.mod")
    return dst, f"Go standard library ({src})"


RUST_CRATES = "clap itertools petgraph rayon regex regex-syntax serde syn".split()
"""Crates with multi-module trees, preferred (in this order) when present."""


def _crate_dirs(home: Path) -> list[Path]:
    def crate(c: Path) -> bool:
        return (c / "Cargo.toml").is_file() and any((c / "src" / f).is_file()
                                                    for f in ("lib.rs", "main.rs"))

    found = sorted(c for c in home.glob("*") if crate(c))
    return found or sorted(c for c in home.glob("*/*") if crate(c))


def _crate_name(c: Path) -> str:
    return re.sub(r"-\d+(?:\.\d+)*(?:[-+].*)?$", "", c.name)


def rust_workspace() -> tuple[Path | None, str]:
    """Up to 8 crates from $CODEFLOW_EVAL_CRATES, else ``~/.cargo/registry/src``, else
    ``/usr/share/cargo/registry`` (Debian's ``librust-*-dev`` packages: ``apt-get install
    librust-regex-dev librust-syn-dev librust-clap-dev ...``), those of RUST_CRATES first,
    copied once under bench/_work/rust; (None, why) when there are none."""
    dst = WORK / "rust"
    if dst.is_dir() and any(dst.iterdir()):
        return dst, "crates " + ", ".join(sorted(p.name for p in dst.iterdir()))
    homes = [os.environ["CODEFLOW_EVAL_CRATES"]] if os.environ.get("CODEFLOW_EVAL_CRATES") \
        else [str(Path.home() / ".cargo/registry/src"), "/usr/share/cargo/registry"]
    crates: list[Path] = []
    for home in homes:
        crates = _crate_dirs(Path(home))
        if crates:
            break
    if not crates:
        return None, "no crates under " + " or ".join(homes) + \
            " (apt-get install librust-regex-dev librust-syn-dev ...)"
    rank = {name: i for i, name in enumerate(RUST_CRATES)}
    latest = {_crate_name(c): c for c in crates}
    picked = sorted(latest.values(), key=lambda c: (rank.get(_crate_name(c), len(rank)),
                                                    c.name))[:8]
    for crate in picked:
        shutil.copytree(crate / "src", dst / crate.name / "src")
        shutil.copy2(crate / "Cargo.toml", dst / crate.name / "Cargo.toml")
    return dst, "crates " + ", ".join(c.name for c in picked)


def tokenizer_file(arg: str | None, corpus: Path) -> Path:
    """The tokenizer to count with: --tokenizer, the bundled model's, or one trained here."""
    if arg:
        return Path(arg)
    bundled = ROOT / "inference" / "models" / "default" / "tokenizer.json"
    if bundled.is_file():
        return bundled
    out = WORK / "tokenizer-8k.json"
    if not out.is_file():
        from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(QWEN_SPLIT), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(vocab_size=8192, special_tokens=SPECIALS,
                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                      show_progress=False)
        files = sorted(corpus.rglob("*.py"))[::3]
        tok.train_from_iterator((f.read_text("utf-8", "replace") for f in files), trainer)
        tok.save(str(out))
    return out


# -- tasks ------------------------------------------------------------------------------------

def _edges_by_line(index, path: str) -> dict[int, list]:
    out: dict[int, list] = {}
    for e in index.imports(path):
        if e.target:
            out.setdefault(e.line, []).append(e)
    return out


def _bindings(tree: ast.Module, edges: dict[int, list]) -> tuple[dict, dict]:
    """(name bindings alias → (target, name), module bindings alias → target)."""
    names, modules = {}, {}
    for node in tree.body:
        at = edges.get(node.lineno - 1, [])
        if isinstance(node, ast.ImportFrom) and at:
            for a in node.names:
                sub = [e for e in at if e.module.rsplit(".", 1)[-1] == a.name and
                       e.module.endswith("." + a.name)]
                if sub and not node.module:
                    modules[a.asname or a.name] = sub[0].target
                elif len(at) == 1:
                    names[a.asname or a.name] = (at[0].target, a.name)
        elif isinstance(node, ast.Import):
            for a in node.names:
                hit = [e for e in at if e.module == a.name]
                if hit and (a.asname or "." not in a.name):
                    modules[a.asname or a.name] = hit[0].target
    return names, modules


def _uses(stmt: ast.stmt, names: dict, modules: dict) -> list[tuple[str, str]]:
    out = []
    for node in ast.walk(stmt):
        if isinstance(node, ast.Name) and node.id in names:
            out.append(names[node.id])
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and \
                node.value.id in modules:
            out.append((modules[node.value.id], node.attr))
    return out


def _simple_lines(tree: ast.Module) -> list[ast.stmt]:
    out = []
    for fn in ast.walk(tree):
        if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            for stmt in ast.walk(fn):
                if isinstance(stmt, ast.Expr | ast.Assign | ast.AugAssign | ast.AnnAssign |
                              ast.Return | ast.Raise) and stmt.lineno == stmt.end_lineno:
                    out.append(stmt)
    return out


def make_tasks(index, n: int, per_file: int = 2, seed: int = 0) -> list[Task]:
    """Up to ``n`` tasks, at most ``per_file`` per module, sampled with a fixed seed."""
    by_file: dict[str, list[Task]] = {}
    for path in sorted(index.files()):
        text = index.file_text(path) or ""
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        names, modules = _bindings(tree, _edges_by_line(index, path))
        if not names and not modules:
            continue
        lines = text.splitlines()
        seen = set()
        for stmt in _simple_lines(tree):
            for target, name in _uses(stmt, names, modules):
                task = _task(index, path, lines, stmt.lineno - 1, target, name)
                if task and task.line not in seen:
                    seen.add(task.line)
                    by_file.setdefault(path, []).append(task)
    return _sample(by_file, n, per_file, seed)


def _sample(by_file: dict[str, list[Task]], n: int, per_file: int, seed: int) -> list[Task]:
    """At most ``per_file`` tasks of each file, shuffled with ``seed``, the first ``n``."""
    rng = random.Random(seed)
    picked: list[Task] = []
    for path in sorted(by_file):
        tasks = sorted(by_file[path], key=lambda t: (t.line, t.name))
        picked += rng.sample(tasks, min(per_file, len(tasks)))
    rng.shuffle(picked)
    return picked[:n]


def _task(index, path: str, lines: list[str], line: int, target: str, name: str) -> Task | None:
    if target == path:
        return None
    gold = [s for s in index.outline(target) if s.qualname == name]
    if not gold:
        return None
    gold_lines = (index.file_text(target) or "").splitlines()
    first = gold_lines[gold[0].start_line].strip() if gold[0].start_line < len(gold_lines) else ""
    if len(first) < 6:
        return None
    row = lines[line]
    return Task(path, line, row[: len(row) - len(row.lstrip())], name, target,
                gold[0].start_line, first)


# -- TypeScript tasks -------------------------------------------------------------------------
# The same construction: a one-line statement inside a function or method uses a name that the
# file imports (``import { a, b as c } from "spec"``); gold = the one top-level definition of
# that name in the workspace (names defined more than once are skipped: no resolver decides
# the gold).

_TS_IMPORT = re.compile(r"^import\s+(?:type\s+)?\{([^}]*)\}\s*from\s*['\"]([^'\"]+)['\"]",
                        re.M | re.S)
_TS_STMT = re.compile(r"^\s*(?:return\s|const\s|let\s|this\.|[A-Za-z_$][\w$.]*\s*[(=.])"
                      r".*;\s*$")


def _ts_imported(text: str) -> dict[str, str]:
    """Local name → imported name, for the named imports of ``text``."""
    out = {}
    for m in _TS_IMPORT.finditer(text):
        for part in m.group(1).split(","):
            bits = part.replace("type ", " ").split()
            if len(bits) == 1:
                out[bits[0]] = bits[0]
            elif len(bits) == 3 and bits[1] == "as":
                out[bits[2]] = bits[0]
    return out


def _unique_tops(index, files: list[str], kinds: tuple[str, ...]) -> dict[str, object]:
    tops: dict[str, list] = {}
    for path in files:
        for s in index.outline(path):
            if "." not in s.qualname and s.kind in kinds:
                tops.setdefault(s.name, []).append(s)
    return {n: v[0] for n, v in tops.items() if len({x.path for x in v}) == 1}


def make_ts_tasks(index, n: int, per_file: int = 2, seed: int = 0) -> list[Task]:
    """Up to ``n`` TypeScript tasks, at most ``per_file`` per file, with a fixed seed."""
    files = sorted(p for p in index.files() if p.endswith(".ts") and not p.endswith(".d.ts"))
    gold = _unique_tops(index, files, ("function", "class", "interface", "type", "enum",
                                       "variable"))
    by_file: dict[str, list[Task]] = {}
    for path in files:
        text = index.file_text(path) or ""
        imported = _ts_imported(text)
        if not imported:
            continue
        lines = text.splitlines()
        bodies = [(s.start_line, s.end_line) for s in index.outline(path)
                  if s.kind in ("function", "method") and s.end_line > s.start_line + 1]
        seen: set[int] = set()
        for start, end in bodies:
            for i in range(start + 1, end):
                row = lines[i]
                if i in seen or not _TS_STMT.match(row) or row.count("(") != row.count(")"):
                    continue
                for local in sorted(set(re.findall(r"[A-Za-z_$][\w$]*", row)) & set(imported)):
                    sym = gold.get(imported[local])
                    if sym is None or sym.path == path:
                        continue
                    task = _task(index, path, lines, i, sym.path, sym.qualname)
                    if task:
                        seen.add(i)
                        by_file.setdefault(path, []).append(task)
                        break
    return _sample(by_file, n, per_file, seed)


_TS_DECL = re.compile(r"\b([A-Za-z_$][\w$]*)\s*[?!]?\s*:\s*([A-Z][\w$]*)\b"
                      r"|\b([A-Za-z_$][\w$]*)\s*=\s*new\s+([A-Z][\w$]*)\b")


def make_ts_method_tasks(index, n: int, per_file: int = 2, seed: int = 0) -> list[Task]:
    """Receiver tasks: the line calls ``x.meth(`` (or ``this.x.meth(``) where the file declares
    ``x: Type`` or ``x = new Type(`` and ``Type`` is a workspace class defining ``meth``."""
    files = sorted(p for p in index.files() if p.endswith(".ts") and not p.endswith(".d.ts"))
    classes = _unique_tops(index, files, ("class",))
    by_file: dict[str, list[Task]] = {}
    for path in files:
        text = index.file_text(path) or ""
        types = {}
        for m in _TS_DECL.finditer(text):
            var, typ = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
            types.setdefault(var, typ)
        lines = text.splitlines()
        bodies = [(s.start_line, s.end_line) for s in index.outline(path)
                  if s.kind in ("function", "method") and s.end_line > s.start_line + 1]
        seen: set[int] = set()
        for start, end in bodies:
            for i in range(start + 1, end):
                row = lines[i]
                if i in seen or not _TS_STMT.match(row) or row.count("(") != row.count(")"):
                    continue
                for var, meth in re.findall(r"(?<![\w$])(?:this\.)?([A-Za-z_$][\w$]*)\."
                                            r"([A-Za-z_$][\w$]*)\(", row):
                    cls = classes.get(types.get(var, ""))
                    if cls is None or cls.path == path:
                        continue
                    task = _task(index, path, lines, i, cls.path, f"{cls.name}.{meth}")
                    if task:
                        seen.add(i)
                        by_file.setdefault(path, []).append(task)
                        break
    return _sample(by_file, n, per_file, seed)


# -- Go tasks ---------------------------------------------------------------------------------
# A one-line statement inside a function uses ``pkg.Name`` where ``pkg`` is an imported
# package of the workspace; gold = ``Name``'s definition among that package's files (the
# package folder is found from the import path and go.mod, the task generator's own reading).

_GO_IMPORT = re.compile(r'^\s*(?:import\s+)?([A-Za-z_]\w*|\.|_)?\s*"([^"]+)"\s*$')


def _go_imported(lines: list[str], module_dirs: dict[str, str]) -> dict[str, str]:
    """Local package name → package folder, for imports of workspace packages."""
    out, block = {}, False
    for line in lines:
        s = line.strip()
        if s.startswith("import ("):
            block = True
            continue
        if block and s == ")":
            block = False
            continue
        if block or s.startswith("import "):
            m = _GO_IMPORT.match(s)
            if m and m.group(2) in module_dirs and m.group(1) not in (".", "_"):
                out[m.group(1) or m.group(2).rsplit("/", 1)[-1]] = module_dirs[m.group(2)]
    return out


def make_go_tasks(index, n: int, per_file: int = 2, seed: int = 0) -> list[Task]:
    """Up to ``n`` Go tasks, at most ``per_file`` per file, with a fixed seed."""
    files = sorted(p for p in index.files() if p.endswith(".go"))
    pkgs = sorted({p.rsplit("/", 1)[0] for p in files if "/" in p})
    module_dirs = {d: d for d in pkgs}  # module std: import path = folder
    tops: dict[str, dict[str, list]] = {}
    for path in files:
        for sym in index.outline(path):
            if "." not in sym.qualname:
                tops.setdefault(path.rsplit("/", 1)[0], {}).setdefault(sym.name, []).append(sym)
    by_file: dict[str, list[Task]] = {}
    for path in files:
        text = index.file_text(path) or ""
        lines = text.splitlines()
        imported = _go_imported(lines, module_dirs)
        if not imported:
            continue
        bodies = [(s.start_line, s.end_line) for s in index.outline(path)
                  if s.kind in ("function", "method") and s.end_line > s.start_line + 1]
        seen: set[int] = set()
        for start, end in bodies:
            for i in range(start + 1, end):
                row = lines[i]
                if i in seen or row.rstrip().endswith(("{", ",", "(")) or \
                        row.count("(") != row.count(")") or row.lstrip().startswith("//"):
                    continue
                for alias, attr in re.findall(r"\b([a-z]\w*)\.([A-Z]\w*)", row):
                    found = tops.get(imported.get(alias, ""), {}).get(attr, [])
                    if len(found) != 1:
                        continue
                    task = _task(index, path, lines, i, found[0].path, attr)
                    if task:
                        seen.add(i)
                        by_file.setdefault(path, []).append(task)
                        break
    return _sample(by_file, n, per_file, seed)


_GO_DECL = re.compile(r"[(,]\s*([a-z_]\w*)\s+\*?(?:([a-z_]\w*)\.)?([A-Z]\w*)\s*[),]"
                      r"|\b([a-z_]\w*)\s*:=\s*&?(?:([a-z_]\w*)\.)?([A-Z]\w*)\s*\{")


def make_go_method_tasks(index, n: int, per_file: int = 2, seed: int = 0) -> list[Task]:
    """Receiver tasks: the line calls ``v.Meth(`` where the file declares ``v *T``, ``v
    pkg.T`` or ``v := &T{`` and ``T.Meth`` is defined in another file of T's package."""
    files = sorted(p for p in index.files() if p.endswith(".go"))
    pkgs = sorted({p.rsplit("/", 1)[0] for p in files if "/" in p})
    methods: dict[tuple[str, str], object] = {}
    for path in files:
        for sym in index.outline(path):
            if sym.kind == "method" and sym.qualname.count(".") == 1:
                methods.setdefault((path.rsplit("/", 1)[0], sym.qualname), sym)
    by_file: dict[str, list[Task]] = {}
    for path in files:
        text = index.file_text(path) or ""
        lines = text.splitlines()
        imported = _go_imported(lines, {d: d for d in pkgs})
        here = path.rsplit("/", 1)[0]
        types = {}
        for m in _GO_DECL.finditer(text):
            var, pkg, typ = m.group(1, 2, 3) if m.group(1) else m.group(4, 5, 6)
            folder = imported.get(pkg) if pkg else here
            if folder:
                types.setdefault(var, (folder, typ))
        bodies = [(s.start_line, s.end_line) for s in index.outline(path)
                  if s.kind in ("function", "method") and s.end_line > s.start_line + 1]
        seen: set[int] = set()
        for start, end in bodies:
            for i in range(start + 1, end):
                row = lines[i]
                if i in seen or row.rstrip().endswith(("{", ",", "(")) or \
                        row.count("(") != row.count(")") or row.lstrip().startswith("//"):
                    continue
                for var, meth in re.findall(r"\b([a-z_]\w*)\.([A-Z]\w*)\(", row):
                    folder, typ = types.get(var, ("", ""))
                    sym = methods.get((folder, f"{typ}.{meth}"))
                    if sym is None or sym.path == path:
                        continue
                    task = _task(index, path, lines, i, sym.path, sym.qualname)
                    if task:
                        seen.add(i)
                        by_file.setdefault(path, []).append(task)
                        break
    return _sample(by_file, n, per_file, seed)


# -- Rust tasks -------------------------------------------------------------------------------
# A one-line statement inside a function uses a name that a ``use`` declaration of the file
# brings in; gold = the one top-level definition of that name in the same crate.

_RUST_DECL = re.compile(r"^\s*(?:pub(?:\([^)]*\))?\s+)?(?:use|mod|extern\s+crate)\s")
"""``use``/``mod`` lines are not tasks (Python's tasks are not imports either)."""


def _rust_internal(index, module: str, path: str, crate_files: list[str]) -> bool:
    """Whether use path ``module`` in ``path`` names a module of the crate (not another crate):
    ``crate``/``self``/``super``, or a first segment that is a module file beside ``path``'s
    module or at the crate root, or a module the root declares."""
    first = module.split("::", 1)[0]
    if first in ("crate", "self", "super"):
        return True
    src = path.split("/src/")[0] + "/src"
    here = path[: -len(".rs")] if not path.endswith(("mod.rs", "lib.rs", "main.rs")) \
        else path.rsplit("/", 1)[0]
    for folder in (here, src):
        for f in (f"{folder}/{first}.rs", f"{folder}/{first}/mod.rs"):
            if f in crate_files:
                return True
    return any(re.search(rf"^\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+{first}\b",
                         index.file_text(f"{src}/{root}") or "", re.M)
               for root in ("lib.rs", "main.rs"))


def make_rust_tasks(index, n: int, per_file: int = 2, seed: int = 0) -> list[Task]:
    """Up to ``n`` Rust tasks, at most ``per_file`` per file, with a fixed seed."""
    from context.retrieve.rustimports import parse_rust_uses_at, rust_use_starts

    files = sorted(p for p in index.files() if p.endswith(".rs"))
    by_crate: dict[str, list[str]] = {}
    for path in files:
        by_crate.setdefault(path.split("/src/")[0], []).append(path)
    by_file: dict[str, list[Task]] = {}
    for crate_files in by_crate.values():
        gold = _unique_tops(index, crate_files, ("function", "struct", "enum", "type", "class",
                                                 "interface", "variable", "trait"))
        for path in crate_files:
            text = index.file_text(path) or ""
            lines = text.splitlines()
            imported = {b.alias: b.name for b in
                        parse_rust_uses_at(lines, rust_use_starts(lines))
                        if b.name and _rust_internal(index, b.module, path, crate_files)}
            seen: set[int] = set()
            for _, i in _rust_statement_lines(index, path, lines):
                row = lines[i]
                if i in seen:
                    continue
                for local in sorted(set(re.findall(r"[A-Za-z_]\w*", row)) & set(imported)):
                    sym = gold.get(imported[local])
                    if sym is None or sym.path == path:
                        continue
                    task = _task(index, path, lines, i, sym.path, sym.qualname)
                    if task:
                        seen.add(i)
                        by_file.setdefault(path, []).append(task)
                        break
    return _sample(by_file, n, per_file, seed)


def _rust_statement_lines(index, path: str, lines: list[str]):
    """(function start, line) for each one-line statement (``;``-ended, balanced parentheses,
    not a declaration or a comment) inside a function body of ``path``."""
    for sym in index.outline(path):
        if sym.kind not in ("function", "method") or sym.end_line <= sym.start_line + 1:
            continue
        for i in range(sym.start_line + 1, sym.end_line):
            row = lines[i]
            if row.rstrip().endswith(";") and not _RUST_DECL.match(row) and \
                    row.count("(") == row.count(")") and not row.lstrip().startswith("//"):
                yield sym.start_line, i


_RUST_TYPED = re.compile(
    r"\b([a-z_]\w*)\s*:\s*&?(?:'\w+\s+)?(?:mut\s+)?(?:[a-z_]\w*::)*([A-Z]\w*)"
    r"|\blet\s+(?:mut\s+)?([a-z_]\w*)\s*=\s*&?(?:[a-z_]\w*::)*([A-Z]\w*)\s*(?:::\s*\w+\s*\(|\{)")


def make_rust_method_tasks(index, n: int, per_file: int = 2, seed: int = 0) -> list[Task]:
    """Receiver tasks: the line calls ``v.meth(`` where the function declares ``v: T`` before
    it (a local, a parameter: ``&T``, ``&mut T``, ``path::T``) or ``let v = T::new(..)``/``T
    {`` and ``T.meth`` is a method of the crate's one type ``T``, defined in another file."""
    files = sorted(p for p in index.files() if p.endswith(".rs"))
    by_crate: dict[str, list[str]] = {}
    for path in files:
        by_crate.setdefault(path.split("/src/")[0], []).append(path)
    by_file: dict[str, list[Task]] = {}
    for crate_files in by_crate.values():
        types = _unique_tops(index, crate_files, ("struct", "enum", "interface", "class"))
        methods: dict[str, list] = {}
        for path in crate_files:
            for sym in index.outline(path):
                if sym.kind == "method" and sym.qualname.count(".") == 1:
                    methods.setdefault(sym.qualname, []).append(sym)
        for path in crate_files:
            text = index.file_text(path) or ""
            lines = text.splitlines()
            seen: set[int] = set()
            for start, i in _rust_statement_lines(index, path, lines):
                row = lines[i]
                if i in seen:
                    continue
                declared = {}  # the function's declarations before the line, last wins
                for m in _RUST_TYPED.finditer("\n".join(
                        x for x in lines[start:i] if not x.lstrip().startswith("//"))):
                    var, typ = m.group(1, 2) if m.group(1) else m.group(3, 4)
                    declared[var] = typ
                for var, meth in re.findall(r"\b([a-z_]\w*)\.([a-z_]\w*)\(", row):
                    typ = declared.get(var, "")
                    found = methods.get(f"{typ}.{meth}", []) if typ in types else []
                    if len(found) != 1 or found[0].path == path:
                        continue
                    task = _task(index, path, lines, i, found[0].path, found[0].qualname)
                    if task:
                        seen.add(i)
                        by_file.setdefault(path, []).append(task)
                        break
    return _sample(by_file, n, per_file, seed)


# -- scoring ----------------------------------------------------------------------------------

def blanked(index, task: Task) -> str:
    lines = (index.file_text(task.path) or "").splitlines(keepends=True)
    lines[task.line] = task.indent + "\n"
    return "".join(lines)


def hit_sections(prompt, task: Task) -> bool:
    return any(s.path == task.gold_path and task.gold_text in
               {x.strip() for x in s.text.splitlines()} for s in prompt.sections
               if s.kind not in ("prefix", "suffix", "format"))


def cross_chars(prompt, task: Task) -> int:
    return sum(len(s.text) for s in prompt.sections
               if s.path and s.path != task.path and s.kind not in ("prefix", "suffix"))


class Baseline:
    """RepoCoder's sparse retrieval: Jaccard over 20-line windows of the other files."""

    def __init__(self, index) -> None:
        self.pool = []
        for path in sorted(index.files()):
            self.pool += windows(path, index.file_text(path) or "", 20, 10)

    def hit(self, text: str, task: Task, chars: int) -> bool:
        lines = text.splitlines()
        query = identifiers("\n".join(lines[max(0, task.line - 10) : task.line]))
        pool = [w for w in self.pool if w.path != task.path]
        for _, w in jaccard_top(query, pool, 200):
            if chars <= 0:
                break
            body = w.text[:chars]
            chars -= len(w.text)
            if w.path == task.gold_path and task.gold_text in {x.strip() for x in
                                                               body.splitlines()}:
                return True
        return False


def assembler(index, tok: Path, weights: dict[str, float] | None = None) -> Assembler:
    cfg = AssemblerConfig(repo_name="stdlib")
    if weights is not None:
        cfg = cfg.with_weights("completion", **weights)
    return Assembler(index, None, tok, MODEL_JSON, config=cfg)


def run_config(index, asm: Assembler, tasks: list[Task], budget: int,
               baseline: Baseline | None = None) -> dict:
    hits = base_hits = overruns = 0
    times, chars = [], []
    for task in tasks:
        text = blanked(index, task)
        index.update_buffer(task.path, text)
        start = time.perf_counter()
        prompt = asm.build(PromptRequest(task.path, text, task.line, len(task.indent), budget))
        times.append((time.perf_counter() - start) * 1000.0)
        index.close_buffer(task.path)
        hits += hit_sections(prompt, task)
        overruns += prompt.prompt_tokens > budget
        chars.append(cross_chars(prompt, task))
        if baseline is not None:
            base_hits += baseline.hit(text, task, chars[-1])
    out = {"recall": hits / len(tasks), "p50_ms": statistics.median(times),
           "p90_ms": sorted(times)[int(0.9 * (len(times) - 1))],
           "cross_chars_mean": statistics.mean(chars), "overruns": overruns}
    if baseline is not None:
        out["baseline_recall"] = base_hits / len(tasks)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", type=int, default=300)
    ap.add_argument("--tokenizer")
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--no-ablation", action="store_true")
    ap.add_argument("--timing-tasks", type=int, default=40,
                    help="tasks timed at 128K (0: none, and no ablation)")
    ap.add_argument("--budgets", default="2048,8192",
                    help="Python recall at these budgets (comma-separated)")
    ap.add_argument("--languages", default=",".join(LANGUAGES),
                    help="comma-separated, of: " + ", ".join(LANGUAGES))
    ap.add_argument("--lang-tasks", type=int, default=150,
                    help="tasks per language other than Python")
    args = ap.parse_args()
    os.environ.setdefault("CODEFLOW_CACHE_DIR", str(WORK / "cache"))
    results: dict = {}
    for lang in args.languages.split(","):
        if lang == "python":
            python_eval(args, results)
        else:
            lang_eval(lang, args, results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2), "utf-8")
    return 0


LANGUAGES = ("python", "typescript", "go", "rust")


def lang_eval(lang: str, args, results: dict) -> None:
    """Recall at 2K and 8K (with the baseline) and assembly time for one other language."""
    from context.index import WorkspaceIndex

    ws, note = {"typescript": ts_workspace, "go": go_workspace, "rust": rust_workspace}[lang]()
    if ws is None:
        print(f"[{lang}] skipped: {note}")
        return
    tok = tokenizer_file(args.tokenizer, stdlib_workspace())
    index = WorkspaceIndex(ws)
    stats = index.refresh()
    make = {"typescript": make_ts_tasks, "go": make_go_tasks, "rust": make_rust_tasks}[lang]
    tasks = make(index, args.lang_tasks)
    print(f"[{lang}] corpus {note}: {stats.files} files, {stats.symbols} symbols; "
          f"{len(tasks)} tasks")
    if not tasks:
        index.close()
        return
    baseline = Baseline(index)
    full = assembler(index, tok)
    for budget in (2048, 8192):
        r = run_config(index, full, tasks, budget, baseline)
        results[f"{lang}:full@{budget}"] = r
        print(f"[{lang}] budget {budget:>5}: recall {r['recall']:.3f}  baseline "
              f"{r['baseline_recall']:.3f}  p50 {r['p50_ms']:.1f} ms  p90 {r['p90_ms']:.1f} ms"
              f"  cross-file chars {r['cross_chars_mean']:.0f}  overruns {r['overruns']}")
    method_tasks = {"typescript": make_ts_method_tasks, "go": make_go_method_tasks,
                    "rust": make_rust_method_tasks}.get(lang)
    if method_tasks is not None:
        methods = method_tasks(index, args.lang_tasks)
        for budget in (2048, 8192):
            r = run_config(index, full, methods, budget)
            results[f"{lang}:methods@{budget}"] = r
            print(f"[{lang}] receiver methods ({len(methods)} tasks) budget {budget:>5}: "
                  f"recall {r['recall']:.3f}  p50 {r['p50_ms']:.1f} ms  overruns {r['overruns']}")
    index.close()


def python_eval(args, results: dict) -> None:
    """The Python evaluation: recall at 2K/8K, timing at 128K, ablation."""
    from context.index import WorkspaceIndex

    ws = stdlib_workspace()
    tok = tokenizer_file(args.tokenizer, ws)
    index = WorkspaceIndex(ws)
    stats = index.refresh()
    tasks = make_tasks(index, args.tasks)
    print(f"[python] corpus {ws}: {stats.files} files, {stats.symbols} symbols; "
          f"{len(tasks)} tasks; tokenizer {tok}")
    baseline = Baseline(index)
    results.update({"tasks": len(tasks), "tokenizer": str(tok)})
    full = assembler(index, tok)
    for budget in (int(b) for b in args.budgets.split(",")):
        r = run_config(index, full, tasks, budget, baseline)
        results[f"full@{budget}"] = r
        print(f"[python] budget {budget:>5}: recall {r['recall']:.3f}  baseline "
              f"{r['baseline_recall']:.3f}  p50 {r['p50_ms']:.1f} ms  p90 {r['p90_ms']:.1f} ms"
              f"  cross-file chars {r['cross_chars_mean']:.0f}  overruns {r['overruns']}")
    if args.timing_tasks <= 0:
        index.close()
        return
    r = run_config(index, full, tasks[: args.timing_tasks], 131072)
    results["full@131072"] = r
    print(f"budget 131072: recall {r['recall']:.3f}  p50 {r['p50_ms']:.1f} ms  "
          f"p90 {r['p90_ms']:.1f} ms  ({args.timing_tasks} tasks)")
    warm = run_config(index, full, tasks[: args.timing_tasks], 131072)
    results["full@131072_warm"] = warm
    print(f"budget 131072 again (retrieval cached): p50 {warm['p50_ms']:.1f} ms")
    if not args.no_ablation:
        ablation(index, tok, tasks, results)
    index.close()


def ablation(index, tok: Path, tasks: list[Task], results: dict) -> None:
    base = dict(AssemblerConfig().completion.weights)
    for source in SOURCES:
        alone = {s: (w if s == source else 0.0) for s, w in base.items()}
        loo = {**base, source: 0.0}
        a = run_config(index, assembler(index, tok, alone), tasks, 2048)["recall"]
        b = run_config(index, assembler(index, tok, loo), tasks, 2048)["recall"]
        results[f"alone:{source}@2048"], results[f"without:{source}@2048"] = a, b
        print(f"  {source:<12} alone {a:.3f}   without {b:.3f}   (2K)")


if __name__ == "__main__":
    sys.exit(main())
