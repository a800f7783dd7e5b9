/**
 * A real `codeflow serve` process over stdio (Content-Length framed JSON-RPC, via vscode-jsonrpc,
 * the same library the LanguageClient uses), initialised like the extension does.
 */
import { ChildProcess, spawn } from "node:child_process";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import {
  createMessageConnection,
  MessageConnection,
  StreamMessageReader,
  StreamMessageWriter,
} from "vscode-jsonrpc/node";
import { DEFAULT_SETTINGS, CodeflowSettings } from "../../src/logic/settings";

export interface ServerHandle {
  conn: MessageConnection;
  proc: ChildProcess;
  capabilities: Record<string, unknown>;
  stderr(): string;
  notifications: { method: string; params: unknown }[];
  dispose(): Promise<void>;
}

export function defaultServerCommand(): { command: string; args: string[] } {
  const env = process.env.CODEFLOW_SERVER;
  if (env) {
    const [command, ...args] = env.split(" ").filter(Boolean);
    return { command, args: args.length ? args : ["serve"] };
  }
  // Bundled into dist-test/: the repo root is two levels up.
  return { command: path.resolve(__dirname, "../../.venv/bin/codeflow"), args: ["serve"] };
}

/** The settings the tests send: defaults, or CODEFLOW_MODEL's model dir with small budgets. */
export function testSettings(): CodeflowSettings {
  const model = process.env.CODEFLOW_MODEL;
  if (!model) return DEFAULT_SETTINGS;
  return { ...DEFAULT_SETTINGS, modelPath: model, context: { budgetTokens: 384 }, chat: { budgetTokens: 384, maxTokens: 512 } };
}

export async function startServer(opts: {
  workspace: string;
  command?: string;
  args?: string[];
  settings?: CodeflowSettings;
  log?: (line: string) => void;
}): Promise<ServerHandle> {
  const cmd = opts.command ? { command: opts.command, args: opts.args ?? ["serve"] } : defaultServerCommand();
  const proc = spawn(cmd.command, cmd.args, { cwd: opts.workspace, stdio: ["pipe", "pipe", "pipe"], env: process.env });
  let stderr = "";
  proc.stderr!.setEncoding("utf8");
  proc.stderr!.on("data", (d: string) => {
    stderr = (stderr + d).slice(-20000);
  });
  const exited = new Promise<number | null>((res) => {
    proc.on("exit", (code) => res(code));
    proc.on("error", (e) => {
      stderr += `\nspawn ${cmd.command} failed: ${e.message}`;
      res(null);
    });
  });
  const conn = createMessageConnection(new StreamMessageReader(proc.stdout!), new StreamMessageWriter(proc.stdin!));
  const notifications: { method: string; params: unknown }[] = [];
  conn.onNotification((method, params) => {
    notifications.push({ method, params });
    if (method === "window/logMessage") opts.log?.(`[server] ${(params as { message?: string }).message ?? ""}`);
  });
  // Requests a client must answer (progress create, configuration, registrations, applyEdit).
  conn.onRequest((method, params) => {
    opts.log?.(`[server→client request] ${method}`);
    if (method === "workspace/configuration") {
      const items = (params as { items?: { section?: string }[] }).items ?? [];
      return items.map((i) => (i.section === "codeflow" ? (opts.settings ?? testSettings()) : null));
    }
    if (method === "workspace/applyEdit") return { applied: false, failureReason: "browser test" };
    return null;
  });
  conn.listen();
  const rootUri = pathToFileURL(opts.workspace).toString();
  const init = conn.sendRequest<{ capabilities: Record<string, unknown> }>("initialize", {
    processId: process.pid,
    clientInfo: { name: "codeflow-webview-test", version: "0.1.0" },
    rootUri,
    workspaceFolders: [{ uri: rootUri, name: path.basename(opts.workspace) }],
    initializationOptions: opts.settings ?? testSettings(),
    capabilities: {
      window: { workDoneProgress: true },
      workspace: { configuration: true, applyEdit: true, workspaceFolders: true },
      textDocument: { synchronization: { didSave: true }, inlineCompletion: { dynamicRegistration: false } },
    },
  });
  const result = await Promise.race([
    init,
    exited.then((code) => {
      throw new Error(`codeflow serve exited (code ${code}) during initialize:\n${stderr}`);
    }),
  ]);
  await conn.sendNotification("initialized", {});
  return {
    conn,
    proc,
    capabilities: result.capabilities,
    stderr: () => stderr,
    notifications,
    async dispose() {
      try {
        await Promise.race([conn.sendRequest("shutdown"), new Promise((r) => setTimeout(r, 3000))]);
        await conn.sendNotification("exit");
      } catch {
        // already gone
      }
      const t = setTimeout(() => proc.kill("SIGKILL"), 3000);
      await exited;
      clearTimeout(t);
      conn.dispose();
    },
  };
}
