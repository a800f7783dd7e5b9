"""Python import statements read from a buffer and resolved to workspace files.

The index records import edges, but a keystroke needs the *names* each statement binds (and the
buffer may be newer than the index), so the statements are read here with a small tolerant
parser over logical lines; resolution follows Python's rules (absolute from the workspace root
or a ``src/`` dir, relative from the importing file's package).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from posixpath import dirname, join, normpath

from .text import lines_of

__all__ = ["Binding", "import_starts", "parse_imports", "parse_imports_at", "resolve_module"]

_FROM = re.compile(r"^\s*from\s+(\.*[\w.]*)\s+import\s+(.+)$", re.S)
_IMPORT = re.compile(r"^\s*import\s+(.+)$", re.S)
_NAME = re.compile(r"^([\w.]+|\*)(?:\s+as\s+(\w+))?$")


@dataclass(frozen=True)
class Binding:
    """A local name bound by an import: ``alias`` → ``name`` of ``module`` (None: the module)."""

    alias: str
    module: str
    name: str | None
    line: int


_ENDS = "\r\n"
"""Line ends of the LSP line model (stripped from lines split with their ends kept)."""


def import_starts(lines: Sequence[str]) -> list[int]:
    """Indices of the lines that start an import statement."""
    return [i for i, line in enumerate(lines) if line.lstrip().startswith(("import ", "from "))]


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Import statements as (first line, joined text); other lines are skipped."""
    lines = [line.rstrip("\r\n") for line in lines_of(text)]
    return _statements(lines, import_starts(lines))


def _statements(lines: Sequence[str], starts: Sequence[int]) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    for i in starts:
        line = lines[i]
        buf, j = line, i
        while (buf.count("(") > buf.count(")") or buf.rstrip().endswith("\\")) and j + 1 < len(
            lines
        ):
            j += 1
            buf = buf.rstrip().rstrip("\\") + " " + lines[j]
        out.append((i, buf))
    return out


def _names(spec: str) -> list[tuple[str, str | None]]:
    spec = spec.split("#", 1)[0].replace("(", " ").replace(")", " ")
    out = []
    for part in spec.split(","):
        m = _NAME.match(part.strip())
        if m:
            out.append((m.group(1), m.group(2)))
    return out


def parse_imports(text: str) -> list[Binding]:
    """Every import binding in ``text``, in order (``import a.b`` binds the dotted ``a.b``)."""
    return _bindings(_logical_lines(text))


def parse_imports_at(lines: Sequence[str], starts: Sequence[int]) -> list[Binding]:
    """``parse_imports`` of the text that ``lines`` (split with ``keepends``) make, given the
    lines that start import statements (``import_starts``, which a caller may cache)."""
    return _bindings(_statements(_Stripped(lines), starts))


class _Stripped(Sequence[str]):
    """Lines without their line ends, stripped on access."""

    def __init__(self, lines: Sequence[str]) -> None:
        self.lines = lines

    def __len__(self) -> int:
        return len(self.lines)

    def __getitem__(self, i: int) -> str:  # type: ignore[override]
        return self.lines[i].rstrip(_ENDS)


def _bindings(statements: list[tuple[int, str]]) -> list[Binding]:
    out: list[Binding] = []
    for line, stmt in statements:
        if "import" not in stmt:
            continue
        m = _FROM.match(stmt)
        if m:
            module = m.group(1)
            for name, alias in _names(m.group(2)):
                if name != "*":
                    out.append(Binding(alias or name, module, name, line))
            continue
        m = _IMPORT.match(stmt)
        if m:
            for name, alias in _names(m.group(1)):
                out.append(Binding(alias or name, name, None, line))
    return out


def _candidates(base: str) -> tuple[str, str]:
    return f"{base}.py", f"{base}/__init__.py"


def resolve_module(module: str, from_path: str, files: Collection[str]) -> str | None:
    """The workspace file that ``module`` (maybe relative: ``..pkg.mod``) names, or None."""
    dots = len(module) - len(module.lstrip("."))
    rest = module[dots:].replace(".", "/")
    if dots:
        base = dirname(from_path)
        for _ in range(dots - 1):
            base = dirname(base)
        path = normpath(join(base, rest)) if rest else base
        roots = [path]
    else:
        roots = [rest, f"src/{rest}"]
        parts = from_path.split("/")
        roots += ["/".join(parts[:i] + [rest]) for i in range(1, len(parts))]
    for root in roots:
        for cand in _candidates(root.lstrip("./") if root not in ("", ".") else "__init__"):
            if cand in files:
                return cand
    return None
