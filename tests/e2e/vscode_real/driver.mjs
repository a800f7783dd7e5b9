// Drives a real VS Code (code-server) in headless Chromium for tests/e2e/test_vscode_real.py.
// Usage: node driver.mjs CONFIG.json. The config names the workbench URL, the steps to run
// ("ghost", "status", "chat", "fix") and the output dir; each step writes what it saw into
// results.json and one screenshot per step. The pytest side asserts on those values.
import { createRequire } from "node:module";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const config = JSON.parse(readFileSync(process.argv[2], "utf8"));
const require = createRequire(join(config.extensionDir, "package.json"));
const { chromium } = require("playwright-core");

const results = { steps: {}, statusTexts: [], errors: [] };
mkdirSync(config.outDir, { recursive: true });
const save = () => writeFileSync(join(config.outDir, "results.json"), JSON.stringify(results, null, 2));
const log = (...a) => console.log(new Date().toISOString(), ...a);

// Every text the codeflow status bar item shows, recorded as the DOM changes.
const STATUS_OBSERVER = () => {
  window.__codeflowStatus = [];
  const record = () => {
    for (const el of document.querySelectorAll(".statusbar-item")) {
      const label = el.getAttribute("aria-label") || "";
      const id = el.id || "";
      if (!id.includes("codeflow") && !label.includes("codeflow")) continue;
      const text = (el.innerText || el.textContent || "").trim();
      const seen = window.__codeflowStatus;
      if (text && seen[seen.length - 1] !== text) seen.push(text);
    }
  };
  new MutationObserver(record).observe(document, { subtree: true, childList: true, characterData: true });
};

async function command(page, title) {
  await page.keyboard.press("F1");
  const input = page.locator(".quick-input-widget input").first();
  await input.waitFor({ state: "visible", timeout: 30000 });
  await input.fill(`>${title}`);
  await page.locator(".quick-input-list .monaco-list-row").first().waitFor({ timeout: 30000 });
  await page.waitForTimeout(300);
  await page.keyboard.press("Enter");
}

async function openFile(page, name, line) {
  await page.keyboard.press("Control+P");
  const input = page.locator(".quick-input-widget input").first();
  await input.waitFor({ state: "visible", timeout: 30000 });
  await input.fill(line ? `${name}:${line}` : name);
  await page.locator(".quick-input-list .monaco-list-row").first().waitFor({ timeout: 30000 });
  await page.waitForTimeout(300);
  await page.keyboard.press("Enter");
  await page.locator(`.tab.active[aria-label*="${name}"]`).first().waitFor({ timeout: 30000 });
  await page.locator(".editor-instance .monaco-editor textarea").first().waitFor({ timeout: 30000 });
  await page.waitForTimeout(500);
}

async function serverReady(page) {
  // The status item shows the device once the server answered codeflow/status.
  await page.waitForFunction(
    () => (window.__codeflowStatus || []).some((t) => /CPU|GPU/.test(t)),
    null,
    { timeout: 180000, polling: 200 },
  );
}

const GHOST = ".monaco-editor .ghost-text-decoration, .monaco-editor .ghost-text";

async function acceptGhost(page, step, shot) {
  await page.locator(GHOST).first().waitFor({ state: "visible", timeout: 60000 });
  await page.waitForTimeout(300);
  step.ghostParts = await page.locator(GHOST).allInnerTexts();
  await page.screenshot({ path: join(config.outDir, shot) });
  await page.keyboard.press("Tab");
  await page.waitForTimeout(500);
  step.ghostAfterTab = await page.locator(GHOST).count();
  await page.keyboard.press("Control+S");
  await page.waitForTimeout(1000);
}

// Type a new function header at the end of the file; the suggestion comes as you type.
async function ghost(page) {
  const step = {};
  await openFile(page, config.file);
  await page.keyboard.press("Control+End");
  await page.keyboard.press("Enter");
  await page.keyboard.press("Enter");
  await page.keyboard.type(config.header, { delay: 30 });
  await page.keyboard.press("Enter");
  await acceptGhost(page, step, "1-ghost-text.png");
  results.steps.ghost = step;
}

// A file that ends in an empty function body on disk: open it, put the cursor at its end and
// ask for the suggestion (no edit was typed, so the prompt is the one `codeflow complete` builds).
async function ghostOpened(page) {
  const step = {};
  await openFile(page, config.openedFile);
  await page.keyboard.press("Control+End");
  await command(page, "Trigger Inline Suggestion");
  await acceptGhost(page, step, "1b-ghost-text-opened.png");
  results.steps.ghostOpened = step;
}

async function status(page) {
  await page.screenshot({ path: join(config.outDir, "4-status-bar.png") });
  results.steps.status = { texts: await page.evaluate(() => window.__codeflowStatus) };
}

function chatFrame(page) {
  return page.frameLocator("iframe.webview").frameLocator("iframe#active-frame");
}

