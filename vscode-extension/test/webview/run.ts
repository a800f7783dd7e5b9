/**
 * The chat page in a real browser against the real server:
 *   headless Chromium (playwright-core, system chromium) → the built page (dist/webview.js,
 *   dist/webview.css, the extension's HTML + CSP) served on 127.0.0.1 → acquireVsCodeApi shim →
 *   bridge (the extension's ChatController) → `codeflow serve` over stdio.
 * Checks: the page renders history safely (escaped HTML, code block buttons post the right
 * messages), a question streams tokens that render incrementally, the final render is the
 * markdown of the server's answer, a second question is cancelled ($/cancelRequest → -32800).
 * Prints one JSON line (the summary) and exits 0, or prints the failure and exits 1.
 * Env: CODEFLOW_SERVER ("cmd args"), CHROMIUM (default /usr/bin/chromium),
 * CODEFLOW_SCREENSHOT (png path), CODEFLOW_TIMEOUT_S (per answer, default 240).
 */
import { strict as assert } from "node:assert";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { chromium } from "playwright-core";
import { renderMarkdown } from "../../src/logic/markdown";
import type { HostToPage } from "../../src/logic/protocol";
import { startBridge } from "./bridge";
import { startServer } from "./lspProcess";

const log = (...a: unknown[]) => console.error("[webview-test]", ...a);

const SAMPLE = `"""Small statistics helpers."""


def mean(values: list[float]) -> float:
    """Arithmetic mean of a non-empty list."""
    if not values:
        raise ValueError("mean() of an empty list")
    return sum(values) / len(values)


def variance(values: list[float]) -> float:
    m = mean(values)
    return sum((v - m) ** 2 for v in values) / len(values)
`;

