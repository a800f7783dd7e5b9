"""Copy examples/inventory to DEST and replay its history as real git commits.

Usage: python examples/make_history.py DEST
Each step writes files and commits them with a message; the last step is left uncommitted.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "inventory"

STEPS: list[tuple[str, dict[str, str]]] = [
    (
        "Initial inventory model: items and a stock table",
        {
            "inventory/models.py": '''"""Items and stock levels."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Item:
    sku: str
    name: str
    price_cents: int


class Stock:
    def __init__(self):
        self._levels = {}

    def add(self, item, quantity):
        self._levels[item.sku] = self._levels.get(item.sku, 0) + quantity

    def level(self, sku):
        return self._levels.get(sku, 0)
''',
        },
    ),
    (
        "Add order totals with tax",
        {
            "inventory/orders.py": '''"""Orders: lines of items and their totals."""

from inventory.models import Item

TAX_RATE = 0.2


def line_total(item: Item, quantity: int) -> int:
    return item.price_cents * quantity


def order_total(lines: list[tuple[Item, int]]) -> int:
    subtotal = sum(line_total(item, qty) for item, qty in lines)
    return round(subtotal * (1 + TAX_RATE))
''',
        },
    ),
]


def git(dest: Path, *args: str) -> None:
    """Run git in dest with a fixed identity and date."""
    env = dict(os.environ)
    env.update(
        GIT_AUTHOR_NAME="Ada Example", GIT_AUTHOR_EMAIL="ada@example.com",
        GIT_COMMITTER_NAME="Ada Example", GIT_COMMITTER_EMAIL="ada@example.com",
    )
    subprocess.run(["git", "-C", str(dest), *args], check=True, env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def replay(dest: Path) -> Path:
    """Build the example repository at dest (must not exist or be empty)."""
    dest.mkdir(parents=True, exist_ok=True)
    git(dest, "init", "-q", "-b", "main")
    for message, files in STEPS:
        for rel, text in files.items():
            path = dest / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        git(dest, "add", "-A")
        git(dest, "commit", "-q", "-m", message)
    # the final state: the project as it is in examples/inventory, committed in two steps
    final = sorted(p for p in SOURCE.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    for path in final:
        rel = path.relative_to(SOURCE)
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "-m", "Discounts per customer tier; orders apply them before tax")
    notes = dest / "inventory" / "reports.py"
    notes.write_text(notes.read_text(encoding="utf-8").replace(
        "def low_stock(", "def low_stock_skus(", 1), encoding="utf-8")
    return dest


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    print(replay(Path(sys.argv[1])))
