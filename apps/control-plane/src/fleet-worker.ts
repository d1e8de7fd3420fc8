import { FLEET_QUEUE, scheduleTickPayloadSchema } from "@cargohold/job-catalog";
import { type Logger, repeatLimitedWarning } from "@cargohold/logging";
import { type Job, Worker } from "bullmq";
import type { Redis } from "ioredis";
import type { FleetRuns } from "./fleet.js";
import type { Schedules } from "./schedules.js";

/** How often a control plane looks for hosts that went offline during a run. */
export const OFFLINE_SWEEP_MS = 5_000;

/**
 * Starts the control plane's worker on the fleet queue, which turns schedule
 * ticks into fleet runs and summarizes each run once its hosts are done. Any number
 * of control planes can run it; BullMQ hands each job to one of them.
 */
export function startFleetWorker(options: { redis: Redis; prefix: string; runs: FleetRuns; schedules: Schedules; log: Logger; sweepMs?: number }): { close(): Promise<void> } {
  const { runs, schedules, log } = options;
  const worker = new Worker(
    FLEET_QUEUE,
    async (job: Job) => {
      if (job.name === "fleet-run") {
        const result = await runs.summarize(job);
        log.info({ runId: result.runId, status: result.status }, "fleet run ended");
        return result;
      }
      if (job.name === "schedule-tick") {
        const { scheduleId } = scheduleTickPayloadSchema.parse(job.data);
        const schedule = await schedules.get(scheduleId);
        if (schedule === undefined) {
          log.warn({ scheduleId }, "tick of a deleted schedule ignored");
          return { skipped: "schedule deleted" };
        }
        // A slow run would otherwise pile up ticks, each pausing the same containers again.
        const previous = await options.redis.hget(lastRunKey(options.prefix), scheduleId);
        if (previous !== null && (await runs.isRunning(previous))) {
          log.warn({ scheduleId, runId: previous }, "tick skipped: the schedule's previous run is still going");
          return { skipped: `previous run ${previous} is still going` };
        }
        // The tick's job id is unique per cron time, so the run id is too: a retried tick finds its run instead of starting another.
        const runId = `run-${(job.id ?? "").replace(/[^a-zA-Z0-9-]/g, "-")}`;
        const payload = await runs.start({ runId, scheduleId, target: schedule.target, backup: schedule.backup, retention: schedule.retention, timezone: schedule.timezone });
        await options.redis.hset(lastRunKey(options.prefix), scheduleId, payload.runId);
        return { runId: payload.runId };
      }
      throw new Error(`unknown fleet job ${JSON.stringify(job.name)}: upgrade this control plane`);
    },
    { connection: options.redis.duplicate({ maxRetriesPerRequest: null }), prefix: options.prefix, concurrency: 4 },
  );
  worker.on("error", repeatLimitedWarning(log, "fleet worker error; BullMQ retries on its own"));

  const warnSweep = repeatLimitedWarning(log, "offline-host sweep failed; retrying");
  const sweep = setInterval(() => {
    runs.skipOfflineHosts().catch(warnSweep);
  }, options.sweepMs ?? OFFLINE_SWEEP_MS);
  sweep.unref();

  return {
    async close() {
      clearInterval(sweep);
      await worker.close();
      await worker.disconnect();
    },
  };
}

function lastRunKey(prefix: string): string {
  return `${prefix}:cargohold:schedule-last-run`;
}
