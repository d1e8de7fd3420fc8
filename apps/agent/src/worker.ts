import { type BackupPayload, cancelRequestKey, hostQueueName, isJobName, jobCatalog, type JobProgress, type RestorePayload } from "@cargohold/job-catalog";
import type { ObjectStore } from "@cargohold/object-store";
import { KeyScheme } from "@cargohold/storage-layout";
import { type Job, UnrecoverableError, Worker } from "bullmq";
import type { Redis } from "ioredis";
import { type Logger, repeatLimitedWarning } from "@cargohold/logging";
import type { QuiesceLedger } from "./backup/quiesce-ledger.js";
import { runBackup } from "./backup/run-backup.js";
import type { DockerPort } from "./docker/docker-port.js";
import { type JobContext, PermanentJobError } from "./job-context.js";
import { ProgressReporter } from "./progress.js";
import type { UploadSlots } from "./upload-slots.js";
import { runRestore } from "./restore/run-restore.js";

/** How often a running job checks Redis for a cancellation request. */
const CANCEL_POLL_MS = 2000;

export interface WorkerDependencies {
  hostId: string;
  queuePrefix: string;
  connection: Redis;
  docker: DockerPort;
  store: ObjectStore;
  log: Logger;
  hostRoot: string;
  quiesceLedger: QuiesceLedger;
  uploadSlots: UploadSlots;
  jobLockMs: number;
}

/**
 * Takes this host's jobs from its queue, one at a time, because two backups
 * or restores on one engine would pause and create the same containers.
 */
export function startWorker(dependencies: WorkerDependencies): Worker {
  const { hostId, log } = dependencies;
  const keys = new KeyScheme();
  const worker = new Worker(
    hostQueueName(hostId),
    async (job: Job, _token?: string, signal?: AbortSignal) => {
      const jobLog = log.child({ jobId: job.id, job: job.name });
      const context: JobContext = {
        hostId,
        jobId: job.id ?? "",
        docker: dependencies.docker,
        store: dependencies.store,
        keys,
        log: jobLog,
        progress: new ProgressReporter((progress: JobProgress) => job.updateProgress(progress as unknown as object)),
        // BullMQ aborts this signal when worker.cancelJob is called for the job.
        signal: signal ?? new AbortController().signal,
        hostRoot: dependencies.hostRoot,
        quiesceLedger: dependencies.quiesceLedger,
        uploadSlots: dependencies.uploadSlots,
      };
      jobLog.info("job started");
      // Pub/sub messages are lost while a connection reconnects, so the job also polls for a stored request.
      const cancelPoll = setInterval(() => {
        dependencies.connection.exists(cancelRequestKey(dependencies.queuePrefix, job.id ?? "")).then(
          (found) => {
            if (found === 1 && job.id !== undefined) {
              worker.cancelJob(job.id, "cancel requested through the API");
            }
          },
          () => undefined,
        );
      }, CANCEL_POLL_MS);
      try {
        const result = await processJob(context, job);
        jobLog.info("job completed");
        return result;
      } catch (error) {
        jobLog.error({ err: error }, "job failed");
        if (context.signal.aborted) {
          throw new UnrecoverableError(`cancelled: ${String((context.signal.reason as Error | undefined)?.message ?? context.signal.reason ?? "cancel requested")}`);
        }
        if (error instanceof PermanentJobError) {
          throw new UnrecoverableError(error.message);
        }
        throw error;
      } finally {
        clearInterval(cancelPoll);
      }
    },
    {
      connection: dependencies.connection,
      prefix: dependencies.queuePrefix,
      concurrency: 1,
      autorun: true,
      // A worker renews its lock every lockDuration / 2, so a long backup keeps it. A dead agent's job is found stalled within one more interval.
      lockDuration: dependencies.jobLockMs,
      stalledInterval: dependencies.jobLockMs,
    },
  );
  worker.on("error", repeatLimitedWarning(log, "job worker error; BullMQ retries on its own"));
  return worker;
}

async function processJob(context: JobContext, job: Job): Promise<unknown> {
  if (!isJobName(job.name)) {
    throw new PermanentJobError(`unknown job name ${JSON.stringify(job.name)}: this agent handles ${Object.keys(jobCatalog).join(", ")}; upgrade the agent`);
  }
  const definition = jobCatalog[job.name];
  const parsed = definition.payload.safeParse(job.data);
  if (!parsed.success) {
    throw new PermanentJobError(`invalid ${job.name} payload: ${parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; ")}`);
  }
  if (job.name === "backup") {
    const payload = parsed.data as BackupPayload;
    if (payload.hostId !== context.hostId) {
      throw new PermanentJobError(`backup ${payload.backupId} is for host ${payload.hostId} but reached the agent of host ${context.hostId}`);
    }
    return runBackup(context, payload);
  }
  return runRestore(context, parsed.data as RestorePayload);
}
