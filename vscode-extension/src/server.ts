/** Owns the LanguageClient: start, stop, restart (serialised), settings mirroring, status. */
import * as fs from "node:fs";
import * as vscode from "vscode";
import {
  CancellationTokenSource,
  ExecuteCommandRequest,
  LanguageClient,
  LanguageClientOptions,
  ProgressType,
  ServerOptions,
  State,
} from "vscode-languageclient/node";
import { AcceptanceTracker } from "./logic/acceptance";
import type { CancelSource, RpcLike } from "./logic/chatController";
import type { ChatProgress } from "./logic/protocol";
import { SerialRunner } from "./logic/serial";
import { resolveServerCommand } from "./logic/serverCommand";
import {
  changedKeys,
  CodeflowSettings,
  didChangeConfigurationParams,
  needsRestart,
  readSettings,
} from "./logic/settings";
import type { ClientState, ServerStatus } from "./logic/status";

export const ACCEPT_COMMAND = "codeflow._didAcceptInlineCompletion";

function isExecutable(f: string): boolean {
  try {
    fs.accessSync(f, fs.constants.X_OK);
    return fs.statSync(f).isFile();
  } catch {
    return false;
  }
}

export class ServerManager implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private readonly serial = new SerialRunner();
  private settings: CodeflowSettings;
  private readonly disposables: vscode.Disposable[] = [];
  private shownProblems = new Set<string>();
  readonly tracker: AcceptanceTracker;
  state: ClientState = "stopped";
  status: ServerStatus | undefined;
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;

  constructor(readonly output: vscode.LogOutputChannel) {
    this.settings = this.readSettings();
    this.tracker = new AcceptanceTracker((p) => void this.client?.sendNotification("codeflow/didAcceptCompletion", p));
    this.disposables.push(
      this.changed,
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration("codeflow")) {
          this.onConfigChanged().catch((err) => this.output.error(`applying the settings failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`));
        }
      }),
      vscode.workspace.onDidChangeTextDocument((e) => {
        for (const c of e.contentChanges) {
          this.tracker.change(e.document.uri.toString(), c.range.start, c.rangeLength, c.text);
        }
      }),
      vscode.commands.registerCommand(ACCEPT_COMMAND, async (info: { uri: string; text: string }, next?: vscode.Command) => {
        this.tracker.acceptedAll(info.uri, info.text);
        if (next) await vscode.commands.executeCommand(next.command, ...(next.arguments ?? []));
      }),
    );
  }

  get current(): CodeflowSettings {
    return this.settings;
  }

  private readSettings(): CodeflowSettings {
    const cfg = vscode.workspace.getConfiguration("codeflow");
    // get() applies workspace trust (restrictedConfigurations) and the package.json defaults,
    // which a unit test keeps equal to DEFAULT_SETTINGS.
    const { settings, problems } = readSettings((k) => cfg.get(k));
    for (const p of problems) {
      this.output.warn(p);
      if (!this.shownProblems.has(p)) {
        this.shownProblems.add(p);
        void vscode.window.showWarningMessage(p);
      }
    }
    return settings;
  }

  rpc(): RpcLike | undefined {
    const c = this.client;
    if (!c || !c.isRunning()) return undefined;
    return {
      sendRequest: <R>(method: string, params: unknown, token?: { isCancellationRequested: boolean }) =>
        c.sendRequest<R>(method, params, token as vscode.CancellationToken | undefined),
      onProgress: (token: string, handler: (v: ChatProgress) => void) =>
        c.onProgress(new ProgressType<ChatProgress>(), token, handler),
    };
  }

  newCancelSource(): CancelSource {
    const s = new CancellationTokenSource();
    return { token: s.token, cancel: () => s.cancel(), dispose: () => s.dispose() };
  }

  async executeServerCommand(command: string, args: unknown[] = []): Promise<unknown> {
    const c = this.client;
    if (!c || !c.isRunning()) throw new Error("The codeflow server is not running.");
    return c.sendRequest(ExecuteCommandRequest.type, { command, arguments: args });
  }

  start(): Promise<void> {
    return this.serial.run(() => this.doStart());
  }

  restart(): Promise<void> {
    return this.serial.run(async () => {
      await this.doStop();
      await this.doStart();
    });
  }

  stop(): Promise<void> {
    return this.serial.run(() => this.doStop());
  }

  private setState(s: ClientState): void {
    this.state = s;
    this.changed.fire();
  }

  private async onConfigChanged(): Promise<void> {
    const before = this.settings;
    this.settings = this.readSettings();
    const keys = changedKeys(before, this.settings);
    if (!keys.length) return;
    this.output.info(`settings changed: ${keys.join(", ")}`);
    if (needsRestart(keys) || !this.client) {
      await this.restart();
      return;
    }
    const c = this.client;
    if (c.isRunning()) {
      // The protocol trace follows `codeflow.trace.server` and the output channel's log level
      // (vscode-languageclient 10+ reads both itself).
      await c.sendNotification("workspace/didChangeConfiguration", didChangeConfigurationParams(this.settings));
    }
    this.changed.fire();
  }

  private async doStart(): Promise<void> {
    if (this.client) return;
    const s = this.settings;
    const resolved = resolveServerCommand(s, {
      pathEnv: process.env.PATH ?? "",
      platform: process.platform,
      workspaceFolders: (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath),
      isExecutable,
    });
    if (!resolved.ok) {
      this.output.error(resolved.message);
      this.setState("missing");
      void vscode.window.showErrorMessage(resolved.message, "Open Settings", "Open Logs").then((pick) => {
        if (pick === "Open Settings") void vscode.commands.executeCommand("workbench.action.openSettings", "codeflow.");
        if (pick === "Open Logs") this.output.show();
      });
      return;
    }
    this.output.info(`starting ${resolved.command} ${resolved.args.join(" ")} (from ${resolved.source})`);
    const serverOptions: ServerOptions = {
      command: resolved.command,
      args: resolved.args,
      // No `transport`: TransportKind.stdio would append `--stdio`, which `codeflow serve` rejects;
      // without it the client still talks over the process's stdin/stdout.
      options: { cwd: vscode.workspace.workspaceFolders?.[0]?.uri.fsPath, env: { ...process.env } },
    };
    const clientOptions: LanguageClientOptions = {
      documentSelector: [{ scheme: "file" }, { scheme: "untitled" }],
      outputChannel: this.output,
      traceOutputChannel: this.output,
      initializationOptions: s,
      middleware: {
        provideInlineCompletionItems: async (document, position, context, token, next) => {
          if (!this.settings.completion.enabled) return undefined;
          const t0 = Date.now();
          const result = await next(document, position, context, token);
          if (!result || token.isCancellationRequested) return result;
          const items = Array.isArray(result) ? result : result.items;
          const uri = document.uri.toString();
          for (const item of items) {
            const text = typeof item.insertText === "string" ? item.insertText : item.insertText.value;
            const original = item.command;
            item.command = { command: ACCEPT_COMMAND, title: "Accept", arguments: [{ uri, text }, original] };
          }
          const first = items[0];
          if (first) {
            const text = typeof first.insertText === "string" ? first.insertText : first.insertText.value;
            if (text) {
              const start = first.range?.start ?? position;
              this.tracker.shown(uri, { line: start.line, character: start.character }, text);
              void this.client?.sendNotification("codeflow/didShowCompletion", { uri, text, latencyMs: Date.now() - t0 });
            }
          }
          return result;
        },
      },
    };
    const client = new LanguageClient("codeflow", "codeflow", serverOptions, clientOptions);
    this.client = client;
    client.onDidChangeState((e) => {
      if (this.client !== client) return;
      if (e.newState === State.Running) this.setState("running");
      else if (e.newState === State.Starting) this.setState("starting");
      else this.setState("stopped");
    });
    client.onNotification("codeflow/status", (st: ServerStatus) => {
      this.status = st;
      this.changed.fire();
    });
    this.setState("starting");
    try {
      await client.start();
    } catch (e) {
      this.output.error(`the codeflow server failed to start: ${e instanceof Error ? e.message : String(e)}`);
      this.client = undefined;
      this.setState("stopped");
      void vscode.window.showErrorMessage("codeflow: the server failed to start. See the codeflow output.", "Open Logs").then((p) => {
        if (p) this.output.show();
      });
      return;
    }
  }

  private async doStop(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    this.status = undefined;
    this.tracker.flush();
    if (c) {
      try {
        await c.stop(5000);
      } catch (e) {
        this.output.warn(`stopping the server: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    this.setState("stopped");
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}
