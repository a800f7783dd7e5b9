import { describe, expect, it } from "vitest";
import { SerialRunner } from "../../src/logic/serial";

describe("SerialRunner", () => {
  it("never overlaps jobs and merges a burst of restarts into one", async () => {
    const r = new SerialRunner();
    let running = 0;
    let maxRunning = 0;
    let runs = 0;
    const job = async () => {
      running++;
      runs++;
      maxRunning = Math.max(maxRunning, running);
      await new Promise((res) => setTimeout(res, 20));
      running--;
    };
    const first = r.run(job);
    await new Promise((res) => setTimeout(res, 5)); // first is running now
    const burst = [r.run(job), r.run(job), r.run(job)]; // one queued run
    expect(burst[0]).toBe(burst[1]);
    await Promise.all([first, ...burst]);
    expect(maxRunning).toBe(1);
    expect(runs).toBe(2);
    await r.run(job);
    expect(runs).toBe(3);
  });

  it("keeps going after a failed job", async () => {
    const r = new SerialRunner();
    await expect(r.run(async () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    let ran = false;
    await r.run(async () => {
      ran = true;
    });
    expect(ran).toBe(true);
    await r.idle();
  });
});
