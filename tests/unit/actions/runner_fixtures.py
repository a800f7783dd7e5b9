"""Real failing-test fixtures for the runners beyond pytest (tests/data/runners/<runner>)."""

from __future__ import annotations

import shutil
from pathlib import Path

RUNNERS = Path(__file__).resolve().parents[2] / "data" / "runners"
GOOD_RUST_MEAN = """pub fn mean(values: &[f64]) -> f64 {
    let count = values.len();
    total(values) / count as f64
}
"""
WRONG_RUST_MEAN = """pub fn mean(values: &[f64]) -> f64 {
    let count = values.len() + 1;
    total(values) / count as f64
}
"""


def make_runner_workspace(runner: str, dest: Path) -> Path:
    """A copy of the `runner` fixture at `dest` (its `node_modules`, installed by
    `make runner-fixtures`, linked rather than copied)."""
    shutil.copytree(RUNNERS / runner, dest, ignore=shutil.ignore_patterns("node_modules"))
    if (RUNNERS / runner / "node_modules").is_dir():
        (dest / "node_modules").symlink_to(RUNNERS / runner / "node_modules")
    return dest


def vitest_installed() -> bool:
    """Whether `make runner-fixtures` installed the Vitest fixture's packages."""
    return (RUNNERS / "vitest" / "node_modules" / ".bin" / "vitest").exists()


def jest_installed() -> bool:
    """Whether `make runner-fixtures` installed the Jest fixture's packages."""
    return (RUNNERS / "jest" / "node_modules" / ".bin" / "jest").exists()


def fenced(code: str, language: str) -> str:
    """A model answer holding `code` in a fenced block of `language`."""
    return f"Here is the fix:\n```{language}\n{code}```\n"
GOOD_GO_MEAN = """func Mean(values []float64) float64 {
\tcount := len(values)
\treturn Total(values) / float64(count)
}
"""
WRONG_GO_MEAN = """func Mean(values []float64) float64 {
\tcount := len(values) + 1
\treturn Total(values) / float64(count)
}
"""
GOOD_JS_MEAN = """export function mean(values) {
  const count = values.length;
  return total(values) / count;
}
"""
WRONG_JS_MEAN = """export function mean(values) {
  const count = values.length + 1;
  return total(values) / count;
}
"""
GOOD_CJS_MEAN = """function mean(values) {
  const count = values.length;
  return total(values) / count;
}
"""
WRONG_CJS_MEAN = """function mean(values) {
  const count = values.length + 1;
  return total(values) / count;
}
"""
