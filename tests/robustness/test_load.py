"""A compressed long editing session: many completion requests while typing, half cancelled.

Normal mode: 300 requests at 5-20 ms intervals. Soak mode (CODEFLOW_SOAK=1): 1,000 requests at
30-100 ms intervals (the pace of a 30-minute session's bursts). The server runs the scripted
backend, so what is measured is the server's own overhead: protocol, sync, supersede, prompt
assembly, post-processing. Every 100 requests the server process is sampled (psutil): RSS,
threads, open file descriptors.

Asserted: every request answered exactly once; no thread or file-descriptor leak after warm-up;
RSS growth and the RSS slope per 100 requests bounded; no drift in the server's cost per request:
its CPU time per 50 requests (late vs. warm) within CPU_DRIFT_LIMIT, and the p95 latency of the
last fifth of the session within P95_DRIFT_LIMIT of the first fifth's (plus P95_SLACK_S).

Why the latency bound is loose: wall-clock latency measures the machine's load as much as the
server. On a 2-core machine at load average 13 the first fifth's p95 was 1.34 s and the last
fifth's 0.28 s in one run; the reverse is as likely. So p95 drift is asserted only as a large
ratio with seconds of slack (a session whose late requests wait many times longer than its
early ones), and the CPU time per request, which load barely moves, carries the tight bound.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from pathlib import Path

import psutil
import pytest

from .harness import SOAK, Server, scale, server_env, write_script

REQUESTS = scale(300, 1000)
INTERVAL_MS = (30, 100) if SOAK else (5, 20)
RSS_GROWTH_LIMIT = 64 * 1024 * 1024
RSS_SLOPE_LIMIT_MIB = 8.0  # per 100 requests after warm-up (measured: 0-1.5)
# the server's CPU time for the last 50 requests / for requests 50-100 (after warm-up). A cost
# growing linearly with the session gives up to 3.7 over 300 requests (13 over the soak's 1,000).
CPU_DRIFT_LIMIT = 2.0
P95_DRIFT_LIMIT = 10.0
P95_SLACK_S = 5.0
BODY = "def step(state, event):\n    total = 0\n    for item in state.items:\n        "


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) >= 20 else max(values)


@pytest.fixture
def server(tmp_path: Path):
    root = tmp_path / "ws"
    root.mkdir()
    (root / "engine.py").write_text(BODY + "pass\n", encoding="utf-8")
    for k in range(20):
        (root / f"mod{k}.py").write_text(f"def helper_{k}(x):\n    return x + {k}\n")
    outputs = [f"total += item.value * {k}" for k in range(REQUESTS * 2)]
    script = write_script(tmp_path / "script.json", outputs)
    srv = Server(server_env(tmp_path / "cache", CODEFLOW_TEST_BACKEND=str(script)))
    srv.call(srv.initialize(root, {"completion": {"debounceMs": 10}}))
    srv.call(srv.wait_ready())
    yield srv, root
    srv.stop()


def test_long_session_stays_bounded(server: tuple[Server, Path]) -> None:
    srv, root = server
    proc = psutil.Process(srv.pid)
    rng = random.Random(7)
    uris = [(root / "engine.py").as_uri(), (root / "scratch.py").as_uri()]
    samples: list[tuple[int, int, int, int]] = []
    cpu_marks: list[float] = []  # the server's CPU seconds after every 50 requests
    latencies: list[tuple[int, float]] = []
    cancelled = 0

    async def session() -> None:
        nonlocal cancelled
        texts = {uri: BODY for uri in uris}
        versions = {uri: 1 for uri in uris}
        for uri in uris:
            srv.open(uri, texts[uri])
        futures = []
        for n in range(REQUESTS):
            uri = uris[n % 5 == 0]
            # type one character at the end (a newline now and then), as an editor would
            ch = rng.choice("abcdefgh( )._") if n % 17 else "\n        "
            lines = texts[uri].split("\n")
            pos = {"line": len(lines) - 1, "character": len(lines[-1])}
            texts[uri] += ch
            versions[uri] += 1
            srv.change(uri, versions[uri], [{"range": {"start": pos, "end": pos}, "text": ch}])
            lines = texts[uri].split("\n")
            params = {"textDocument": {"uri": uri},
                      "position": {"line": len(lines) - 1, "character": len(lines[-1])},
                      "context": {"triggerKind": 2 if n % 3 else 1}}
            sent = time.monotonic()
            msg_id, fut = srv.start_request("textDocument/inlineCompletion", params)
            if n % 2:
                await asyncio.sleep(rng.uniform(0, 0.02))
                srv.cancel(msg_id)
                cancelled += 1
            else:
                fut.add_done_callback(
                    lambda f, n=n, sent=sent: latencies.append((n, time.monotonic() - sent))
                )
            futures.append(fut)
            if n % 50 == 49:
                await srv.quiesce(60)
                cpu_marks.append(_cpu(proc))
            if n % 100 == 99:
                mem = proc.memory_info().rss
                samples.append((n + 1, mem, proc.num_threads(), proc.num_fds()))
            await asyncio.sleep(rng.uniform(*INTERVAL_MS) / 1000.0)
        await srv.quiesce(60)
        replies = [f.result() for f in futures]
        for reply in replies:
            assert reply.ok or reply.error["code"] == -32800, reply
        for uri in uris:
            doc = await srv.document(uri)
            assert doc["text"] == texts[uri]

    t0 = time.monotonic()
    srv.call(session(), timeout=900)
    wall = time.monotonic() - t0
    assert len(srv.sent) >= REQUESTS and srv.client.pending == {}
    assert all(n == 1 for n in srv.seen.responses.values())

    warm = samples[0]
    end = samples[-1]
    assert end[2] <= warm[2] + 2, f"threads grew: {samples}"
    assert end[3] <= warm[3] + 4, f"file descriptors grew: {samples}"
    assert end[1] - warm[1] < RSS_GROWTH_LIMIT, f"RSS grew: {samples}"

    xs = [s[0] / 100 for s in samples]
    ys = [s[1] / 2**20 for s in samples]
    slope = statistics.linear_regression(xs, ys).slope if len(samples) > 1 else 0.0
    cpu = [b - a for a, b in zip(cpu_marks, cpu_marks[1:], strict=False)]  # per 50, warm
    fifth = max(len(latencies) // 5, 1)
    ordered = [ms for _, ms in sorted(latencies)]  # in request order
    head, tail = _p95(ordered[:fifth]), _p95(ordered[-fifth:])
    print(
        f"\nload: {REQUESTS} requests ({cancelled} cancelled) in {wall:.1f}s; "
        f"RSS {ys[0]:.1f} -> {ys[-1]:.1f} MiB, slope {slope:.3f} MiB/100 requests; "
        f"threads {warm[2]} -> {end[2]}; fds {warm[3]} -> {end[3]}; "
        f"server CPU per 50 requests {', '.join(f'{c:.2f}' for c in cpu)} s; "
        f"p95 first fifth {head * 1000:.1f} ms, last fifth {tail * 1000:.1f} ms"
    )
    assert slope <= RSS_SLOPE_LIMIT_MIB, f"RSS slope {slope:.2f} MiB/100 requests: {samples}"
    assert cpu[-1] <= CPU_DRIFT_LIMIT * max(cpu[0], 0.05), f"server CPU per 50 grew: {cpu}"
    assert tail <= P95_DRIFT_LIMIT * head + P95_SLACK_S, f"p95 drift: {head:.3f}s -> {tail:.3f}s"


def _cpu(proc: psutil.Process) -> float:
    """The server's CPU seconds so far (user + system, all threads)."""
    times = proc.cpu_times()
    return times.user + times.system
