/**
 * The chat webview's HTML. Strict Content Security Policy: nothing remote, scripts only with the
 * page's nonce, styles only from the extension. `connectSrc` exists for the browser test's bridge
 * shim (the extension never sets it). No `vscode` import.
 */
import { randomBytes } from "node:crypto";
import { escapeHtml } from "./markdown";

export interface WebviewHtmlOptions {
  /** `webview.cspSource` in VS Code; the bridge's origin in the browser test. */
  cspSource: string;
  scriptUri: string;
  styleUri: string;
  nonce?: string;
  /** Extra `<script nonce>` bodies placed before the page script (browser-test shim only). */
  preludeScripts?: string[];
  connectSrc?: string;
}

export function makeNonce(): string {
  return randomBytes(18).toString("base64").replace(/[^A-Za-z0-9]/g, "");
}

export function contentSecurityPolicy(cspSource: string, nonce: string, connectSrc?: string): string {
  return [
    "default-src 'none'",
    `style-src ${cspSource}`,
    `font-src ${cspSource}`,
    `img-src ${cspSource} data:`,
    `script-src 'nonce-${nonce}'`,
    `connect-src ${connectSrc ?? "'none'"}`,
    "base-uri 'none'",
    "form-action 'none'",
  ].join("; ");
}

export function chatHtml(o: WebviewHtmlOptions): string {
  const nonce = o.nonce ?? makeNonce();
  const csp = contentSecurityPolicy(o.cspSource, nonce, o.connectSrc);
  const prelude = (o.preludeScripts ?? []).map((s) => `<script nonce="${nonce}">${s}</script>`).join("\n");
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${escapeHtml(o.styleUri)}">
<title>codeflow chat</title>
</head>
<body>
<main id="messages" aria-live="polite"></main>
<footer id="composer">
  <div id="context" hidden></div>
  <textarea id="input" rows="3" placeholder="Ask about your code. @file to add a file; the selection is sent too."></textarea>
  <div id="buttons">
    <label id="sel-label" hidden><input type="checkbox" id="use-selection" checked> selection</label>
    <span class="spacer"></span>
    <button type="button" id="cancel" hidden>Cancel</button>
    <button type="button" id="send">Send</button>
  </div>
</footer>
${prelude}
<script nonce="${nonce}" src="${escapeHtml(o.scriptUri)}"></script>
</body>
</html>`;
}
