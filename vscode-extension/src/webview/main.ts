/** The chat page. Talks to its host only through acquireVsCodeApi().postMessage / message events. */
import { renderMarkdown, CodeBlock, escapeHtml } from "../logic/markdown";
import type { ChatMessage } from "../logic/history";
import type { HostToPage, PageToHost } from "../logic/protocol";
import { thinkingHtml, thinkingSummary } from "../logic/thinking";

interface VsCodeApi {
  postMessage(msg: PageToHost): void;
  getState(): { draft?: string } | undefined;
  setState(s: { draft?: string }): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const messagesEl = $<HTMLElement>("messages");
const input = $<HTMLTextAreaElement>("input");
const sendBtn = $<HTMLButtonElement>("send");
const cancelBtn = $<HTMLButtonElement>("cancel");
const contextEl = $<HTMLElement>("context");
const selLabel = $<HTMLElement>("sel-label");
const useSel = $<HTMLInputElement>("use-selection");

/** Code blocks of each rendered assistant message, by its element. */
const blocksOf = new WeakMap<HTMLElement, CodeBlock[]>();
let busy = false;
let current:
  | { id: number; el: HTMLElement; text: string; frame: number; reasoning: string; since: number; thoughtMs?: number }
  | undefined;

function setBusy(b: boolean): void {
  busy = b;
  document.body.classList.toggle("busy", b);
  cancelBtn.hidden = !b;
  sendBtn.disabled = b;
}

function scrollDown(): void {
  messagesEl.scrollTop = messagesEl.scrollHeight;
}

/**
 * The collapsed "Thinking" section above an answer's body: made once from `thinkingHtml`, then
 * only its summary and text change (so a section the user opened stays open while it streams).
 */
function showThinking(body: HTMLElement, reasoning: string, ms: number | undefined, done: boolean): void {
  if (!reasoning) return;
  let details = body.previousElementSibling as HTMLElement | null;
  if (!details || !details.classList.contains("thinking")) {
    body.insertAdjacentHTML("beforebegin", thinkingHtml(reasoning, ms, done));
    return;
  }
  details.querySelector("summary")!.textContent = thinkingSummary(ms, done);
  (details.querySelector(".thinking-body") as HTMLElement).textContent = reasoning.trim();
  details.classList.toggle("streaming", !done);
}

function addMessage(role: "user" | "assistant", content: string, finishReason?: string): HTMLElement {
  const wrap = document.createElement("section");
  wrap.className = `msg ${role}`;
  const who = document.createElement("div");
  who.className = "who";
  who.textContent = role === "user" ? "You" : "codeflow";
  const body = document.createElement("div");
  body.className = "body";
  wrap.append(who, body);
  messagesEl.append(wrap);
  if (role === "user") body.textContent = content;
  else renderInto(body, content, finishReason);
  scrollDown();
  return body;
}

function renderInto(body: HTMLElement, text: string, finishReason?: string): void {
  const r = renderMarkdown(text);
  let html = r.html;
  if (finishReason && finishReason !== "stop" && finishReason !== "eos") // eos: the model ended its turn
    html += `<div class="finish finish-${escapeHtml(finishReason)}">${escapeHtml(finishLabel(finishReason))}</div>`;
  body.innerHTML = html; // renderMarkdown escapes everything from the model
  blocksOf.set(body, r.blocks);
}

function finishLabel(reason: string): string {
  switch (reason) {
    case "cancelled":
      return "Cancelled.";
    case "length":
      return "Stopped at the token limit.";
    case "error":
      return "Failed.";
    default:
      return `Stopped (${reason}).`;
  }
}

function notice(text: string, cls = "notice"): void {
  const div = document.createElement("div");
  div.className = cls;
  div.textContent = text;
  messagesEl.append(div);
  scrollDown();
}

function send(): void {
  const text = input.value.trim();
  if (!text || busy) return;
  vscode.postMessage({ type: "ask", text, includeSelection: useSel.checked });
  input.value = "";
  vscode.setState({ draft: "" });
}

sendBtn.addEventListener("click", send);
cancelBtn.addEventListener("click", () => vscode.postMessage({ type: "cancel" }));
input.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    send();
  }
});
input.addEventListener("input", () => vscode.setState({ draft: input.value }));

