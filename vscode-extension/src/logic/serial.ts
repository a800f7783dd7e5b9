/**
 * Runs async jobs one at a time; a job asked for while one is queued is merged into it. Used for
 * server start/restart so that a burst of config changes gives one restart, never two processes.
 */
export class SerialRunner {
  private tail: Promise<void> = Promise.resolve();
  private queued: Promise<void> | undefined;

  /** Runs `job` after the running one; if a run is already waiting, returns that run instead. */
  run(job: () => Promise<void>): Promise<void> {
    if (this.queued) return this.queued;
    const p = this.tail.then(() => {
      this.queued = undefined;
      return job();
    });
    this.queued = p;
    this.tail = p.catch(() => undefined);
    return p;
  }

  /** Resolves when nothing is running or queued. */
  async idle(): Promise<void> {
    let t: Promise<void>;
    do {
      t = this.tail;
      await t;
    } while (t !== this.tail);
  }
}
