import { describe, expect, it } from "vitest";
import { CancelSource, ChatController, ChatHost, RpcLike } from "../../src/logic/chatController";
import { ChatHistory, MemoryStore } from "../../src/logic/history";
import { ChatParams, HostToPage, parseReferences } from "../../src/logic/protocol";
import { chatHtml, contentSecurityPolicy } from "../../src/logic/webviewHtml";

/** An in-memory stand-in for the server's codeflow/chat (the real one is used in the browser test). */
class FakeChatServer implements RpcLike {
  handlers = new Map<string, (v: { delta: string }) => void>();
  requests: ChatParams[] = [];
  constructor(
    private readonly deltas: string[],
    private readonly stepMs = 5,
  ) {}
  onProgress(token: string, handler: (v: { delta: string }) => void) {
    this.handlers.set(token, handler);
    return { dispose: () => this.handlers.delete(token) };
  }
  async sendRequest<R>(method: string, params: unknown, token?: { isCancellationRequested: boolean }): Promise<R> {
    expect(method).toBe("codeflow/chat");
    const p = params as ChatParams;
    this.requests.push(p);
    let text = "";
    for (const d of this.deltas) {
      await new Promise((r) => setTimeout(r, this.stepMs));
      if (token?.isCancellationRequested) throw Object.assign(new Error("Request cancelled"), { code: -32800 });
      this.handlers.get(p.partialResultToken)?.({ delta: d });
      text += d;
    }
    return { text, finishReason: "stop" } as R;
  }
}

function cancelSource(): CancelSource {
  const token = { isCancellationRequested: false };
  return { token, cancel: () => (token.isCancellationRequested = true), dispose: () => undefined };
}

function makeHost(rpc: RpcLike | undefined, opts: Partial<ChatHost> = {}) {
  const posted: HostToPage[] = [];
  const actions: string[] = [];
  const host: ChatHost = {
    rpc: () => rpc,
    newCancelSource: cancelSource,
    post: (m) => posted.push(m),
    resolveReferences: async (names) => ({
      uris: names.filter((n) => n !== "nope.py").map((n) => `file:///ws/${n}`),
      missing: names.filter((n) => n === "nope.py"),
    }),
    selection: () => ({
      params: { uri: "file:///ws/a.py", range: { start: { line: 1, character: 0 }, end: { line: 3, character: 0 } } },
      label: "a.py:2-4",
    }),
    codeAction: async (a, code) => void actions.push(`${a}:${code}`),
    log: () => undefined,
    ...opts,
  };
  return { host, posted, actions };
}

