"""Parsers for git's machine output: ``log -z --numstat``, unified diffs, ``blame --porcelain``.

Pure functions over bytes/str, no I/O, so they are easy to test and to feed from a stream.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

__all__ = [
    "LOG_FORMAT",
    "RECORD_SEP",
    "BlameLine",
    "DiffFile",
    "LogRecord",
    "NumstatEntry",
    "RawHunk",
    "parse_blame",
    "parse_diff",
    "parse_log_record",
    "split_records",
    "unquote_path",
]

RECORD_SEP = b"\x1e"
LOG_FORMAT = "--format=%x1e%H %P%x00%an%x00%at%x00%B"

_HUNK_RE = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_ESCAPES = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}


@dataclass(frozen=True)
class NumstatEntry:
    path: str
    old_path: str
    added: int
    removed: int
    binary: bool


@dataclass(frozen=True)
class LogRecord:
    sha: str
    parents: tuple[str, ...]
    author: str
    author_time: int
    message: str
    files: tuple[NumstatEntry, ...]


@dataclass(frozen=True)
class RawHunk:
    old_start: int
    old_lines: int
    new_start: int
    new_lines: int
    text: str


@dataclass(frozen=True)
class DiffFile:
    """One file of a diff: paths (``/dev/null`` sides resolved), binary flag and hunks."""

    path: str
    old_path: str
    binary: bool
    hunks: tuple[RawHunk, ...]


@dataclass(frozen=True)
class BlameLine:
    sha: str
    final_line: int  # 1-based
    author: str
    author_time: int
    summary: str
    orig_line: int = 0  # 1-based, in the blamed commit's version of the file
    boundary: bool = False  # blamed on the boundary of a ``A..B`` blame
    orig_path: str = ""  # the file's path in the blamed commit


def split_records(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Split a stream of ``git log`` output into records (without the separator)."""
    pending = b""
    for chunk in chunks:
        pending += chunk
        parts = pending.split(RECORD_SEP)
        pending = parts.pop()
        for part in parts:
            if part:
                yield part
    if pending:
        yield pending


def parse_log_record(raw: bytes) -> LogRecord | None:
    """Parse one ``LOG_FORMAT`` record with ``-z --numstat``; None when it is malformed."""
    tokens = raw.decode("utf-8", "replace").split("\0")
    if len(tokens) < 4:
        return None
    shas = tokens[0].split()
    if not shas or len(shas[0]) < 40:
        return None
    try:
        when = int(tokens[2])
    except ValueError:
        when = 0
    files = tuple(_numstat(tokens[4:]))
    return LogRecord(shas[0], tuple(shas[1:]), tokens[1], when, tokens[3], files)


def _numstat(tokens: list[str]) -> Iterator[NumstatEntry]:
    i = 0
    while i < len(tokens):
        token = tokens[i].lstrip("\n")
        i += 1
        if not token:
            continue
        fields = token.split("\t", 2)
        if len(fields) != 3:
            continue
        added, removed, path = fields
        old_path = path
        if not path:  # rename: "a\tr\t\0old\0new\0"
            if i + 1 >= len(tokens):
                break
            old_path, path = tokens[i], tokens[i + 1]
            i += 2
            if not path:
                continue
        binary = added == "-" or removed == "-"
        yield NumstatEntry(
            path,
            old_path,
            0 if binary else _int(added),
            0 if binary else _int(removed),
            binary,
        )


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return 0


def unquote_path(text: str) -> str:
    """Undo git's C-style quoting of a path (``"a\\tb"``); plain paths come back unchanged."""
    if len(text) < 2 or text[0] != '"' or text[-1] != '"':
        return text
    body = text[1:-1]
    out = bytearray()
    i = 0
    while i < len(body):
        ch = body[i]
        if ch != "\\" or i + 1 >= len(body):
            out += ch.encode("utf-8")
            i += 1
            continue
        nxt = body[i + 1]
        if nxt in _ESCAPES:
            out.append(_ESCAPES[nxt])
            i += 2
        elif body[i + 1 : i + 4].isdigit() and len(body[i + 1 : i + 4]) == 3:
            out.append(int(body[i + 1 : i + 4], 8) & 0xFF)
            i += 4
        else:
            out += nxt.encode("utf-8")
            i += 2
    return out.decode("utf-8", "replace")


def _strip_side(text: str) -> str | None:
    path = unquote_path(text.rstrip("\t"))
    if path == "/dev/null":
        return None
    return path[2:] if path[:2] in ("a/", "b/") else path