async function chat(page) {
  const step = {};
  await command(page, "codeflow: Open Chat");
  const frame = chatFrame(page);
  const input = frame.locator("#input");
  await input.waitFor({ state: "visible", timeout: 60000 });
  await input.fill(config.question);
  await frame.locator("#send").click();
  const answers = frame.locator(".msg.assistant .body");
  await page.waitForFunction(() => true);
  // The first answer streams in several updates and ends when the Cancel button hides again.
  await answers.first().waitFor({ state: "visible", timeout: 60000 });
  const partial = [];
  for (let i = 0; i < 200 && (await frame.locator("#cancel").isVisible()); i++) {
    const t = await answers.first().innerText();
    if (partial[partial.length - 1] !== t) partial.push(t);
    await page.waitForTimeout(100);
  }
  step.firstAnswer = await answers.first().innerText();
  step.firstAnswerSnapshots = partial.length;
  await page.screenshot({ path: join(config.outDir, "2-chat.png") });

  await input.fill(config.question2);
  await frame.locator("#send").click();
  await answers.nth(1).waitFor({ state: "visible", timeout: 60000 });
  await frame.locator("#cancel").waitFor({ state: "visible", timeout: 30000 });
  for (let i = 0; i < 100 && !(await answers.nth(1).innerText()).trim(); i++) await page.waitForTimeout(100);
  step.secondBeforeCancel = await answers.nth(1).innerText();
  await frame.locator("#cancel").click();
  await frame.locator("#cancel").waitFor({ state: "hidden", timeout: 30000 });
  await page.waitForTimeout(1500);
  step.secondAnswer = await answers.nth(1).innerText();
  step.messages = await frame.locator(".msg").allInnerTexts();
  await page.screenshot({ path: join(config.outDir, "2b-chat-cancelled.png") });
  results.steps.chat = step;
}

async function fix(page) {
  const step = {};
  await command(page, "codeflow: Run Tests and Fix");
  // When the run ends the extension opens the Problems view (it takes the focus).
  await page.locator(".markers-panel .monaco-list-row").first().waitFor({ timeout: 240000 });
  await page.waitForTimeout(1000);
  await openFile(page, config.testFile, config.failLine + 1);
  const squiggle = page.locator(".monaco-editor .squiggly-error");
  await squiggle.first().waitFor({ state: "attached", timeout: 180000 });
  step.squiggles = await squiggle.count();
  // The text of each line that carries an error squiggle (overlay and line share their `top`).
  step.squiggledLines = await page.evaluate(() => {
    const ed = document.querySelector(".editor-instance .monaco-editor");
    const tops = new Set([...ed.querySelectorAll(".squiggly-error")].map((e) => e.parentElement.style.top));
    return [...ed.querySelectorAll(".view-lines .view-line")]
      .filter((l) => tops.has(l.style.top))
      .map((l) => l.textContent.replace(/\u00a0/g, " "));
  });
  await page.keyboard.press("End");
  await page.keyboard.press("Control+.");
  const menu = page.locator(".action-widget");
  await menu.first().waitFor({ state: "visible", timeout: 30000 });
  await page.waitForTimeout(500);
  step.actions = (await menu.first().innerText()).split("\n").map((t) => t.trim()).filter(Boolean);
  await page.screenshot({ path: join(config.outDir, "3-fix-menu.png") });
  await menu.getByText(config.fixTitle, { exact: false }).first().click();
  // Resolving runs the candidates (each verified by pytest in a scratch copy); VS Code applies
  // the chosen edit to calc.py's text model (open or not), which "Save All" writes to disk.
  const before = readFileSync(config.fixedFile, "utf8");
  for (let i = 0; i < 80 && readFileSync(config.fixedFile, "utf8") === before; i++) {
    await page.waitForTimeout(3000);
    await command(page, "File: Save All");
  }
  await page.waitForTimeout(1000);
  await page.screenshot({ path: join(config.outDir, "3-fix-applied.png") });
  results.steps.fix = step;
}

const STEPS = { ghost, ghostOpened, status, chat, fix };

const browser = await chromium.launch({
  executablePath: config.chromium,
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.on("pageerror", (e) => results.errors.push(String(e)));
  await page.addInitScript(STATUS_OBSERVER);
  await page.goto(config.url, { waitUntil: "domcontentloaded", timeout: 120000 });
  await page.locator(".monaco-workbench").waitFor({ timeout: 120000 });
  log("workbench up");
  await serverReady(page);
  log("server ready");
  for (const name of config.steps) {
    try {
      await STEPS[name](page);
      log("step", name, "done");
    } catch (e) {
      results.steps[name] = { ...(results.steps[name] || {}), error: String(e && e.stack ? e.stack : e) };
      await page.screenshot({ path: join(config.outDir, `failed-${name}.png`) }).catch(() => {});
      log("step", name, "failed", e);
    }
    save();
  }
  results.statusTexts = await page.evaluate(() => window.__codeflowStatus);
} finally {
  save();
  await browser.close();
}
