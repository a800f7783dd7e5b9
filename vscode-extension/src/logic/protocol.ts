/** Messages between the chat webview and its host (the extension, or the browser-test bridge). */
import type { ChatMessage } from "./history";

export interface ContextInfo {
  /** Short label of the editor selection that will be sent, e.g. "app.py:3-9". */
  selection?: string;
}

export type HostToPage =
  | { type: "init"; messages: ChatMessage[]; busy: boolean; context: ContextInfo }
  | { type: "context"; context: ContextInfo }
  | { type: "start"; id: number; question: string; references: string[]; missing: string[] }
  | { type: "delta"; id: number; delta: string }
  | { type: "reasoning"; id: number; delta: string }
  | { type: "reasoningDone"; id: number; ms: number }
  | { type: "end"; id: number; text: string; finishReason: string; reasoning?: string; reasoningMs?: number }
  | { type: "error"; id: number; message: string }
  | { type: "cleared" }
  | { type: "notice"; message: string };

export type CodeAction = "copy" | "insert" | "apply";

export type PageToHost =
  | { type: "ready" }
  | { type: "ask"; text: string; includeSelection?: boolean }
  | { type: "cancel" }
  | { type: "clear" }
  | { type: CodeAction; code: string; lang?: string; path?: string };

/** `codeflow/chat` request params (the server's contract). */
export interface ChatParams {
  messages: { role: "user" | "assistant"; content: string }[];
  references?: string[];
  selection?: { uri: string; range: { start: { line: number; character: number }; end: { line: number; character: number } } };
  partialResultToken: string;
}

export interface ChatResult {
  /** The answer only. */
  text: string;
  /** A reasoning model's reasoning ("" when none, or `chat.showReasoning` is off). */
  reasoning?: string;
  finishReason: string;
}

/** `$/progress` value for a chat token: a piece of the answer, or of the reasoning. */
export interface ChatProgress {
  delta?: string;
  reasoningDelta?: string;
}

/** LSP error code of a request cancelled through `$/cancelRequest`. */
export const REQUEST_CANCELLED = -32800;

/** `@name` references in a question: `@src/app.py`, `@utils.py`. */
export function parseReferences(text: string): string[] {
  const out: string[] = [];
  const re = /(?:^|[\s(])@([\w][\w./\\-]*[\w])/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (!out.includes(m[1])) out.push(m[1]);
  }
  return out;
}
