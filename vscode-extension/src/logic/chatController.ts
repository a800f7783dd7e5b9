/**
 * The host side of the chat panel: takes the page's messages, sends `codeflow/chat` with a
 * partial-result token, forwards the streamed deltas, cancels, keeps the history. The same class
 * runs inside the extension (transport = the LanguageClient) and in the browser-test bridge
 * (transport = a vscode-jsonrpc connection to a real `codeflow serve`). No `vscode` import.
 */
import { randomUUID } from "node:crypto";
import { ChatHistory, ChatMessage } from "./history";
import {
  ChatParams,
  ChatProgress,
  ChatResult,
  CodeAction,
  ContextInfo,
  HostToPage,
  PageToHost,
  parseReferences,
  REQUEST_CANCELLED,
} from "./protocol";
import { ReasoningClock } from "./thinking";

/** What both a LanguageClient and a vscode-jsonrpc MessageConnection can do. */
export interface CancelToken {
  readonly isCancellationRequested: boolean;
}
export interface RpcLike {
  sendRequest<R>(method: string, params: unknown, token?: CancelToken): Promise<R>;
  onProgress(token: string, handler: (value: ChatProgress) => void): { dispose(): void };
}
export interface CancelSource {
  token: CancelToken;
  cancel(): void;
  dispose(): void;
}

export interface ChatHost {
  rpc(): RpcLike | undefined;
  newCancelSource(): CancelSource;
  post(msg: HostToPage): void;
  /** `@name` → workspace URI; unresolved names are reported back to the page. */
  resolveReferences(names: string[]): Promise<{ uris: string[]; missing: string[] }>;
  selection(): { params: NonNullable<ChatParams["selection"]>; label: string } | undefined;
  codeAction(action: CodeAction, code: string, lang?: string, path?: string): Promise<void>;
  log(line: string): void;
}

export class ChatController {
  private nextId = 1;
  private running: { id: number; source: CancelSource; text: string } | undefined;
  /** Ms to wait for the server's answer to $/cancelRequest before ending the turn ourselves. */
  cancelGraceMs = 3000;
  /** The clock that times the reasoning (tests give their own). */
  now: () => number = Date.now;

  constructor(
    private readonly host: ChatHost,
    private readonly history: ChatHistory,
  ) {}

  get busy(): boolean {
    return this.running !== undefined;
  }

  contextInfo(): ContextInfo {
    const sel = this.host.selection();
    return sel ? { selection: sel.label } : {};
  }

  async handle(msg: PageToHost): Promise<void> {
    switch (msg.type) {
      case "ready":
        this.host.post({ type: "init", messages: this.history.all(), busy: this.busy, context: this.contextInfo() });
        return;
      case "ask":
        await this.ask(msg.text, msg.includeSelection !== false);
        return;
      case "cancel":
        this.cancel();
        return;
      case "clear":
        this.cancel();
        await this.history.clear();
        this.host.post({ type: "cleared" });
        return;
      case "copy":
      case "insert":
      case "apply":
        await this.host.codeAction(msg.type, msg.code, msg.lang, msg.path);
        return;
    }
  }

  cancel(): void {
    this.running?.source.cancel();
  }

  async ask(question: string, includeSelection = true): Promise<void> {
    const text = question.trim();
    if (!text) return;
    const id = this.nextId++;
    const rpc = this.host.rpc();
    if (this.running) {
      this.host.post({ type: "error", id, message: "A chat request is still running; cancel it first." });
      return;
    }
    const names = parseReferences(text);
    const { uris, missing } = names.length ? await this.host.resolveReferences(names) : { uris: [], missing: [] };
    this.host.post({ type: "start", id, question: text, references: uris, missing });
    if (!rpc) {
      this.host.post({ type: "error", id, message: "The codeflow server is not running." });
      return;
    }
    const messages = this.history.conversation(text);
    await this.history.append({ role: "user", content: text });

    const token = `codeflow-chat-${randomUUID()}`;
    const source = this.host.newCancelSource();
    const run = { id, source, text: "", reasoning: "" };
    this.running = run;
    const clock = new ReasoningClock(this.now);
    const endReasoning = () => {
      if (clock.done || clock.ms === undefined) return;
      clock.answer();
      this.host.post({ type: "reasoningDone", id, ms: clock.ms });
    };
    const sub = rpc.onProgress(token, (value) => {
      if (this.running !== run || !value) return;
      if (typeof value.reasoningDelta === "string" && value.reasoningDelta) {
        clock.reasoning();
        run.reasoning += value.reasoningDelta;
        this.host.post({ type: "reasoning", id, delta: value.reasoningDelta });
      }
      if (typeof value.delta !== "string" || !value.delta) return;
      endReasoning();
      run.text += value.delta;
      this.host.post({ type: "delta", id, delta: value.delta });
    });
    const params: ChatParams = { messages, partialResultToken: token };
    if (uris.length) params.references = uris;
    const sel = includeSelection ? this.host.selection() : undefined;
    if (sel) params.selection = sel.params;

    let finishReason = "stop";
    let finalText = "";
    try {
      const result = await this.withCancelGrace(rpc.sendRequest<ChatResult>("codeflow/chat", params, source.token), source);
      finalText = typeof result?.text === "string" && result.text ? result.text : run.text;
      if (typeof result?.reasoning === "string" && result.reasoning) run.reasoning = result.reasoning;
      finishReason = result?.finishReason || "stop";
      if (source.token.isCancellationRequested) finishReason = "cancelled";
    } catch (e) {
      finalText = run.text;
      if (source.token.isCancellationRequested || isCancelled(e)) {
        finishReason = "cancelled";
      } else {
        finishReason = "error";
        const message = e instanceof Error ? e.message : String(e);
        this.host.log(`chat request failed: ${message}`);
        this.host.post({ type: "error", id, message });
      }
    } finally {
      sub.dispose();
      source.dispose();
      this.running = undefined;
    }
    endReasoning();
    const reply: ChatMessage = { role: "assistant", content: finalText, finishReason };
    if (run.reasoning) Object.assign(reply, { reasoning: run.reasoning, reasoningMs: clock.ms });
    await this.history.append(reply);
    const extra = run.reasoning ? { reasoning: run.reasoning, reasoningMs: clock.ms } : {};
    this.host.post({ type: "end", id, text: finalText, finishReason, ...extra });
  }

  private withCancelGrace<T>(p: Promise<T>, source: CancelSource): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const poll = setInterval(() => {
        if (source.token.isCancellationRequested && !timer) {
          timer = setTimeout(() => reject(Object.assign(new Error("cancelled"), { code: REQUEST_CANCELLED })), this.cancelGraceMs);
        }
      }, 50);
      p.then(resolve, reject).finally(() => {
        clearInterval(poll);
        if (timer) clearTimeout(timer);
      });
    });
  }
}

export function isCancelled(e: unknown): boolean {
  if (!e || typeof e !== "object") return false;
  const code = (e as { code?: unknown }).code;
  const name = (e as { name?: unknown }).name;
  return code === REQUEST_CANCELLED || name === "Canceled" || name === "CancellationError";
}