def _git_line_paths(line: str) -> tuple[str, str]:
    """Paths from ``diff --git a/X b/X`` (only reliable when both sides are equal)."""
    rest = line[len("diff --git ") :]
    if rest.startswith('"'):
        end = rest.find('" ', 1)
        old = _strip_side(rest[: end + 1]) or ""
        new = _strip_side(rest[end + 2 :]) or ""
        return old, new
    half = (len(rest) - 1) // 2
    if rest[half] == " " and rest[2:half] == rest[half + 3 :]:
        path = rest[2:half]
        return path, path
    old, _, new = rest.partition(" b/")
    return old[2:], new


class _FileBuilder:
    def __init__(self, line: str) -> None:
        self.old_path, self.path = _git_line_paths(line)
        self.minus: str | None = self.old_path
        self.plus: str | None = self.path
        self.binary = False
        self.hunks: list[RawHunk] = []
        self.header: tuple[int, int, int, int] | None = None
        self.body: list[str] = []

    def header_line(self, line: str) -> None:
        if line.startswith("rename from "):
            self.old_path = unquote_path(line[12:])
            self.minus = self.old_path
        elif line.startswith("rename to "):
            self.path = unquote_path(line[10:])
            self.plus = self.path
        elif line.startswith("--- "):
            self.minus = _strip_side(line[4:])
        elif line.startswith("+++ "):
            self.plus = _strip_side(line[4:])
        elif line.startswith("Binary files ") or line == "GIT binary patch":
            self.binary = True

    def flush_hunk(self) -> None:
        if self.header is not None:
            self.hunks.append(RawHunk(*self.header, "\n".join(self.body) + "\n"))
        self.header = None
        self.body = []

    def start_hunk(self, line: str) -> bool:
        m = _HUNK_RE.match(line)
        if m is None:
            return False
        self.flush_hunk()
        a, b, c, d = m.groups()
        self.header = (int(a), 1 if b is None else int(b), int(c), 1 if d is None else int(d))
        self.body = [line]
        return True

    def build(self) -> DiffFile:
        self.flush_hunk()
        new = self.plus if self.plus is not None else self.minus
        old = self.minus if self.minus is not None else self.plus
        return DiffFile(new or self.path, old or self.old_path, self.binary, tuple(self.hunks))


def parse_diff(text: str) -> Iterator[tuple[str | None, DiffFile]]:
    """Parse ``git diff``/``diff-tree -p`` output into (commit id or None, file) pairs.

    Commit id lines (as printed by ``diff-tree --stdin``) set the commit for the files after them.
    """
    commit: str | None = None
    current: _FileBuilder | None = None
    in_hunk = False
    for line in text.split("\n"):
        if line.startswith("diff --git "):
            if current is not None:
                yield commit, current.build()
            current = _FileBuilder(line)
            in_hunk = False
        elif current is None or (not in_hunk and _is_sha(line)):
            if _is_sha(line):
                if current is not None:
                    yield commit, current.build()
                    current = None
                commit = line[:40]
        elif line.startswith("@@ ") and current.start_hunk(line):
            in_hunk = True
        elif in_hunk and line[:1] in (" ", "+", "-", "\\"):
            current.body.append(line)
        elif in_hunk and _is_sha(line):
            yield commit, current.build()
            current = None
            in_hunk = False
            commit = line[:40]
        elif not in_hunk:
            current.header_line(line)
    if current is not None:
        yield commit, current.build()


def _is_sha(line: str) -> bool:
    return len(line) == 40 and all(c in "0123456789abcdef" for c in line)


_SHA = re.compile(r"[0-9a-f]{40}")


def parse_blame(text: str) -> list[BlameLine]:
    """Parse ``git blame --porcelain`` output into one entry per final line."""
    info: dict[str, dict[str, object]] = {}
    lines: list[BlameLine] = []
    sha = ""
    final = orig = 0
    for line in text.split("\n"):
        if line.startswith("\t"):
            d = info.get(sha, {})
            lines.append(BlameLine(sha, final, str(d.get("author", "")),
                                   int(d.get("author-time", 0)), str(d.get("summary", "")),
                                   orig, bool(d.get("boundary")), str(d.get("filename", ""))))
            continue
        head, _, rest = line.partition(" ")
        if len(head) == 40 and _SHA.fullmatch(head):
            sha = head
            parts = rest.split()
            orig = int(parts[0]) if parts and parts[0].isdigit() else orig + 1
            final = int(parts[1]) if len(parts) >= 2 and parts[1].isdigit() else final + 1
            info.setdefault(sha, {})
        elif head in ("author", "summary", "filename"):
            info.setdefault(sha, {})[head] = rest
        elif head == "author-time":
            info.setdefault(sha, {})[head] = _int(rest)
        elif head == "boundary":
            info.setdefault(sha, {})[head] = True
    return lines
