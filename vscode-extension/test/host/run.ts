/**
 * Extension-host smoke test without VS Code: the real extension code (src/extension.ts, bundled
 * with vscode-languageclient) runs in node on a `vscode` stub (test/host/vscode-stub.cjs) and
 * starts a real `codeflow serve`. Checks activation, inline completions through the client's
 * LSP 3.18 feature + our middleware (didShow/didAccept in the protocol trace), the chat view's
 * streaming and cancel through the LanguageClient, settings changes (no restart / one restart,
 * never two processes) and the missing-server message. Prints one JSON line; exit 0 = passed.
 * Env: CODEFLOW_SERVER (executable), CODEFLOW_MODEL (model dir, optional).
 */
import { strict as assert } from "node:assert";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import * as vscode from "vscode";
import { activate, deactivate } from "../../src/extension";
import type { HostToPage, PageToHost } from "../../src/logic/protocol";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const T = (vscode as any).__test;

async function waitFor<V>(what: string, fn: () => V | undefined | false, ms = 120000): Promise<V> {
  const t0 = Date.now();
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Live `... serve` child processes of this process (from /proc; no `ps` needed). */
function serverChildren(): string[] {
  const out: string[] = [];
  let pids: string[] = [];
  try {
    pids = readdirSync("/proc").filter((d) => /^\d+$/.test(d));
  } catch {
    return out;
  }
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" "); // state ppid ...
      if (fields[0] === "Z" || Number(fields[1]) !== process.pid) continue;
      const args = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
      if (args.includes("serve")) out.push(`${pid} ${args.join(" ")}`);
    } catch {
      // the process went away while we looked
    }
  }
  return out;
}

const SAMPLE = 'def add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n    return a';

