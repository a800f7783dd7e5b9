/**
 * The "Thinking" section of an assistant message: a reasoning model's reasoning, streamed apart
 * from the answer and shown collapsed above it with how long the model thought. Pure functions
 * (the page and the tests use them); no `vscode` import, no DOM.
 */
import { escapeHtml } from "./markdown";

/** "0.8 s", "12 s", "2 min 5 s". */
export function elapsedLabel(ms: number): string {
  const s = Math.max(0, ms) / 1000;
  if (s < 10) return `${s.toFixed(1)} s`;
  if (s < 60) return `${Math.round(s)} s`;
  const whole = Math.round(s);
  return `${Math.floor(whole / 60)} min ${whole % 60} s`;
}

/** The summary line: "Thinking… 3.1 s" while the reasoning streams, "Thought for 4.2 s" after. */
export function thinkingSummary(ms: number | undefined, done: boolean): string {
  if (!done) return ms === undefined ? "Thinking…" : `Thinking… ${elapsedLabel(ms)}`;
  return ms === undefined ? "Thought" : `Thought for ${elapsedLabel(ms)}`;
}

/**
 * The section's HTML: a `<details>` closed by default (the answer stays in view), the reasoning
 * as escaped plain text (never markdown: its code is not offered to insert or apply).
 * Empty when there is no reasoning.
 */
export function thinkingHtml(reasoning: string, ms: number | undefined, done: boolean): string {
  if (!reasoning) return "";
  return (
    `<details class="thinking${done ? "" : " streaming"}">` +
    `<summary>${escapeHtml(thinkingSummary(ms, done))}</summary>` +
    `<div class="thinking-body">${escapeHtml(reasoning.trim())}</div></details>`
  );
}

/** Times the reasoning of one answer: from its first piece to the first piece of the answer. */
export class ReasoningClock {
  private start: number | undefined;
  private stop: number | undefined;
  constructor(private readonly now: () => number = Date.now) {}

  /** A reasoning piece arrived. */
  reasoning(): void {
    if (this.start === undefined) this.start = this.now();
  }

  /** An answer piece arrived, or the request ended: the reasoning is over. */
  answer(): void {
    if (this.start !== undefined && this.stop === undefined) this.stop = this.now();
  }

  /** Milliseconds spent reasoning so far (undefined: no reasoning). */
  get ms(): number | undefined {
    if (this.start === undefined) return undefined;
    return (this.stop ?? this.now()) - this.start;
  }

  get done(): boolean {
    return this.stop !== undefined;
  }
}
