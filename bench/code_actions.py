"""How long `textDocument/codeAction` blocks the server's event loop on a 3,500-line file.

The registered handler of a real `CodeflowServer` (features registered as `codeflow serve` does)
is driven on an asyncio loop; every step the loop runs for the request (the synchronous call of
a plain handler, each `send` into a coroutine handler) is timed, and their sum is the request's
loop-blocking time. Work the handler hands to the CPU pool does not count: the loop is free
meanwhile. The document is served from memory (no client, no index, no model). Target: p95 ≤ 5 ms.

    python bench/code_actions.py [--lines 3500] [--requests 60]

Run it against another checkout (e.g. main) with `PYTHONPATH=/path/to/checkout`: it imports
whatever `lsp_server` is first on the path and prints which one.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from collections.abc import Generator
from pathlib import Path
from typing import Any

from lsprotocol import types

ROOT = Path(__file__).resolve().parents[1]
# bench/inference.py would shadow the `inference` package; PYTHONPATH entries come first
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
_FIRST = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
sys.path.insert(len(_FIRST), str(ROOT))


def make_module(lines: int) -> str:
    """A Python module of about `lines` lines: documented and undocumented functions."""
    out = ['"""A generated module."""', "", "import math", ""]
    i = 0
    while len(out) < lines:
        doc = [f'    """Function {i}."""'] if i % 2 else []
        out += [
            "",
            f"def function_{i}(values, scale={i}):",
            *doc,
            "    total = 0",
            "    for v in values:",
            "        if v > scale:",
            "            total += math.sqrt(v) * scale",
            "        else:",
            "            total -= v",
            f"    return total + {i}",
            "",
        ]
        i += 1
    return "\n".join(out[:lines]) + "\n"


class Timed:
    """Await a coroutine, timing each step the event loop runs for it."""

    def __init__(self, coro: Any) -> None:
        self.coro = coro
        self.steps: list[float] = []

    def __await__(self) -> Generator[Any, Any, Any]:
        gen = self.coro.__await__()
        value: Any = None
        error: BaseException | None = None
        while True:
            t0 = time.perf_counter()
            try:
                yielded = gen.throw(error) if error is not None else gen.send(value)
            except StopIteration as stop:
                self.steps.append(time.perf_counter() - t0)
                return stop.value
            self.steps.append(time.perf_counter() - t0)
            try:
                value, error = (yield yielded), None
            except BaseException as exc:  # noqa: BLE001 - handed back into the coroutine
                value, error = None, exc


def make_server(root: Path, uri: str, doc: dict[str, str]) -> Any:
    from lsp_server import handlers
    from lsp_server.server import CodeflowServer

    server = CodeflowServer()
    handlers.register(server)
    server.root = root
    server.document_text = lambda u: doc["text"] if u == uri else None  # type: ignore[method-assign]
    server.path_of = lambda u: "big.py" if u == uri else None  # type: ignore[method-assign]
    return server


class LagProbe:
    """A task that sleeps 1 ms at a time and records how late each wake-up is."""

    def __init__(self) -> None:
        self.late: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            t0 = time.perf_counter()
            await asyncio.sleep(0.001)
            self.late.append(time.perf_counter() - t0 - 0.001)

    def __enter__(self) -> LagProbe:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()


async def measure(
    server: Any, uri: str, doc: dict[str, str], lines: int, requests: int, edits: bool
) -> tuple[list[float], list[float], Any]:
    handler = server.protocol.fm.features[types.TEXT_DOCUMENT_CODE_ACTION]
    server.loop = asyncio.get_running_loop()
    blocked, last = [], None
    base = doc["text"]
    with LagProbe() as probe:
        last = await _requests(handler, uri, doc, base, lines, requests, edits, blocked)
        await asyncio.sleep(0.01)
    return blocked, probe.late, last


async def _requests(
    handler: Any, uri: str, doc: dict[str, str], base: str, lines: int, requests: int,
    edits: bool, blocked: list[float],
) -> Any:
    last = None
    inside = [i for i, ln in enumerate(base.split("\n")) if ln == "    total = 0"]
    for n in range(requests):
        if edits:  # the user typed: a new text, as after a didChange
            doc["text"] = base + f"# edit {n}\n"
        line = inside[(n * 37) % len(inside)]
        rng = types.Range(types.Position(line, 4), types.Position(line, 4))
        params = types.CodeActionParams(
            types.TextDocumentIdentifier(uri), rng, types.CodeActionContext(diagnostics=[])
        )
        t0 = time.perf_counter()
        result = handler(params)
        if asyncio.iscoroutine(result):
            call = time.perf_counter() - t0
            timed = Timed(result)
            last = await timed
            blocked.append(call + sum(timed.steps))
        else:
            blocked.append(time.perf_counter() - t0)
            last = result
        await asyncio.sleep(0.002)  # the editor's pace: the probe ticks between requests
    return last


def pct(values: list[float], q: float) -> float:
    ms = sorted(v * 1000 for v in values)
    return ms[min(len(ms) - 1, max(int(round(q * len(ms))) - 1, 0))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=3500)
    parser.add_argument("--requests", type=int, default=60)
    args = parser.parse_args()
    import lsp_server

    root = Path("/nonexistent-workspace")
    uri = (root / "big.py").as_uri()
    text = make_module(args.lines)
    print(f"lsp_server from {Path(lsp_server.__file__).parent}")
    print(f"file: {args.lines} lines, {len(text)} chars; {args.requests} requests per scenario")
    for edits in (False, True):
        doc = {"text": text}
        server = make_server(root, uri, doc)
        try:
            blocked, late, last = asyncio.run(
                measure(server, uri, doc, args.lines, args.requests, edits)
            )
        finally:
            server.cpu.shutdown()
            server.inference.stop()
        name = "new text before each request" if edits else "cursor moves, same text"
        print(f"== {name}")
        print(f"   actions on the last request: {[a.title for a in last or []]}")
        print(
            f"   loop busy with the request: median {statistics.median(blocked) * 1000:.2f} ms, "
            f"p95 {pct(blocked, 0.95):.2f} ms, max {pct(blocked, 1.0):.2f} ms "
            "(target p95 <= 5 ms)"
        )
        print(
            f"   1 ms probe lateness ({len(late)} ticks): median {pct(late, 0.5):.2f} ms, "
            f"p95 {pct(late, 0.95):.2f} ms, max {pct(late, 1.0):.2f} ms "
            "(includes work in other threads holding the GIL)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
