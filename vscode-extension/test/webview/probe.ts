/** Polls what the real server offers: `node dist-test/probe.js [workspace]`. Prints one JSON line. */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { CancellationTokenSource, ProgressType } from "vscode-jsonrpc/node";
import { startServer } from "./lspProcess";

async function main(): Promise<void> {
  const ws = process.argv[2] ?? mkdtempSync(path.join(tmpdir(), "codeflow-probe-"));
  if (!process.argv[2]) writeFileSync(path.join(ws, "app.py"), "def add(a, b):\n    return a + b\n");
  const s = await startServer({ workspace: ws });
  const caps = s.capabilities;
  const out: Record<string, unknown> = {
    inlineCompletionProvider: !!caps.inlineCompletionProvider,
    completionProvider: !!caps.completionProvider,
    codeActionProvider: !!caps.codeActionProvider,
    commands: (caps.executeCommandProvider as { commands?: string[] } | undefined)?.commands ?? [],
  };
  const deltas: string[] = [];
  s.conn.onProgress(new ProgressType<{ delta?: string }>(), "probe-1", (v: { delta?: string }) => void deltas.push(v.delta ?? ""));
  const src = new CancellationTokenSource();
  const t = setTimeout(() => src.cancel(), 60000);
  try {
    const r = await s.conn.sendRequest("codeflow/chat", { messages: [{ role: "user", content: "What does add do?" }], partialResultToken: "probe-1" }, src.token);
    out.chat = { ok: true, result: r, deltas: deltas.length };
  } catch (e) {
    out.chat = { ok: false, error: String((e as Error).message ?? e), code: (e as { code?: number }).code };
  }
  clearTimeout(t);
  out.status = s.notifications.filter((n) => n.method === "codeflow/status").map((n) => n.params).slice(-1)[0];
  await s.dispose();
  console.log(JSON.stringify(out));
}

main().catch((e) => {
  console.error(String(e?.stack ?? e));
  process.exit(1);
});
