/**
 * The browser test's stand-in for the extension host: serves the built chat page on 127.0.0.1
 * with a shim for `acquireVsCodeApi` (page → bridge: fetch POST /post; bridge → page:
 * Server-Sent Events on /events), and runs the extension's own ChatController against a real
 * `codeflow serve` over stdio.
 */
import { readFileSync } from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { CancellationTokenSource, ProgressType } from "vscode-jsonrpc/node";
import { ChatController, RpcLike } from "../../src/logic/chatController";
import { ChatHistory, MemoryStore } from "../../src/logic/history";
import type { ChatProgress, HostToPage, PageToHost } from "../../src/logic/protocol";
import { chatHtml } from "../../src/logic/webviewHtml";
import { ServerHandle } from "./lspProcess";

/** Runs in the page before the chat script: what VS Code's webview host would provide. */
export const SHIM = `(() => {
  let state;
  let open = false;
  const queue = [];
  const send = (m) => fetch("/post", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(m) });
  const es = new EventSource("/events");
  es.onopen = () => { open = true; queue.splice(0).forEach(send); };
  es.onmessage = (e) => window.dispatchEvent(new MessageEvent("message", { data: JSON.parse(e.data) }));
  window.acquireVsCodeApi = () => ({
    postMessage: (m) => (open ? send(m) : queue.push(m)),
    getState: () => state,
    setState: (s) => { state = s; },
  });
})();`;

export interface Bridge {
  url: string;
  /** Everything the host posted to the page, in order, and when (Date.now()). */
  posted: HostToPage[];
  postedAt: number[];
  /** Everything the page posted to the host, in order. */
  received: PageToHost[];
  /** How each codeflow/chat request ended at the JSON-RPC level. */
  outcomes: { ok: boolean; code?: number; message?: string }[];
  post(m: HostToPage): void;
  controller: ChatController;
  close(): Promise<void>;
}

export async function startBridge(opts: {
  server: ServerHandle;
  distDir: string;
  workspace: string;
  selection?: { uri: string; range: { start: { line: number; character: number }; end: { line: number; character: number } }; label: string };
  log?: (line: string) => void;
}): Promise<Bridge> {
  const posted: HostToPage[] = [];
  const postedAt: number[] = [];
  const received: PageToHost[] = [];
  const clients = new Set<http.ServerResponse>();
  const log = opts.log ?? (() => undefined);
  const post = (m: HostToPage) => {
    posted.push(m);
    postedAt.push(Date.now());
    const data = `data: ${JSON.stringify(m)}\n\n`;
    for (const c of clients) c.write(data);
  };
  const outcomes: Bridge["outcomes"] = [];
  const rpc: RpcLike = {
    sendRequest: <R>(method: string, params: unknown, token?: unknown) => {
      const p = opts.server.conn.sendRequest<R>(method, params, token as never);
      p.then(
        () => outcomes.push({ ok: true }),
        (e: { code?: number; message?: string }) => outcomes.push({ ok: false, code: e?.code, message: e?.message }),
      );
      return p;
    },
    onProgress: (token, handler) => opts.server.conn.onProgress(new ProgressType<ChatProgress>(), token, handler),
  };
  const controller = new ChatController(
    {
      rpc: () => rpc,
      newCancelSource: () => {
        const s = new CancellationTokenSource();
        return { token: s.token, cancel: () => s.cancel(), dispose: () => s.dispose() };
      },
      post,
      log,
      resolveReferences: async (names) => ({
        uris: names.map((n) => pathToFileURL(path.join(opts.workspace, n)).toString()),
        missing: [],
      }),
      selection: () => (opts.selection ? { params: { uri: opts.selection.uri, range: opts.selection.range }, label: opts.selection.label } : undefined),
      codeAction: async (action, code) => log(`code action ${action}: ${code.length} chars`),
    },
    new ChatHistory(new MemoryStore()),
  );

  const server = http.createServer((req, res) => {
    const origin = `http://${req.headers.host}`;
    if (req.method === "GET" && (req.url === "/" || req.url === "/index.html")) {
      const html = chatHtml({
        cspSource: origin,
        connectSrc: origin,
        scriptUri: `${origin}/webview.js`,
        styleUri: `${origin}/webview.css`,
        preludeScripts: [SHIM],
      });
      res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
      res.end(html);
    } else if (req.method === "GET" && (req.url === "/webview.js" || req.url === "/webview.css")) {
      const file = path.join(opts.distDir, req.url.slice(1));
      res.writeHead(200, { "content-type": req.url.endsWith(".js") ? "text/javascript" : "text/css" });
      res.end(readFileSync(file));
    } else if (req.url === "/favicon.ico") {
      res.writeHead(204); // the browser asks; a webview never does
      res.end();
    } else if (req.method === "GET" && req.url === "/events") {
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store", connection: "keep-alive" });
      res.write(": connected\n\n");
      clients.add(res);
      req.on("close", () => clients.delete(res));
    } else if (req.method === "POST" && req.url === "/post") {
      let body = "";
      req.setEncoding("utf8");
      req.on("data", (d) => (body += d));
      req.on("end", () => {
        res.writeHead(204);
        res.end();
        try {
          const msg = JSON.parse(body) as PageToHost;
          received.push(msg);
          controller.handle(msg).catch((e) => log(`handle failed: ${e}`));
        } catch (e) {
          log(`bad message from page: ${e}`);
        }
      });
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((res) => server.listen(0, "127.0.0.1", res));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    posted,
    postedAt,
    received,
    outcomes,
    post,
    controller,
    close: async () => {
      for (const c of clients) c.end();
      await new Promise<void>((res) => server.close(() => res()));
    },
  };
}
