/**
 * The chat page with a reasoning model, in headless Chromium against the real server: a scripted
 * Thinking model (its own chat template; `<think>` text streamed token by token through
 * `codeflow serve`) answers; the page shows the reasoning in a collapsed "Thinking" section above
 * the answer with its elapsed time, offers code actions for the answer's code only, and shows
 * the section again from history after a reload.
 * Prints one JSON line (the summary) and exits 0, or prints the failure and exits 1.
 * Env: CODEFLOW_SERVER ("cmd args"), CHROMIUM (default /usr/bin/chromium),
 * CODEFLOW_SCREENSHOT (png path: the collapsed section; `-open` before .png: opened).
 */
import { strict as assert } from "node:assert";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { chromium } from "playwright-core";
import type { HostToPage } from "../../src/logic/protocol";
import { startBridge } from "./bridge";
import { startServer } from "./lspProcess";

const log = (...a: unknown[]) => console.error("[thinking-test]", ...a);

const SAMPLE = `"""Small statistics helpers."""


def mean(values: list[float]) -> float:
    if not values:
        raise ValueError("mean() of an empty list")
    return sum(values) / len(values)


def variance(values: list[float]) -> float:
    m = mean(values)
    return sum((v - m) ** 2 for v in values) / len(values)
`;

/** A Thinking-style template: opens <think> in the generation prompt, drops old reasoning. */
const TEMPLATE =
  "{%- for m in messages %}{%- if m.role == 'assistant' and '</think>' in m.content %}" +
  "{%- set c = m.content.split('</think>')[-1].lstrip('\\n') %}{%- else %}{%- set c = m.content %}{%- endif %}" +
  "{{- '<|im_start|>' + m.role + '\\n' + c + '<|im_end|>\\n' }}{%- endfor %}" +
  "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n<think>\\n' }}{%- endif %}";

const REASONING =
  "variance() calls mean() first, and mean() raises ValueError for an empty list.\n" +
  "So variance([]) fails before its own division. A silent guard would be:\n" +
  "```python\nif not values:\n    return 0.0\n```\n" +
  "but a caller passing no data should hear about it: raise with variance's own name.\n";
const CODE =
  'def variance(values: list[float]) -> float:\n    if not values:\n        raise ValueError("variance() of an empty list")\n' +
  "    m = mean(values)\n    return sum((v - m) ** 2 for v in values) / len(values)\n";
