/**
 * Chat history per workspace, kept in a Memento-like store (VS Code's `workspaceState` in the
 * extension, a Map in tests and in the browser-test bridge). No `vscode` import.
 */

export type Role = "user" | "assistant";

export interface ChatMessage {
  role: Role;
  content: string;
  /** Set on assistant messages that ended early ("cancelled", "error", "length", ...). */
  finishReason?: string;
  /** A reasoning model's reasoning (shown collapsed; never sent back to the model). */
  reasoning?: string;
  /** How long it reasoned, in ms. */
  reasoningMs?: number;
}

export interface StateStore {
  get<T>(key: string): T | undefined;
  update(key: string, value: unknown): Thenable<void> | Promise<void> | void;
}

export const HISTORY_KEY = "codeflow.chat.history.v1";

export class ChatHistory {
  constructor(
    private readonly store: StateStore,
    private readonly maxMessages = 200,
    private readonly key = HISTORY_KEY,
  ) {}

  all(): ChatMessage[] {
    const raw = this.store.get<unknown>(this.key);
    if (!Array.isArray(raw)) return [];
    return raw.filter(
      (m): m is ChatMessage =>
        !!m &&
        typeof m === "object" &&
        (m.role === "user" || m.role === "assistant") &&
        typeof m.content === "string",
    );
  }

  async append(...msgs: ChatMessage[]): Promise<ChatMessage[]> {
    const next = [...this.all(), ...msgs].slice(-this.maxMessages);
    await this.store.update(this.key, next);
    return next;
  }

  async clear(): Promise<void> {
    await this.store.update(this.key, []);
  }

  /**
   * The messages to send with a new question: the history without failed turns, trimmed from
   * the oldest so the text fits `maxChars` (the server does the token-exact budget).
   */
  conversation(question: string, maxChars = 24000): { role: Role; content: string }[] {
    const msgs = this.all()
      .filter((m) => m.content.trim() && m.finishReason !== "error")
      .map((m) => ({ role: m.role, content: m.content }));
    msgs.push({ role: "user", content: question });
    let total = msgs.reduce((n, m) => n + m.content.length, 0);
    while (msgs.length > 1 && total > maxChars) total -= msgs.shift()!.content.length;
    while (msgs.length > 1 && msgs[0].role !== "user") msgs.shift();
    return msgs;
  }
}

export class MemoryStore implements StateStore {
  private readonly map = new Map<string, unknown>();
  get<T>(key: string): T | undefined {
    return this.map.get(key) as T | undefined;
  }
  update(key: string, value: unknown): void {
    this.map.set(key, JSON.parse(JSON.stringify(value)));
  }
}
