import { type BackupPayload, hostQueueName, isJobName, jobCatalog, type JobProgress, type RestorePayload } from "@cargohold/job-catalog";
import type { ObjectStore } from "@cargohold/object-store";
import { KeyScheme } from "@cargohold/storage-layout";
import { type Job, UnrecoverableError, Worker } from "bullmq";
import type { Redis } from "ioredis";
import { type Logger, repeatLimitedWarning } from "@cargohold/logging";
import { runBackup } from "./backup/run-backup.js";
import type { DockerPort } from "./docker/docker-port.js";
import { type JobContext, PermanentJobError } from "./job-context.js";
import { ProgressReporter } from "./progress.js";
import { runRestore } from "./restore/run-restore.js";

export interface WorkerDependencies {
  hostId: string;
  queuePrefix: string;
  connection: Redis;
  docker: DockerPort;
  store: ObjectStore;
  log: Logger;
  hostRoot: string;
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
    async (job: Job) => {
      const jobLog = log.child({ jobId: job.id, job: job.name });
      const controller = new AbortController();
      const context: JobContext = {
        hostId,
        jobId: job.id ?? "",
        docker: dependencies.docker,
        store: dependencies.store,
        keys,
        log: jobLog,
        progress: new ProgressReporter((progress: JobProgress) => job.updateProgress(progress as unknown as object)),
        signal: controller.signal,
        hostRoot: dependencies.hostRoot,
      };
      jobLog.info("job started");
      try {
        const result = await processJob(context, job);
        jobLog.info("job completed");
        return result;
      } catch (error) {
        jobLog.error({ err: error }, "job failed");
        if (error instanceof PermanentJobError) {
          throw new UnrecoverableError(error.message);
        }
        throw error;
      }
    },
    { connection: dependencies.connection, prefix: dependencies.queuePrefix, concurrency: 1, autorun: true },
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
