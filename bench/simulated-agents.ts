import { performance } from "node:perf_hooks";
import { hostQueueName } from "@cargohold/job-catalog";
import { type Logger, repeatLimitedWarning } from "@cargohold/logging";
import { type Job, Worker } from "bullmq";
import { Redis } from "ioredis";

/** One job taken by a simulated agent: which run it belongs to, and when the processor was entered. */
export interface TakenJob {
  runId: string;
  hostId: string;
  jobId: string;
  /** performance.timeOrigin + performance.now(), in ms since the Unix epoch, so processes on one machine share the clock. */
  takenAt: number;
}

export interface SimulatedAgents {
  workers: number;
  /** Worker errors seen so far, such as a lost connection. */
  errors(): number;
  close(): Promise<void>;
}

/** Epoch time in ms with sub-millisecond resolution; comparable between processes on the same machine. */
export function epochNow(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * Starts one BullMQ Worker per host on `host.<hostId>`, with the agent's
 * concurrency of 1 and its default lock of 30 s. The processor only records
 * when it was entered and returns, so no Docker engine is involved. All
 * workers share one ioredis connection for non-blocking commands, and each
 * Worker still duplicates it for its own blocking connection, as the BullMQ 5
 * connection guide describes, so Redis has one client per worker plus one.
 */
export async function startSimulatedAgents(options: {
  port: number;
  prefix: string;
  hostIds: string[];
  log: Logger;
  onTaken: (taken: TakenJob) => void;
}): Promise<SimulatedAgents> {
  // BullMQ requires maxRetriesPerRequest: null on a Worker's connection, so a blocking command waits out a reconnect.
  const shared = new Redis({ host: "127.0.0.1", port: options.port, maxRetriesPerRequest: null });
  let errorCount = 0;
  const warn = repeatLimitedWarning(options.log, "simulated agent worker error; BullMQ retries on its own");

  const workers = options.hostIds.map((hostId) => {
    const worker = new Worker(
      hostQueueName(hostId),
      async (job: Job) => {
        const takenAt = epochNow();
        const data = job.data as { runId?: string; backupId?: string };
        options.onTaken({ runId: data.runId ?? "", hostId, jobId: job.id ?? "", takenAt });
        return { backupId: data.backupId };
      },
      { connection: shared, prefix: options.prefix, concurrency: 1, autorun: true, lockDuration: 30_000, stalledInterval: 30_000 },
    );
    worker.on("error", (error) => {
      errorCount++;
      warn(error);
    });
    return worker;
  });
  await Promise.all(workers.map((worker) => worker.waitUntilReady()));

  return {
    workers: workers.length,
    errors: () => errorCount,
    close: async () => {
      await Promise.all(workers.map((worker) => worker.close()));
      await shared.quit();
    },
  };
}