messagesEl.addEventListener("click", (e) => {
  const btn = (e.target as HTMLElement).closest("button[data-action]") as HTMLButtonElement | null;
  if (!btn) return;
  const body = btn.closest(".body") as HTMLElement | null;
  const block = body ? blocksOf.get(body)?.[Number(btn.dataset.index)] : undefined;
  if (!block) return;
  const action = btn.dataset.action as "copy" | "insert" | "apply";
  vscode.postMessage({ type: action, code: block.code, lang: block.lang || undefined, path: block.path });
  btn.classList.add("done");
  setTimeout(() => btn.classList.remove("done"), 900);
});

window.addEventListener("message", (event: MessageEvent<HostToPage>) => {
  const m = event.data;
  switch (m.type) {
    case "init":
      messagesEl.textContent = "";
      for (const h of m.messages as ChatMessage[]) {
        const body = addMessage(h.role, h.content, h.finishReason);
        if (h.role === "assistant" && h.reasoning) showThinking(body, h.reasoning, h.reasoningMs, true);
      }
      setBusy(m.busy);
      showContext(m.context.selection);
      break;
    case "context":
      showContext(m.context.selection);
      break;
    case "start": {
      addMessage("user", m.question);
      if (m.references.length) notice(`References: ${m.references.map(shortName).join(", ")}`, "refs");
      if (m.missing.length) notice(`Not found: ${m.missing.map((n) => "@" + n).join(", ")}`, "refs missing");
      const el = addMessage("assistant", "");
      el.parentElement!.classList.add("streaming");
      current = { id: m.id, el, text: "", frame: 0, reasoning: "", since: Date.now() };
      setBusy(true);
      break;
    }
    case "delta":
      if (!current || current.id !== m.id) break;
      current.text += m.delta;
      scheduleRender(current);
      break;
    case "reasoning":
      if (!current || current.id !== m.id) break;
      if (!current.reasoning) current.since = Date.now();
      current.reasoning += m.delta;
      scheduleRender(current);
      break;
    case "reasoningDone":
      if (!current || current.id !== m.id) break;
      current.thoughtMs = m.ms;
      showThinking(current.el, current.reasoning, m.ms, true);
      break;
    case "end":
      if (current && current.id === m.id) {
        if (current.frame) cancelAnimationFrame(current.frame);
        if (m.reasoning) showThinking(current.el, m.reasoning, m.reasoningMs, true);
        renderInto(current.el, m.text, m.finishReason);
        current.el.parentElement!.classList.remove("streaming");
        current.el.parentElement!.dataset.finish = m.finishReason;
        current = undefined;
      }
      setBusy(false);
      scrollDown();
      break;
    case "error":
      notice(m.message, "notice error");
      if (!current || current.id === m.id) setBusy(false);
      break;
    case "cleared":
      messagesEl.textContent = "";
      current = undefined;
      setBusy(false);
      break;
    case "notice":
      notice(m.message);
      break;
  }
});

/** Redraw the streaming message (its reasoning and answer) at the next frame. */
function scheduleRender(c: NonNullable<typeof current>): void {
  if (c.frame) return;
  c.frame = requestAnimationFrame(() => {
    c.frame = 0;
    const done = c.thoughtMs !== undefined;
    showThinking(c.el, c.reasoning, done ? c.thoughtMs : Date.now() - c.since, done);
    if (c.text) renderInto(c.el, c.text);
    scrollDown();
  });
}

function shortName(uri: string): string {
  return decodeURIComponent(uri.split("/").pop() ?? uri);
}

function showContext(selection: string | undefined): void {
  contextEl.hidden = !selection;
  selLabel.hidden = !selection;
  contextEl.textContent = selection ? `Selection: ${selection}` : "";
}

input.value = vscode.getState()?.draft ?? "";
vscode.postMessage({ type: "ready" });