async function main(): Promise<void> {
  const server = process.env.CODEFLOW_SERVER ?? path.resolve(__dirname, "../../.venv/bin/codeflow");
  const root = mkdtempSync(path.join(tmpdir(), "codeflow-host-"));
  const file = path.join(root, "calc.py");
  writeFileSync(file, SAMPLE);
  T.addWorkspaceFolder(root);
  const settings: Record<string, unknown> = { "codeflow.serverPath": server, "codeflow.trace.server": "messages" };
  if (process.env.CODEFLOW_MODEL) {
    Object.assign(settings, { "codeflow.modelPath": process.env.CODEFLOW_MODEL, "codeflow.context.budgetTokens": 384, "codeflow.chat.budgetTokens": 384 });
  }
  Object.assign(T.userValues, settings);

  const state = new Map<string, unknown>();
  const memento = { get: (k: string, d?: unknown) => (state.has(k) ? state.get(k) : d), update: async (k: string, v: unknown) => void state.set(k, v), keys: () => [...state.keys()] };
  const context = { subscriptions: [] as { dispose(): unknown }[], extensionUri: vscode.Uri.file(path.resolve(__dirname, "..")), workspaceState: memento, globalState: memento };
  const summary: Record<string, unknown> = {};
  const trace = () => (T.outputLines as string[]).join("\n");
  try {
    await activate(context as unknown as vscode.ExtensionContext);
    for (const c of ["codeflow.showMenu", "codeflow.restartServer", "codeflow.showLogs", "codeflow.toggleInlineCompletions", "codeflow.runTestsAndFix", "codeflow.openChat", "codeflow.chat.clear"]) {
      assert.ok(T.commands.has(c), `command ${c} registered`);
    }
    assert.ok(T.webviewProviders.has("codeflow.chat"), "chat view registered");
    const inline = await waitFor("inline completion provider", () => T.providers.InlineCompletionItem?.[0]?.provider, 30000);
    const status = T.statusItems.find((s: { id: string }) => s.id === "codeflow.status");
    await waitFor("codeflow/status in the status bar", () => /codeflow-default|·/.test(status.text) && status.text, 60000);
    summary.statusBar = status.text;
    assert.equal(serverChildren().length, 1, `one server process: ${serverChildren().join(" | ")}`);

    // Inline completion: document open → provider → item with our accept command → didShow.
    const doc = T.openDocument(file, "python", SAMPLE);
    const end = doc.positionAt(SAMPLE.length);
    T.setActiveEditor(doc, new vscode.Selection(end, end));
    let items: vscode.InlineCompletionItem[] = [];
    let pos = end;
    // Type like a user until the (small, still training) model has something to say.
    for (const ch of ["", ..." * b\n\n\ndef sub(a, b):\n    return a - b\n\n\ndef div(a, b):\n    "]) {
      if (ch) {
        T.editDocument(doc, new vscode.Range(pos, pos), ch);
        pos = ch === "\n" ? new vscode.Position(pos.line + 1, 0) : pos.translate(0, 1);
      }
      const src = new vscode.CancellationTokenSource();
      const r = await inline.provideInlineCompletionItems(doc, pos, { triggerKind: 1, selectedCompletionInfo: undefined }, src.token);
      items = Array.isArray(r) ? r : (r?.items ?? []);
      if (items.length && items[0].insertText) break;
      summary.emptyAnswers = ((summary.emptyAnswers as number) ?? 0) + 1;
    }
    assert.ok(items.length > 0, "the server gave an inline completion");
    const item = items[0];
    const text = typeof item.insertText === "string" ? item.insertText : item.insertText.value;
    assert.equal(item.command?.command, "codeflow._didAcceptInlineCompletion");
    await waitFor("didShowCompletion in the trace", () => trace().includes("Sending notification 'codeflow/didShowCompletion'"), 10000);
    // VS Code inserts the text, then runs the item's command.
    T.editDocument(doc, new vscode.Range(pos, pos), text);
    await vscode.commands.executeCommand(item.command!.command, ...(item.command!.arguments ?? []));
    await waitFor("didAcceptCompletion in the trace", () => trace().includes("Sending notification 'codeflow/didAcceptCompletion'"), 10000);
    summary.inline = text;

    // Chat through the webview view and the LanguageClient.
    const posted: HostToPage[] = [];
    let receive: ((m: PageToHost) => unknown) | undefined;
    const view = {
      webview: {
        options: {},
        html: "",
        cspSource: "vscode-webview://stub",
        asWebviewUri: (u: vscode.Uri) => u,
        postMessage: async (m: HostToPage) => void posted.push(m),
        onDidReceiveMessage: (fn: (m: PageToHost) => unknown) => {
          receive = fn;
          return new vscode.Disposable(() => undefined);
        },
      },
      onDidDispose: () => new vscode.Disposable(() => undefined),
      visible: true,
    };
    T.webviewProviders.get("codeflow.chat").resolveWebviewView(view, {}, new vscode.CancellationTokenSource().token);
    assert.match(view.webview.html, /Content-Security-Policy" content="default-src &#39;none&#39;/);
    receive!({ type: "ready" });
    await waitFor("init", () => posted.find((m) => m.type === "init"), 5000);
    receive!({ type: "ask", text: "What does add do?" });
    const end1 = await waitFor("chat end", () => posted.find((m): m is Extract<HostToPage, { type: "end" }> => m.type === "end"));
    const deltas = posted.filter((m): m is Extract<HostToPage, { type: "delta" }> => m.type === "delta");
    assert.ok(deltas.length >= 1 && end1.text.length > 0, "streamed answer");
    assert.equal(deltas.map((d) => d.delta).join(""), end1.text);
    assert.notEqual(end1.finishReason, "error");
    // Cancel right after the first token (a fast answer that ends first → the next question).
    let end2: Extract<HostToPage, { type: "end" }> | undefined;
    for (const q of ["Write a long tutorial about arithmetic.", "Explain calc.py line by line, at length.", "Rewrite calc.py with docstrings and tests, and explain each change."]) {
      const n = posted.filter((m) => m.type === "start").length;
      receive!({ type: "ask", text: q });
      const st = await waitFor("start", () => posted.filter((m) => m.type === "start")[n]);
      const id = (st as { id: number }).id;
      await waitFor("first token", () => posted.find((m) => (m.type === "delta" || m.type === "end") && (m as { id: number }).id === id));
      receive!({ type: "cancel" });
      const e = await waitFor("end", () => posted.find((m): m is Extract<HostToPage, { type: "end" }> => m.type === "end" && m.id === id), 30000);
      if (e.finishReason === "cancelled") {
        end2 = e;
        break;
      }
    }
    assert.ok(end2, "every answer finished before the cancel");
    assert.ok(trace().includes("Request failed: Request with id") && trace().includes("(-32800)"), "the server answered RequestCancelled");
    const turns = posted.filter((m) => m.type === "start").length;
    assert.equal(((state.get("codeflow.chat.history.v1") as unknown[]) ?? []).length, 2 * turns, "history stored in workspaceState");
    summary.chat = { answerChars: end1.text.length, deltas: deltas.length, cancelledAfterChars: end2.text.length };

    // Settings: a plain change goes through didChangeConfiguration; a burst of restart-worthy
    // changes gives exactly one restart.
    const starts = () => (trace().match(/starting .* serve/g) ?? []).length;
    const s0 = starts();
    T.setConfig({ "codeflow.completion.maxTokens": 16 });
    await waitFor("didChangeConfiguration", () => trace().includes("Sending notification 'workspace/didChangeConfiguration'"), 10000);
    assert.equal(starts(), s0, "no restart for completion.maxTokens");
    T.setConfig({ "codeflow.provider": "cpu" });
    T.setConfig({ "codeflow.provider": "auto" });
    T.setConfig({ "codeflow.provider": "cpu" });
    await waitFor("restart", () => starts() > s0, 30000);
    await waitFor("running again", () => /·/.test(status.text), 60000);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(starts(), s0 + 1, `one restart for a burst of changes, saw ${starts() - s0}`);
    await waitFor("one server process", () => serverChildren().length === 1, 10000);

    // A missing server is reported with what to do.
    T.setConfig({ "codeflow.serverPath": path.join(root, "no-such-codeflow") });
    const err = await waitFor("error message", () => T.messages.find((m: { level: string; message: string }) => m.level === "error" && m.message.includes("no-such-codeflow")), 30000);
    assert.match(err.message, /does not exist or is not executable.*codeflow\.pythonPath/);
    assert.match(status.text, /no server/);
    await waitFor("old server gone", () => serverChildren().length === 0, 10000);
    summary.missingServer = err.message;
    summary.ok = true;
  } finally {
    await deactivate();
    for (const d of context.subscriptions) d.dispose();
    rmSync(root, { recursive: true, force: true });
  }
  assert.equal(serverChildren().length, 0, "server stopped on deactivate");
  console.log(JSON.stringify(summary));
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(`FAIL: ${e?.stack ?? e}`);
    console.error((T.outputLines as string[]).slice(-40).join("\n"));
    process.exit(1);
  },
);