async function waitFor<T>(what: string, fn: () => T | undefined | false, timeoutMs: number): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function main(): Promise<void> {
  const timeoutMs = Number(process.env.CODEFLOW_TIMEOUT_S ?? 240) * 1000;
  const root = mkdtempSync(path.join(tmpdir(), "codeflow-webview-"));
  const ws = path.join(root, "ws");
  mkdirSync(ws);
  writeFileSync(path.join(ws, "stats.py"), SAMPLE);
  const statsUri = pathToFileURL(path.join(ws, "stats.py")).toString();
  const distDir = path.resolve(__dirname, "../dist");

  const server = await startServer({ workspace: ws, log });
  log("server capabilities:", Object.keys(server.capabilities).join(","));
  // Open the file like an editor would, so the selection refers to a synced document.
  await server.conn.sendNotification("textDocument/didOpen", {
    textDocument: { uri: statsUri, languageId: "python", version: 1, text: SAMPLE },
  });
  const bridge = await startBridge({
    server,
    distDir,
    workspace: ws,
    selection: { uri: statsUri, range: { start: { line: 3, character: 0 }, end: { line: 7, character: 0 } }, label: "stats.py:4-8" },
    log,
  });
  const browser = await chromium.launchPersistentContext(path.join(root, "profile"), {
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    viewport: { width: 460, height: 860 },
    args: [
      "--no-sandbox",
      "--disable-dev-shm-usage",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  const summary: Record<string, unknown> = {};
  try {
    const page = browser.pages()[0] ?? (await browser.newPage());
    const problems: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error") problems.push(`console: ${m.text()}`);
    });
    page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
    const remote: string[] = [];
    page.on("request", (r) => {
      if (!r.url().startsWith(bridge.url.slice(0, -1))) remote.push(r.url());
    });
    await page.addInitScript(() => {
      const w = window as unknown as { __csp: string[]; __frames: string[] };
      w.__csp = [];
      w.__frames = [];
      document.addEventListener("securitypolicyviolation", (e) => w.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
      new MutationObserver(() => {
        const b = document.querySelector(".msg.assistant.streaming .body");
        if (!b) return;
        const c = b.cloneNode(true) as HTMLElement;
        c.querySelectorAll(".code-head").forEach((h) => h.remove()); // button labels are not answer text
        const t = c.textContent ?? "";
        if (t && w.__frames.at(-1) !== t) w.__frames.push(t);
      }).observe(document, { subtree: true, childList: true, characterData: true });
    });
    await page.goto(bridge.url);
    await waitFor("ready", () => bridge.received.some((m) => m.type === "ready"), 10000);
    await page.waitForSelector("#context:not([hidden])");
    assert.equal(await page.textContent("#context"), "Selection: stats.py:4-8");

    // 1. History renders safely; code block buttons post the code to the host.
    const evil = 'Try <img src=x onerror="window.__pwned=1"> this:\n\n```python stats.py\nprint("<b>hi</b>")\n```';
    bridge.post({ type: "init", messages: [{ role: "user", content: "<script>window.__pwned=2</script>" }, { role: "assistant", content: evil }], busy: false, context: { selection: "stats.py:4-8" } });
    await page.waitForSelector(".msg.assistant .code-block");
    assert.equal(await page.locator("img").count(), 0, "model HTML must be escaped");
    assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined);
    assert.equal(await page.textContent(".msg.user .body"), "<script>window.__pwned=2</script>");
    for (const action of ["copy", "insert", "apply"] as const) {
      await page.click(`.msg.assistant button[data-action="${action}"]`);
      const got = await waitFor(`${action} message`, () => bridge.received.find((m) => m.type === action), 5000);
      assert.deepEqual(got, { type: action, code: 'print("<b>hi</b>")', lang: "python", path: "stats.py" });
    }
    bridge.post({ type: "cleared" });

    // 2. A question streams: tokens render while the request runs; the final render is the answer.
    const q1 = "What does mean() in @stats.py do? Answer briefly.";
    await page.fill("#input", q1);
    await page.click("#send");
    const start1 = await waitFor("start", () => bridge.posted.find((m) => m.type === "start"), 10000);
    assert.equal(start1.type === "start" && start1.references[0], statsUri);
    const t0 = Date.now();
    const first = await waitFor(
      "the first token or the end",
      () => bridge.posted.find((m) => (m.type === "delta" || m.type === "end" || m.type === "error") && m.id === start1.id),
      timeoutMs,
    );
    if (first.type !== "delta") throw new Error(`chat failed before any token: ${JSON.stringify(bridge.posted.filter((m) => m.type === "error"))} ${JSON.stringify(bridge.outcomes)}`);
    const firstTokenMs = Date.now() - t0;
    await page.waitForSelector(".msg.assistant[data-finish]", { timeout: timeoutMs });
    const end1 = bridge.posted.find((m): m is Extract<HostToPage, { type: "end" }> => m.type === "end")!;
    const deltas1 = bridge.posted.filter((m): m is Extract<HostToPage, { type: "delta" }> => m.type === "delta" && m.id === start1.id);
    assert.ok(bridge.outcomes[0]?.ok, `chat request failed: ${JSON.stringify(bridge.outcomes[0])}`);
    assert.ok(deltas1.length >= 1, "the server streamed no $/progress deltas");
    assert.ok(end1.text.trim().length > 0, "empty answer");
    assert.ok(end1.finishReason && !["error", "cancelled"].includes(end1.finishReason), `finishReason ${end1.finishReason}`);
    assert.equal(deltas1.map((d) => d.delta).join(""), end1.text, "streamed deltas add up to the answer");
    const frames = await page.evaluate(() => (window as unknown as { __frames: string[] }).__frames);
    // Renders are batched per animation frame, so how many partial renders there are depends
    // on how long the stream lasts; a stream spread over more than 250 ms must show at least two.
    const at = bridge.posted.map((m, i) => (m.type === "delta" && m.id === start1.id ? bridge.postedAt[i] : -1)).filter((x) => x >= 0);
    const spreadMs = at.length ? at[at.length - 1] - at[0] : 0;
    if (spreadMs > 250) assert.ok(frames.length >= 2, `expected incremental renders over ${spreadMs} ms, saw ${frames.length}`);
    for (const f of frames) assert.ok(f.replace(/\s+/g, "").length <= end1.text.replace(/\s+/g, "").length, "a partial render is no longer than the answer");
    const html1 = await page.innerHTML(".msg.assistant[data-finish] .body");
    // Compare as the browser serialises both (it writes &#39; back as ', for instance).
    const expected = await page.evaluate((h) => {
      const t = document.createElement("template");
      t.innerHTML = h;
      return t.innerHTML;
    }, renderMarkdown(end1.text).html);
    assert.ok(html1.startsWith(expected), `final render is the markdown of the server's answer:\n${html1.slice(0, 300)}\n${expected.slice(0, 300)}`);
    assert.equal(await page.isHidden("#cancel"), true);
    Object.assign(summary, { answer: end1.text, finishReason: end1.finishReason, deltas: deltas1.length, renders: frames.length, streamMs: spreadMs, firstTokenMs });

    // 3. Cancel a question right after its first token shows. A small model may finish an
    //    answer before the click lands; then the next question is tried (3 at most).
    const frames0 = frames.length;
    const questions = [
      "Now write a long, detailed tutorial about mean and variance with many examples.",
      "Explain every line of stats.py in detail, with examples and edge cases.",
      "Rewrite stats.py with type hints, docstrings and tests, and explain each change at length.",
    ];
    let cancelled: { end: Extract<HostToPage, { type: "end" }>; index: number; cancelMs: number } | undefined;
    for (const q of questions) {
      const nStarts = bridge.posted.filter((m) => m.type === "start").length;
      const nOutcomes = bridge.outcomes.length;
      await page.fill("#input", q);
      await page.press("#input", "Enter");
      const st = await waitFor("start", () => bridge.posted.filter((m) => m.type === "start")[nStarts], 10000);
      await waitFor("a token of the answer", () => bridge.posted.find((m) => (m.type === "delta" || m.type === "end") && m.id === st.id), timeoutMs);
      const tc = Date.now();
      if (!bridge.posted.some((m) => m.type === "end" && m.id === st.id)) await page.click("#cancel");
      const end = await waitFor("the answer's end", () => bridge.posted.find((m): m is Extract<HostToPage, { type: "end" }> => m.type === "end" && m.id === st.id), 30000);
      await page.waitForSelector(`.msg.assistant[data-finish] >> nth=${nStarts}`, { timeout: 10000 });
      await waitFor("request outcome", () => bridge.outcomes.length > nOutcomes, 10000);
      if (end.finishReason !== "cancelled") {
        assert.ok(bridge.outcomes[nOutcomes].ok, `answer ended with ${end.finishReason}`);
        summary.finishedBeforeCancel = ((summary.finishedBeforeCancel as number) ?? 0) + 1;
        continue;
      }
      assert.deepEqual([bridge.outcomes[nOutcomes].ok, bridge.outcomes[nOutcomes].code], [false, -32800], `server answered ${JSON.stringify(bridge.outcomes[nOutcomes])}`);
      cancelled = { end, index: nStarts, cancelMs: Date.now() - tc };
      break;
    }
    assert.ok(cancelled, "every answer finished before Cancel could be clicked");
    assert.equal((await page.textContent(`.msg.assistant[data-finish] >> nth=${cancelled.index}`))?.includes("Cancelled."), true);
    assert.equal(await page.isEnabled("#send"), true);
    Object.assign(summary, { cancelledAfterChars: cancelled.end.text.length, cancelMs: cancelled.cancelMs, cancelRenders: (await page.evaluate(() => (window as unknown as { __frames: string[] }).__frames.length)) - frames0 });

    const csp = await page.evaluate(() => (window as unknown as { __csp: string[] }).__csp);
    assert.deepEqual(csp, [], "CSP violations");
    assert.deepEqual(remote, [], "requests outside the bridge");
    assert.deepEqual(problems, [], "console errors");
    const shot = process.env.CODEFLOW_SCREENSHOT;
    if (shot) {
      mkdirSync(path.dirname(shot), { recursive: true });
      await page.evaluate(() => document.getElementById("messages")!.scrollTo(0, 0)); // the question first
      await page.screenshot({ path: shot });
      summary.screenshot = shot;
    }
    summary.status = server.notifications.filter((n) => n.method === "codeflow/status").map((n) => n.params).at(-1);
    summary.ok = true;
  } finally {
    await browser.close();
    await bridge.close();
    await server.dispose();
    rmSync(root, { recursive: true, force: true });
  }
  console.log(JSON.stringify(summary));
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(`FAIL: ${e?.stack ?? e}`);
    process.exit(1);
  },
);