describe("ChatController", () => {
  it("streams deltas to the page, sends references + selection + history, stores the turn", async () => {
    const rpc = new FakeChatServer(["Use ", "`sorted`", "."]);
    const store = new MemoryStore();
    const history = new ChatHistory(store);
    await history.append({ role: "user", content: "hi" }, { role: "assistant", content: "hello" });
    const { host, posted } = makeHost(rpc);
    const c = new ChatController(host, history);
    await c.handle({ type: "ask", text: "How do I sort @util.py and @nope.py?" });
    expect(rpc.requests[0].messages).toEqual([
      { role: "user", content: "hi" },
      { role: "assistant", content: "hello" },
      { role: "user", content: "How do I sort @util.py and @nope.py?" },
    ]);
    expect(rpc.requests[0].references).toEqual(["file:///ws/util.py"]);
    expect(rpc.requests[0].selection?.uri).toBe("file:///ws/a.py");
    expect(rpc.requests[0].partialResultToken).toMatch(/^codeflow-chat-/);
    expect(posted.map((m) => m.type)).toEqual(["start", "delta", "delta", "delta", "end"]);
    expect(posted[0]).toMatchObject({ references: ["file:///ws/util.py"], missing: ["nope.py"] });
    expect(posted.at(-1)).toEqual({ type: "end", id: 1, text: "Use `sorted`.", finishReason: "stop" });
    expect(history.all().slice(-2)).toEqual([
      { role: "user", content: "How do I sort @util.py and @nope.py?" },
      { role: "assistant", content: "Use `sorted`.", finishReason: "stop" },
    ]);
    expect(rpc.handlers.size).toBe(0);
    expect(c.busy).toBe(false);
  });

  it("cancels: the turn ends as cancelled with the partial text", async () => {
    const rpc = new FakeChatServer(Array.from({ length: 50 }, (_, i) => `t${i} `), 10);
    const { host, posted } = makeHost(rpc);
    const c = new ChatController(host, new ChatHistory(new MemoryStore()));
    const done = c.handle({ type: "ask", text: "long answer please", includeSelection: false });
    while (posted.filter((m) => m.type === "delta").length < 2) await new Promise((r) => setTimeout(r, 5));
    expect(c.busy).toBe(true);
    await c.handle({ type: "cancel" });
    await done;
    const end = posted.at(-1);
    expect(end).toMatchObject({ type: "end", finishReason: "cancelled" });
    expect(end?.type === "end" && end.text.startsWith("t0 t1 ")).toBe(true);
    expect(posted.filter((m) => m.type === "delta").length).toBeLessThan(50);
    expect(rpc.requests[0].selection).toBeUndefined();
  });

  it("reports a missing server and server errors to the page", async () => {
    const a = makeHost(undefined);
    await new ChatController(a.host, new ChatHistory(new MemoryStore())).ask("q");
    expect(a.posted.at(-1)).toMatchObject({ type: "error", message: "The codeflow server is not running." });

    const failing: RpcLike = {
      onProgress: () => ({ dispose() {} }),
      sendRequest: async () => {
        throw Object.assign(new Error("model not loaded"), { code: -32603 });
      },
    };
    const b = makeHost(failing);
    const h = new ChatHistory(new MemoryStore());
    await new ChatController(b.host, h).ask("q");
    expect(b.posted.map((m) => m.type)).toEqual(["start", "error", "end"]);
    expect(b.posted[1]).toMatchObject({ message: "model not loaded" });
    expect(h.all().at(-1)).toMatchObject({ role: "assistant", finishReason: "error" });
  });

  it("sends history on ready, clears it, forwards code actions", async () => {
    const h = new ChatHistory(new MemoryStore());
    await h.append({ role: "user", content: "q" });
    const { host, posted, actions } = makeHost(new FakeChatServer([]));
    const c = new ChatController(host, h);
    await c.handle({ type: "ready" });
    expect(posted[0]).toEqual({ type: "init", messages: [{ role: "user", content: "q" }], busy: false, context: { selection: "a.py:2-4" } });
    await c.handle({ type: "apply", code: "x = 1" });
    await c.handle({ type: "clear" });
    expect(actions).toEqual(["apply:x = 1"]);
    expect(h.all()).toEqual([]);
    expect(posted.at(-1)).toEqual({ type: "cleared" });
  });

  it("parses @references", () => {
    expect(parseReferences("see @src/app.py, (@util.py) and email a@b.c @x")).toEqual(["src/app.py", "util.py"]);
  });
});

describe("webview HTML", () => {
  it("sets a strict CSP: nonce scripts, no remote, no inline", () => {
    const html = chatHtml({ cspSource: "vscode-webview://abc", scriptUri: "vscode-webview://abc/webview.js", styleUri: "vscode-webview://abc/webview.css", nonce: "N0nce" });
    const csp = contentSecurityPolicy("vscode-webview://abc", "N0nce");
    expect(csp).toBe(
      "default-src 'none'; style-src vscode-webview://abc; font-src vscode-webview://abc; img-src vscode-webview://abc data:; script-src 'nonce-N0nce'; connect-src 'none'; base-uri 'none'; form-action 'none'",
    );
    expect(html).toContain(`content="default-src 'none'`.replace(/'/g, "&#39;"));
    expect(html).toContain('<script nonce="N0nce" src="vscode-webview://abc/webview.js"></script>');
    expect(html).not.toMatch(/https?:\/\//);
    expect((html.match(/<script/g) ?? []).length).toBe(1);
  });
});
