"""gitignore semantics: patterns, negation, directory-only and anchored rules, nested files.

A reasonable subset of gitignore(5): ``#`` comments, ``!`` negation, trailing ``/`` (directories
only), a ``/`` at the start or middle anchors the pattern to its file's directory, ``*``, ``?``,
``[...]`` and ``**`` (any number of directories). The last matching rule wins; a path inside an
ignored directory is ignored (the walker never descends into it). The same pattern language is
used for the user's ``exclude`` globs.
"""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

__all__ = ["GitIgnore", "Rule", "compile_rule", "matches_any", "parse_lines"]


@dataclass(frozen=True)
class Rule:
    """One pattern: ``base`` is the directory (workspace-relative, "" = root) it applies under."""

    base: str
    regex: re.Pattern[str]
    negate: bool
    dir_only: bool


def _translate(glob: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(glob):
        ch = glob[i]
        if glob.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if glob.startswith("/**", i) and i + 3 == len(glob):
            out.append("/.*")
            i += 3
            continue
        if glob.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if ch == "*":
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "[":
            end = glob.find("]", i + 1)
            if end == -1:
                out.append(re.escape(ch))
            else:
                body = glob[i + 1:end].replace("\\", "\\\\")
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append(f"[{body}]")
                i = end
        elif ch == "\\" and i + 1 < len(glob):
            i += 1
            out.append(re.escape(glob[i]))
        else:
            out.append(re.escape(ch))
        i += 1
    return "".join(out)


def compile_rule(line: str, base: str = "") -> Rule | None:
    """One gitignore line -> a rule, or None for blanks and comments."""
    line = line.rstrip("\n").rstrip("\r")
    if not line.endswith("\\ "):
        line = line.rstrip(" ")
    if not line or line.startswith("#"):
        return None
    negate = line.startswith("!")
    if negate:
        line = line[1:]
    elif line.startswith("\\!") or line.startswith("\\#"):
        line = line[1:]
    dir_only = line.endswith("/")
    line = line.rstrip("/")
    if not line:
        return None
    anchored = "/" in line
    line = line.lstrip("/")
    prefix = "" if anchored else "(?:.*/)?"
    regex = re.compile(f"^{prefix}{_translate(line)}$", re.DOTALL)
    return Rule(base, regex, negate, dir_only)


def parse_lines(lines: list[str], base: str = "") -> list[Rule]:
    """All rules of a gitignore file's lines."""
    return [rule for rule in (compile_rule(line, base) for line in lines) if rule is not None]


def _relative(rule: Rule, rel: str) -> str | None:
    if not rule.base:
        return rel
    if rel.startswith(rule.base + "/"):
        return rel[len(rule.base) + 1:]
    return None


def decide(rules: list[Rule], rel: str, is_dir: bool) -> bool | None:
    """True = ignored, False = re-included, None = no rule matched."""
    verdict: bool | None = None
    for rule in rules:
        if rule.dir_only and not is_dir:
            continue
        sub = _relative(rule, rel)
        if sub is not None and rule.regex.match(sub):
            verdict = not rule.negate
    return verdict


def matches_any(rules: list[Rule], rel: str, is_dir: bool = False) -> bool:
    """Whether a path (or any of its parent directories) is matched by the rules."""
    parts = rel.split("/")
    for i in range(1, len(parts)):
        if decide(rules, "/".join(parts[:i]), True):
            return True
    return bool(decide(rules, rel, is_dir))


class GitIgnore:
    """A workspace's gitignore rules: ``.git/info/exclude``, root and nested ``.gitignore``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._root_rules = self._read(root / ".git" / "info" / "exclude", "")

    def _read(self, path: Path, base: str) -> list[Rule]:
        try:
            text = path.read_text("utf-8", errors="replace")
        except FileNotFoundError:
            return []
        except OSError as exc:
            log.warning("cannot read %s: %s", path, exc)
            return []
        return parse_lines(text.splitlines(), base)

    @functools.lru_cache(maxsize=4096)  # noqa: B019 - one GitIgnore per index, cleared on change
    def rules_for_dir(self, rel_dir: str) -> tuple[Rule, ...]:
        """All rules that apply inside a directory (its own file and its parents')."""
        if rel_dir == "":
            return tuple(self._root_rules) + tuple(self._read(self.root / ".gitignore", ""))
        parent = rel_dir.rsplit("/", 1)[0] if "/" in rel_dir else ""
        own = self._read(self.root / rel_dir / ".gitignore", rel_dir)
        return self.rules_for_dir(parent) + tuple(own)

    def ignored(self, rel: str, is_dir: bool = False) -> bool:
        """Whether a workspace-relative path is ignored (checking its parent directories too)."""
        parts = rel.split("/")
        for i in range(1, len(parts)):
            parent = "/".join(parts[: i - 1])
            if decide(list(self.rules_for_dir(parent)), "/".join(parts[:i]), True):
                return True
        parent = "/".join(parts[:-1])
        return bool(decide(list(self.rules_for_dir(parent)), rel, is_dir))

    def clear(self) -> None:
        """Forget cached rules (a .gitignore changed)."""
        self.rules_for_dir.cache_clear()
