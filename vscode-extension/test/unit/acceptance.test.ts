import { describe, expect, it } from "vitest";
import { AcceptanceTracker, AcceptParams, advance } from "../../src/logic/acceptance";

describe("AcceptanceTracker", () => {
  const setup = () => {
    const sent: AcceptParams[] = [];
    return { sent, t: new AcceptanceTracker((p) => sent.push(p)) };
  };

  it("reports a full accept from the item's command", () => {
    const { sent, t } = setup();
    t.shown("file:///a.py", { line: 1, character: 4 }, "return x\n");
    t.acceptedAll("file:///a.py", "return x\n");
    t.flush();
    expect(sent).toEqual([{ uri: "file:///a.py", text: "return x\n", acceptedLength: 9 }]);
  });

  it("reports a partial accept (word by word) once, when the suggestion goes away", () => {
    const { sent, t } = setup();
    t.shown("file:///a.py", { line: 1, character: 4 }, "return x + 1");
    t.change("file:///a.py", { line: 1, character: 4 }, 0, "return");
    t.change("file:///a.py", { line: 1, character: 10 }, 0, " x");
    expect(sent).toEqual([]);
    t.shown("file:///a.py", { line: 1, character: 12 }, " + 1");
    expect(sent).toEqual([{ uri: "file:///a.py", text: "return x + 1", acceptedLength: 8 }]);
  });

  it("follows multi-line accepts and stops at a divergent edit", () => {
    const { sent, t } = setup();
    t.shown("u", { line: 0, character: 2 }, "if a:\n    b()\nc");
    t.change("u", { line: 0, character: 2 }, 0, "if a:\n");
    t.change("u", { line: 1, character: 0 }, 0, "    b()");
    expect(t.current?.accepted).toBe(13);
    t.change("u", { line: 1, character: 7 }, 0, "X");
    expect(sent).toEqual([{ uri: "u", text: "if a:\n    b()\nc", acceptedLength: 13 }]);
    expect(t.current).toBeUndefined();
    expect(advance({ line: 3, character: 5 }, "ab\ncd")).toEqual({ line: 4, character: 2 });
  });

  it("ignores edits elsewhere and sends nothing when nothing was accepted", () => {
    const { sent, t } = setup();
    t.shown("u", { line: 0, character: 0 }, "abc");
    t.change("other", { line: 0, character: 0 }, 0, "a");
    expect(t.current?.accepted).toBe(0);
    t.change("u", { line: 5, character: 0 }, 0, "a");
    t.flush();
    expect(sent).toEqual([]);
  });
});
