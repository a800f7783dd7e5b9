"""The weighted file graph for PageRank: files linked by the identifiers they share.

An edge goes from a file that references a name to each file (of the same language family) that
defines it, weighted like aider's repo map: ``sqrt(count)``, more for long specific names, less
for private names and names many files define, split among the definers. Names defined in more
than ``MAX_DEFINERS`` files carry almost no signal and are left out (they would make the graph
quadratic). Import edges are added by the caller. The graph is built once and then updated per
file when an open buffer changes (that file's out-edges and the name owners are refreshed; edges
into it from other files are refreshed at the next full build).
"""

from __future__ import annotations

import math
import sqlite3
from collections import defaultdict

__all__ = ["MAX_DEFINERS", "IdentifierGraph"]

MAX_DEFINERS = 25

# Languages whose files can use each other's names.
_FAMILY = {"typescript": "js", "tsx": "js", "javascript": "js", "c": "c", "cpp": "c"}

_Key = tuple[str, str]  # (language family, name)


def name_weight(name: str, definers: int) -> float:
    """How much one shared name links two files (before ``sqrt(count)``)."""
    weight = 1.0
    mixed_case = name.lower() != name and name.upper() != name
    if len(name) >= 8 and ("_" in name.strip("_") or mixed_case):
        weight *= 2.0
    if name.startswith("_"):
        weight *= 0.1
    if definers > 5:
        weight *= 0.1
    return weight / definers


class IdentifierGraph:
    """Shared-identifier edges between files, by file id, with what is needed to update them."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.paths: dict[int, str] = {}
        self.family: dict[int, str] = {}
        for fid, path, language in conn.execute("SELECT id, path, language FROM idx_files"):
            self.paths[int(fid)] = path
            self.family[int(fid)] = _FAMILY.get(language, language)
        self.definers: dict[_Key, set[int]] = defaultdict(set)
        self.names_of: dict[int, set[_Key]] = defaultdict(set)
        for fid, name in conn.execute("SELECT file_id, name FROM idx_defs WHERE kind != 'impl'"):
            key = (self.family.get(int(fid), ""), name)
            self.definers[key].add(int(fid))
            self.names_of[int(fid)].add(key)
        self.edges: dict[int, dict[int, float]] = defaultdict(dict)
        for fid, name, count in conn.execute("SELECT file_id, name, count FROM idx_refs"):
            self._add(fid, name, count)

    def _add(self, fid: int, name: str, count: int) -> None:
        owners = self.definers.get((self.family.get(fid, ""), name))
        if not owners or len(owners) > MAX_DEFINERS:
            return
        weight = math.sqrt(count) * name_weight(name, len(owners))
        row = self.edges[fid]
        for owner in owners:
            if owner != fid:
                row[owner] = row.get(owner, 0.0) + weight

    def update_file(self, conn: sqlite3.Connection, fid: int) -> None:
        """Re-read one file's definitions and references (its out-edges and name owners)."""
        for key in self.names_of.pop(fid, set()):
            self.definers[key].discard(fid)
        family = self.family.get(fid, "")
        for (name,) in conn.execute(
            "SELECT DISTINCT name FROM idx_defs WHERE file_id = ? AND kind != 'impl'", (fid,)
        ):
            self.definers[(family, name)].add(fid)
            self.names_of[fid].add((family, name))
        self.edges[fid] = {}
        for name, count in conn.execute(
            "SELECT name, count FROM idx_refs WHERE file_id = ?", (fid,)
        ):
            self._add(fid, name, int(count))

    def by_path(self) -> dict[str, dict[str, float]]:
        """The edges keyed by workspace paths (fresh dicts)."""
        paths = self.paths
        return {paths[src]: {paths[dst]: w for dst, w in row.items() if dst in paths}
                for src, row in self.edges.items() if row and src in paths}
