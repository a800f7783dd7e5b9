/** Status bar item (model, CPU/GPU, indexing, last latency) and its quick pick menu. */
import * as vscode from "vscode";
import { statusView } from "./logic/status";
import type { ServerManager } from "./server";

export class StatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem("codeflow.status", vscode.StatusBarAlignment.Right, 100);

  constructor(private readonly server: ServerManager) {
    this.item.name = "codeflow";
    this.item.command = "codeflow.showMenu";
    server.onDidChange(() => this.update());
    this.update();
    this.item.show();
  }

  update(): void {
    const v = statusView(this.server.state, this.server.status, this.server.current.completion.enabled);
    this.item.text = v.text;
    this.item.tooltip = v.tooltip;
    this.item.backgroundColor =
      v.severity === "error"
        ? new vscode.ThemeColor("statusBarItem.errorBackground")
        : v.severity === "warning"
          ? new vscode.ThemeColor("statusBarItem.warningBackground")
          : undefined;
  }

  dispose(): void {
    this.item.dispose();
  }
}

export async function showMenu(): Promise<void> {
  const items: (vscode.QuickPickItem & { command: string })[] = [
    { label: "$(sparkle) Toggle inline completions", command: "codeflow.toggleInlineCompletions" },
    { label: "$(comment-discussion) Open chat", command: "codeflow.openChat" },
    { label: "$(beaker) Run tests and fix", command: "codeflow.runTestsAndFix" },
    { label: "$(output) Open logs", command: "codeflow.showLogs" },
    { label: "$(debug-restart) Restart server", command: "codeflow.restartServer" },
  ];
  const pick = await vscode.window.showQuickPick(items, { title: "codeflow", placeHolder: "What should codeflow do?" });
  if (pick) await vscode.commands.executeCommand(pick.command);
}
