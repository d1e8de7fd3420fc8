import type { JobProgress } from "@cargohold/job-catalog";

/**
 * Collects per-artifact byte counts and the current phase, and publishes
 * them at most once per interval so a fast stream does not flood Redis.
 */
export class ProgressReporter {
  readonly #state: JobProgress = { phase: "starting", artifacts: {} };
  #lastPublished = 0;
  #pending: Promise<void> = Promise.resolve();

  constructor(
    private readonly publish: (progress: JobProgress) => Promise<void>,
    private readonly intervalMs = 1000,
  ) {}

  phase(name: string): void {
    this.#state.phase = name;
    this.#flush(true);
  }

  bytes(artifactId: string, bytes: number): void {
    this.#state.artifacts[artifactId] = { bytes, done: false };
    this.#flush(false);
  }

  done(artifactId: string, bytes: number): void {
    this.#state.artifacts[artifactId] = { bytes, done: true };
    this.#flush(true);
  }

  /** Waits for the last publication, so the final state is in Redis before the job ends. */
  async settle(): Promise<void> {
    this.#flush(true);
    await this.#pending;
  }

  #flush(force: boolean): void {
    const now = Date.now();
    if (!force && now - this.#lastPublished < this.intervalMs) {
      return;
    }
    this.#lastPublished = now;
    const snapshot = structuredClone(this.#state);
    // Progress is advisory: a failed publication must not fail the backup, so errors end here.
    this.#pending = this.#pending.then(() => this.publish(snapshot)).catch(() => undefined);
  }
}
