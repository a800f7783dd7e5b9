/** Entry point: wire the server, the status bar, the chat view and the commands. */
import * as vscode from "vscode";
import { CHAT_VIEW_ID, ChatViewProvider } from "./chatView";
import { ServerManager } from "./server";
import { showMenu, StatusBar } from "./statusBar";

let server: ServerManager | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const output = vscode.window.createOutputChannel("codeflow", { log: true });
  server = new ServerManager(output);
  const srv = server;
  const chat = new ChatViewProvider(context.extensionUri, srv, context.workspaceState);
  context.subscriptions.push(
    output,
    srv,
    new StatusBar(srv),
    chat,
    vscode.window.registerWebviewViewProvider(CHAT_VIEW_ID, chat, { webviewOptions: { retainContextWhenHidden: true } }),
    vscode.commands.registerCommand("codeflow.showMenu", showMenu),
    vscode.commands.registerCommand("codeflow.restartServer", () => srv.restart()),
    vscode.commands.registerCommand("codeflow.showLogs", () => output.show()),
    vscode.commands.registerCommand("codeflow.openChat", () => vscode.commands.executeCommand(`${CHAT_VIEW_ID}.focus`)),
    vscode.commands.registerCommand("codeflow.chat.clear", () => chat.clear()),
    vscode.commands.registerCommand("codeflow.toggleInlineCompletions", async () => {
      // The setting is the one source of truth; the change reaches the server through
      // workspace/didChangeConfiguration.
      const cfg = vscode.workspace.getConfiguration("codeflow");
      const i = cfg.inspect<boolean>("completion.enabled");
      const target = i?.workspaceValue !== undefined ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
      await cfg.update("completion.enabled", !srv.current.completion.enabled, target);
    }),
    vscode.commands.registerCommand("codeflow.runTestsAndFix", () => runTestsAndFix(srv)),
  );
  await srv.start();
}

async function runTestsAndFix(srv: ServerManager): Promise<void> {
  if (!srv.current.tests.trusted) {
    const cmd = String(srv.current.tests.command || "pytest");
    const ok = await vscode.window.showWarningMessage(
      `codeflow runs "${cmd}" in this workspace to find failing tests. Allow it?`,
      { modal: true },
      "Allow",
    );
    if (ok !== "Allow") return;
    await vscode.workspace.getConfiguration("codeflow").update("tests.trusted", true, vscode.ConfigurationTarget.Workspace);
  }
  const uri = vscode.window.activeTextEditor?.document.uri.toString();
  try {
    await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: "codeflow: running tests…", cancellable: false },
      () => srv.executeServerCommand("codeflow.runTests", uri ? [uri] : []),
    );
    // Failures come back as diagnostics with "Fix with codeflow" quick fixes.
    await vscode.commands.executeCommand("workbench.actions.view.problems");
  } catch (e) {
    void vscode.window.showErrorMessage(`codeflow: running the tests failed: ${e instanceof Error ? e.message : String(e)}`);
  }
}

export async function deactivate(): Promise<void> {
  await server?.stop();
  server = undefined;
}
