/** The chat webview view in the sidebar; the logic is in logic/chatController.ts. */
import * as path from "node:path";
import * as vscode from "vscode";
import { ChatController, ChatHost } from "./logic/chatController";
import { ChatHistory } from "./logic/history";
import type { CodeAction, HostToPage, PageToHost } from "./logic/protocol";
import { chatHtml } from "./logic/webviewHtml";
import type { ServerManager } from "./server";

export const CHAT_VIEW_ID = "codeflow.chat";

export class ChatViewProvider implements vscode.WebviewViewProvider, vscode.Disposable {
  private view: vscode.WebviewView | undefined;
  readonly controller: ChatController;
  private readonly disposables: vscode.Disposable[] = [];
  private lastEditor: vscode.TextEditor | undefined = vscode.window.activeTextEditor;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly server: ServerManager,
    workspaceState: vscode.Memento,
  ) {
    this.controller = new ChatController(this.host(), new ChatHistory(workspaceState));
    let timer: NodeJS.Timeout | undefined;
    const pushContext = () => {
      clearTimeout(timer);
      timer = setTimeout(() => this.post({ type: "context", context: this.controller.contextInfo() }), 150);
    };
    this.disposables.push(
      vscode.window.onDidChangeActiveTextEditor((e) => {
        if (e) this.lastEditor = e;
        pushContext();
      }),
      vscode.window.onDidChangeTextEditorSelection((e) => {
        this.lastEditor = e.textEditor;
        pushContext();
      }),
    );
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    this.view = view;
    const dist = vscode.Uri.joinPath(this.extensionUri, "dist");
    view.webview.options = { enableScripts: true, localResourceRoots: [dist] };
    view.webview.html = chatHtml({
      cspSource: view.webview.cspSource,
      scriptUri: view.webview.asWebviewUri(vscode.Uri.joinPath(dist, "webview.js")).toString(),
      styleUri: view.webview.asWebviewUri(vscode.Uri.joinPath(dist, "webview.css")).toString(),
    });
    view.webview.onDidReceiveMessage((m: PageToHost) => void this.controller.handle(m), undefined, this.disposables);
    view.onDidDispose(() => (this.view = undefined), undefined, this.disposables);
  }

  clear(): Promise<void> {
    return this.controller.handle({ type: "clear" });
  }

  private post(msg: HostToPage): void {
    void this.view?.webview.postMessage(msg);
  }

  private editor(): vscode.TextEditor | undefined {
    const e = vscode.window.activeTextEditor ?? this.lastEditor;
    return e && !e.document.isClosed ? e : undefined;
  }

  private host(): ChatHost {
    return {
      rpc: () => this.server.rpc(),
      newCancelSource: () => this.server.newCancelSource(),
      post: (m) => this.post(m),
      log: (l) => this.server.output.info(l),
      resolveReferences: async (names) => {
        const uris: string[] = [];
        const missing: string[] = [];
        for (const name of names) {
          const uri = await findWorkspaceFile(name);
          if (uri) uris.push(uri.toString());
          else missing.push(name);
        }
        return { uris, missing };
      },
      selection: () => {
        const e = this.editor();
        if (!e || e.selection.isEmpty) return undefined;
        const { start, end } = e.selection;
        return {
          params: {
            uri: e.document.uri.toString(),
            range: { start: { line: start.line, character: start.character }, end: { line: end.line, character: end.character } },
          },
          label: `${path.basename(e.document.uri.path)}:${start.line + 1}-${end.line + 1}`,
        };
      },
      codeAction: (action, code, _lang, file) => this.codeAction(action, code, file),
    };
  }

  private async codeAction(action: CodeAction, code: string, file?: string): Promise<void> {
    if (action === "copy") {
      await vscode.env.clipboard.writeText(code);
      void vscode.window.setStatusBarMessage("codeflow: copied", 2000);
      return;
    }
    const editor = this.editor();
    if (action === "insert") {
      if (!editor) {
        void vscode.window.showWarningMessage("codeflow: open an editor to insert the code into.");
        return;
      }
      await editor.edit((b) => {
        for (const sel of editor.selections) b.replace(sel, code);
      });
      return;
    }
    // apply: the server computes and applies the edit (workspace/applyEdit) for the file.
    const target = file ? await findWorkspaceFile(file) : editor?.document.uri;
    if (!target) {
      void vscode.window.showWarningMessage("codeflow: no file to apply the code to (open one, or name it in the code fence).");
      return;
    }
    const arg: { uri: string; code: string; range?: unknown } = { uri: target.toString(), code };
    if (editor && !editor.selection.isEmpty && editor.document.uri.toString() === target.toString()) {
      const { start, end } = editor.selection;
      arg.range = { start: { line: start.line, character: start.character }, end: { line: end.line, character: end.character } };
    }
    try {
      await this.server.executeServerCommand("codeflow.applyCodeBlock", [arg]);
    } catch (e) {
      void vscode.window.showErrorMessage(`codeflow: apply failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}

async function findWorkspaceFile(name: string): Promise<vscode.Uri | undefined> {
  for (const folder of vscode.workspace.workspaceFolders ?? []) {
    const uri = vscode.Uri.joinPath(folder.uri, name);
    try {
      const st = await vscode.workspace.fs.stat(uri);
      if (st.type & vscode.FileType.File) return uri;
    } catch {
      // not at this path; search below
    }
  }
  const glob = name.includes("/") ? `**/${name}` : `**/${name}`;
  const hits = await vscode.workspace.findFiles(glob, "**/{node_modules,.git,.venv}/**", 1);
  return hits[0];
}