const ANSWER = "`variance([])` fails inside `mean()`, which rejects empty lists. Say so in `variance` itself:\n\n```python stats.py\n" + CODE + "```";

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
  const root = mkdtempSync(path.join(tmpdir(), "codeflow-thinking-"));
  const ws = path.join(root, "ws");
  mkdirSync(ws);
  writeFileSync(path.join(ws, "stats.py"), SAMPLE);
  const script = path.join(root, "script.json");
  writeFileSync(script, JSON.stringify({ outputs: [`${REASONING}</think>\n\n${ANSWER}`], chatTemplate: TEMPLATE }));
  Object.assign(process.env, { CODEFLOW_TEST_COMMANDS: "1", CODEFLOW_TEST_BACKEND: script, CODEFLOW_CACHE_DIR: path.join(root, "cache") });
  const statsUri = pathToFileURL(path.join(ws, "stats.py")).toString();
  const server = await startServer({ workspace: ws, log });
  await server.conn.sendNotification("textDocument/didOpen", {
    textDocument: { uri: statsUri, languageId: "python", version: 1, text: SAMPLE },
  });
  const bridge = await startBridge({ server, distDir: path.resolve(__dirname, "../dist"), workspace: ws, log });
  const browser = await chromium.launchPersistentContext(path.join(root, "profile"), {
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    viewport: { width: 460, height: 720 },
    args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
  });
  const summary: Record<string, unknown> = {};
  try {
    const page = browser.pages()[0] ?? (await browser.newPage());
    const problems: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error") problems.push(`console: ${m.text()}`);
    });
    page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
    await page.goto(bridge.url);
    await waitFor("ready", () => bridge.received.some((m) => m.type === "ready"), 10000);

    await page.fill("#input", "Why does variance([]) fail in @stats.py?");
    await page.click("#send");
    await page.waitForSelector(".msg.assistant[data-finish]", { timeout: 120000 });
    const types = bridge.posted.map((m) => m.type);
    const end = bridge.posted.find((m): m is Extract<HostToPage, { type: "end" }> => m.type === "end")!;
    assert.ok(bridge.outcomes[0]?.ok, `chat request failed: ${JSON.stringify(bridge.outcomes[0])}`);
    assert.equal(end.text, ANSWER, "the answer is the text after </think>");
    assert.equal(end.reasoning, REASONING);
    assert.ok(types.indexOf("reasoning") < types.indexOf("reasoningDone") && types.indexOf("reasoningDone") < types.indexOf("delta"), types.join(","));
    assert.ok(types.filter((t) => t === "reasoning").length > 10, "the reasoning streamed in pieces");

    const section = ".msg.assistant details.thinking";
    assert.equal(await page.locator(section).count(), 1);
    assert.equal(await page.evaluate((s) => (document.querySelector(s) as HTMLDetailsElement).open, section), false, "collapsed");
    assert.equal(await page.evaluate((s) => document.querySelector(s)!.nextElementSibling!.className, section), "body", "above the answer");
    const summaryText = (await page.textContent(`${section} summary`)) ?? "";
    assert.match(summaryText, /^Thought for \d+(\.\d)? s$/);
    assert.equal(await page.isVisible(`${section} .thinking-body`), false, "the reasoning is hidden until opened");
    assert.equal(await page.textContent(`${section} .thinking-body`), REASONING.trim());
    assert.equal(await page.locator(`${section} .code-block`).count(), 0, "no code actions on the reasoning");
    const answerText = (await page.textContent(".msg.assistant .body")) ?? "";
    assert.ok(!answerText.includes("silent guard"), "the reasoning is not in the answer");
    assert.equal(await page.locator(".msg.assistant .body .code-block").count(), 1);
    assert.equal(end.finishReason, "eos");
    assert.equal(await page.locator(".msg.assistant .finish").count(), 0, "a turn the model ended is not labelled as stopped");
    await page.click('.msg.assistant .body button[data-action="apply"]');
    const applied = await waitFor("apply message", () => bridge.received.find((m) => m.type === "apply"), 5000);
    assert.deepEqual(applied, { type: "apply", code: CODE.trimEnd(), lang: "python", path: "stats.py" });

    const shot = process.env.CODEFLOW_SCREENSHOT;
    if (shot) {
      mkdirSync(path.dirname(shot), { recursive: true });
      await page.evaluate(() => document.getElementById("messages")!.scrollTo(0, 0));
      await page.screenshot({ path: shot });
    }
    await page.click(`${section} summary`);
    assert.equal(await page.isVisible(`${section} .thinking-body`), true, "opens on click");
    if (shot) await page.screenshot({ path: shot.replace(/\.png$/, "-open.png") });

    // After a reload the page gets the history: the section comes back, collapsed.
    const before = bridge.received.filter((m) => m.type === "ready").length;
    await page.reload();
    await waitFor("ready again", () => bridge.received.filter((m) => m.type === "ready").length > before, 10000);
    await page.waitForSelector(section, { state: "attached", timeout: 10000 });
    assert.equal(await page.evaluate((s) => (document.querySelector(s) as HTMLDetailsElement).open, section), false);
    assert.equal(await page.textContent(`${section} summary`), summaryText);
    assert.deepEqual(problems, [], "console errors");
    Object.assign(summary, { ok: true, summary: summaryText, reasoningPieces: types.filter((t) => t === "reasoning").length, answerPieces: types.filter((t) => t === "delta").length, screenshot: shot });
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
