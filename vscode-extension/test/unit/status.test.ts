import { describe, expect, it } from "vitest";
import { formatLatency, statusView } from "../../src/logic/status";

describe("statusView", () => {
  it("shows model, device and last latency when idle", () => {
    const v = statusView("running", { state: "idle", model: "/models/iquest-coder-tiny", device: "cuda", lastLatencyMs: 183.4 }, true);
    expect(v.text).toBe("$(sparkle) iquest-coder-tiny · GPU · 183 ms");
    expect(v.tooltip).toContain("Device: GPU");
    expect(v.tooltip).toContain("Inline completions: on");
    expect(v.severity).toBe("normal");
  });

  it("shows indexing progress", () => {
    const v = statusView("running", { state: "indexing", model: "m", device: "cpu", indexing: { done: 40, total: 160 } }, true);
    expect(v.text).toBe("$(sync~spin) m · CPU · indexing 25%");
    expect(v.tooltip).toContain("Indexing: 40/160 files");
  });

  it("shows errors, disabled completions, missing server", () => {
    const e = statusView("running", { state: "error", model: "m", device: "cpu", message: "model failed to load" }, false);
    expect(e.severity).toBe("error");
    expect(e.tooltip).toContain("Error: model failed to load");
    expect(statusView("running", { state: "idle", model: "m", device: "cpu" }, false).text).toBe("$(circle-slash) m · CPU");
    expect(statusView("missing", undefined, true)).toMatchObject({ text: "$(error) codeflow: no server", severity: "error" });
    expect(statusView("starting", undefined, true).text).toBe("$(loading~spin) codeflow");
  });

  it("formats latency", () => {
    expect(formatLatency(12.4)).toBe("12 ms");
    expect(formatLatency(1534)).toBe("1.5 s");
    expect(formatLatency(21000)).toBe("21 s");
  });
});
