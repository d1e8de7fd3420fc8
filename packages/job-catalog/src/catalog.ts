import { assertHostId, backupOptionsSchema, HOST_ID_PATTERN, InvalidIdError, retentionPolicySchema } from "@cargohold/storage-layout";
import { z } from "zod";
import { timeZoneSchema } from "./fleet.js";

/**
 * Every job Cargohold runs, with its payload schema and queue options, in one
 * place: the control plane enqueues against these definitions and the agent
 * validates and processes against the same ones.
 *
 * Each Docker host has its own queue, so a job waits until that host's agent
 * takes it, and a host without an agent leaves its jobs queued.
 */

const containerSelector = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, "expected a container name or id");

const labelSelector = z.record(z.string().min(1), z.string());

export const backupPayloadSchema = z.object({
  backupId: z.string(),
  hostId: z.string().regex(HOST_ID_PATTERN),
  /** Names or ids. Without containers and containerLabels, every container on the host. */
  containers: z.array(containerSelector).min(1).optional(),
  /** Containers whose labels include all of these, added to `containers`. */
  containerLabels: labelSelector.optional(),
  /** Volumes to back up even when no selected container mounts them. */
  volumes: z.array(z.string().min(1)).min(1).optional(),
  volumeLabels: labelSelector.optional(),
  /** Applied to this host's backups after this one succeeds. */
  retention: retentionPolicySchema.optional(),
  /** IANA time zone of the retention buckets, such as "Europe/Berlin". */
  timezone: timeZoneSchema.optional(),
  /** The series the backup belongs to; retention prunes within it only. */
  series: z.string().optional(),
  /** The fleet run this backup belongs to, if any. */
  runId: z.string().optional(),
  ...backupOptionsSchema.shape,
});
export type BackupPayload = z.infer<typeof backupPayloadSchema>;

export const restorePayloadSchema = z.object({
  restoreId: z.string(),
  backupId: z.string(),
  targetHostId: z.string().regex(HOST_ID_PATTERN),
  /** Start the containers that were running at backup time. */
  start: z.boolean(),
  /**
   * Absolute folder under which bind-mount sources are recreated, as
   * PREFIX/original/path, for restore drills on a host that still has the originals.
   */
  bindPathPrefix: z.string().startsWith("/").optional(),
});
export type RestorePayload = z.infer<typeof restorePayloadSchema>;

export interface ArtifactProgress {
  bytes: number;
  done: boolean;
}

/** The progress that `job.updateProgress` publishes while a job runs. */
export interface JobProgress {
  phase: string;
  artifacts: Record<string, ArtifactProgress>;
}

export interface BackupResult {
  backupId: string;
  manifestKey: string;
  status: "complete" | "partial";
  artifactCount: number;
  totalBytes: number;
  /** Backups that the retention policy deleted after this one. */
  pruned: string[];
  /** The error of a retention run that failed after the backup completed. */
  pruneError?: string;
}

export interface RestoreResult {
  restoreId: string;
  backupId: string;
  /** Source volume name to the volume created on the target. Named volumes map to themselves. */
  volumeMapping: Record<string, string>;
  /** Source bind path to the path it was restored to. */
  bindMapping: Record<string, string>;
  containers: { name: string; id: string; started: boolean }[];
}

/**
 * Finished jobs stay for operators to read, bounded per host queue: at about
 * 7 KB a job (measured by bench/fleet-fanout.ts), 1000 hosts keep up to about 1.4 GB.
 */
const finishedJobRetention = {
  removeOnComplete: { age: 14 * 24 * 3600, count: 200 },
  removeOnFail: { age: 30 * 24 * 3600, count: 200 },
} as const;

export const jobCatalog = {
  backup: {
    payload: backupPayloadSchema,
    // A backup is not retried blindly: it may have paused or stopped containers.
    options: { attempts: 1, ...finishedJobRetention },
  },
  restore: {
    payload: restorePayloadSchema,
    options: { attempts: 1, ...finishedJobRetention },
  },
} as const;

export type JobName = keyof typeof jobCatalog;
export type JobPayload<Name extends JobName> = z.infer<(typeof jobCatalog)[Name]["payload"]>;
export type JobResult<Name extends JobName> = Name extends "backup" ? BackupResult : RestoreResult;

export const JOB_NAMES = Object.keys(jobCatalog) as JobName[];

export function isJobName(name: string): name is JobName {
  return Object.hasOwn(jobCatalog, name);
}

/** Returns the BullMQ queue name of one host; BullMQ reserves ":" for its own key separator, so a dot separates. */
export function hostQueueName(hostId: string): string {
  return `host.${assertHostId(hostId)}`;
}

/**
 * Job ids start with the host id, so the control plane finds a job's queue
 * from the id alone: HOST.KIND.STAMP.SUFFIX, for example
 * `web-01.backup.20261204T201500123Z.k3j9x2`.
 */
export function jobIdFor(name: JobName, entityId: string): string {
  const [hostId, ...rest] = entityId.split(".");
  return `${hostId}.${name}.${rest.join(".")}`;
}

export function parseJobId(jobId: string): { hostId: string; name: JobName } {
  const [hostId, name] = jobId.split(".");
  if (hostId === undefined || name === undefined || !isJobName(name)) {
    throw new InvalidIdError(`invalid job id ${JSON.stringify(jobId)}: expected HOST.KIND.STAMP.SUFFIX, as returned by POST /v1/backups or /v1/restores`);
  }
  return { hostId: assertHostId(hostId), name };
}
