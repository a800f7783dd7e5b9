import { describe, expect, it } from "vitest";
import { ChatHistory, HISTORY_KEY, MemoryStore } from "../../src/logic/history";

describe("ChatHistory", () => {
  it("stores per store (= per workspace) and survives a new instance", async () => {
    const ws1 = new MemoryStore();
    const ws2 = new MemoryStore();
    await new ChatHistory(ws1).append({ role: "user", content: "q1" }, { role: "assistant", content: "a1" });
    expect(new ChatHistory(ws1).all()).toEqual([
      { role: "user", content: "q1" },
      { role: "assistant", content: "a1" },
    ]);
    expect(new ChatHistory(ws2).all()).toEqual([]);
  });

  it("caps the number of messages and ignores junk in the store", async () => {
    const s = new MemoryStore();
    s.update(HISTORY_KEY, [{ role: "system", content: "x" }, 3, { role: "user", content: "ok" }]);
    const h = new ChatHistory(s, 3);
    expect(h.all()).toEqual([{ role: "user", content: "ok" }]);
    await h.append(...["a", "b", "c"].map((c) => ({ role: "user" as const, content: c })));
    expect(h.all().map((m) => m.content)).toEqual(["a", "b", "c"]);
    await h.clear();
    expect(h.all()).toEqual([]);
  });

  it("builds the conversation: drops failed turns, trims oldest, starts with a user turn", async () => {
    const h = new ChatHistory(new MemoryStore());
    await h.append(
      { role: "user", content: "old question" },
      { role: "assistant", content: "x".repeat(50) },
      { role: "user", content: "q2" },
      { role: "assistant", content: "broken", finishReason: "error" },
      { role: "user", content: "q3" },
      { role: "assistant", content: "partial", finishReason: "cancelled" },
    );
    expect(h.conversation("now")).toEqual([
      { role: "user", content: "old question" },
      { role: "assistant", content: "x".repeat(50) },
      { role: "user", content: "q2" },
      { role: "user", content: "q3" },
      { role: "assistant", content: "partial" },
      { role: "user", content: "now" },
    ]);
    expect(h.conversation("now", 20)).toEqual([
      { role: "user", content: "q2" },
      { role: "user", content: "q3" },
      { role: "assistant", content: "partial" },
      { role: "user", content: "now" },
    ]);
  });
});
