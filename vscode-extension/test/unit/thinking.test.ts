import { describe, expect, it } from "vitest";
import { ChatController, ChatHost, RpcLike } from "../../src/logic/chatController";
import { ChatHistory, MemoryStore } from "../../src/logic/history";
import { ChatParams, ChatProgress, HostToPage } from "../../src/logic/protocol";
import { ReasoningClock, elapsedLabel, thinkingHtml, thinkingSummary } from "../../src/logic/thinking";

/** A reasoning model behind codeflow/chat: reasoning pieces first, then the answer. */
class ThinkingServer implements RpcLike {
  handlers = new Map<string, (v: ChatProgress) => void>();
  requests: ChatParams[] = [];
  constructor(
    private readonly steps: ChatProgress[],
    private readonly tick: () => void,
  ) {}
  onProgress(token: string, handler: (v: ChatProgress) => void) {
    this.handlers.set(token, handler);
    return { dispose: () => this.handlers.delete(token) };
  }
  async sendRequest<R>(_method: string, params: unknown): Promise<R> {
    const p = params as ChatParams;
    this.requests.push(p);
    for (const step of this.steps) {
      await Promise.resolve();
      this.tick();
      this.handlers.get(p.partialResultToken)?.(step);
    }
    const text = this.steps.map((s) => s.delta ?? "").join("");
    const reasoning = this.steps.map((s) => s.reasoningDelta ?? "").join("");
    return { text, reasoning, finishReason: "stop" } as R;
  }
}

function host(rpc: RpcLike) {
  const posted: HostToPage[] = [];
  const h: ChatHost = {
    rpc: () => rpc,
    newCancelSource: () => ({ token: { isCancellationRequested: false }, cancel() {}, dispose() {} }),
    post: (m) => posted.push(m),
    resolveReferences: async () => ({ uris: [], missing: [] }),
    selection: () => undefined,
    codeAction: async () => undefined,
    log: () => undefined,
  };
  return { h, posted };
}

const STEPS: ChatProgress[] = [
  { reasoningDelta: "The loop " },
  { reasoningDelta: "is off by one; ```py\nbad()\n```" },
  { delta: "Use " },
  { delta: "`<=`." },
];

describe("Thinking section", () => {
  it("streams reasoning apart, times it with the given clock, keeps it out of what is sent back", async () => {
    let clock = 1000;
    const rpc = new ThinkingServer(STEPS, () => (clock += 700));
    const { h, posted } = host(rpc);
    const history = new ChatHistory(new MemoryStore());
    const c = new ChatController(h, history);
    c.now = () => clock;
    await c.ask("Why does it fail?");
    expect(posted.map((m) => m.type)).toEqual(["start", "reasoning", "reasoning", "reasoningDone", "delta", "delta", "end"]);
    // first reasoning piece at 1700, first answer piece at 3100
    expect(posted[3]).toEqual({ type: "reasoningDone", id: 1, ms: 1400 });
    expect(posted.at(-1)).toEqual({
      type: "end", id: 1, text: "Use `<=`.", finishReason: "stop",
      reasoning: "The loop is off by one; ```py\nbad()\n```", reasoningMs: 1400,
    });
    expect(history.all().at(-1)).toMatchObject({ role: "assistant", content: "Use `<=`.", reasoningMs: 1400 });
    await c.ask("And then?");
    const sent = rpc.requests[1].messages;
    expect(sent).toEqual([
      { role: "user", content: "Why does it fail?" },
      { role: "assistant", content: "Use `<=`." },
      { role: "user", content: "And then?" },
    ]);
  });

  it("an answer without reasoning posts no reasoning messages", async () => {
    const rpc = new ThinkingServer([{ delta: "Plain." }], () => undefined);
    const { h, posted } = host(rpc);
    await new ChatController(h, new ChatHistory(new MemoryStore())).ask("q");
    expect(posted.map((m) => m.type)).toEqual(["start", "delta", "end"]);
    expect(posted.at(-1)).toEqual({ type: "end", id: 1, text: "Plain.", finishReason: "stop" });
  });

  it("renders collapsed, escaped, never as markdown code blocks", () => {
    const html = thinkingHtml("  <b>x</b> ```py\nrm()\n```  ", 3200, true);
    expect(html).toMatch(/^<details class="thinking">/);
    expect(html).not.toContain(" open");
    expect(html).toContain("<summary>Thought for 3.2 s</summary>");
    expect(html).toContain("&lt;b&gt;x&lt;/b&gt; ```py\nrm()\n```</div>");
    expect(html).not.toContain("code-block");
    expect(thinkingHtml("", 10, true)).toBe("");
    expect(thinkingHtml("hm", 500, false)).toContain('class="thinking streaming"><summary>Thinking… 0.5 s</summary>');
  });

  it("labels elapsed time", () => {
    expect([elapsedLabel(800), elapsedLabel(12_400), elapsedLabel(125_000)]).toEqual(["0.8 s", "12 s", "2 min 5 s"]);
    expect(thinkingSummary(undefined, false)).toBe("Thinking…");
    expect(thinkingSummary(undefined, true)).toBe("Thought");
  });

  it("the clock runs from the first reasoning piece to the first answer piece", () => {
    let t = 0;
    const clock = new ReasoningClock(() => t);
    clock.answer();
    expect(clock.ms).toBeUndefined();
    t = 5;
    clock.reasoning();
    t = 9;
    clock.reasoning();
    expect([clock.ms, clock.done]).toEqual([4, false]);
    t = 20;
    clock.answer();
    t = 99;
    expect([clock.ms, clock.done]).toEqual([15, true]);
  });
});
