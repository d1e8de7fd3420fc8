import { HOST_ID_PATTERN, backupOptionsSchema, retentionPolicySchema } from "@cargohold/storage-layout";
import { z } from "zod";

/**
 * The Redis keys and records that agents and control planes share besides
 * the job queues: the host registry, fleet runs, schedules and cancellation requests.
 * Every key starts with the BullMQ prefix, so one prefix is one deployment.
 */

/** How often an agent refreshes its host record. */
export const HEARTBEAT_INTERVAL_MS = 10_000;
/** A host whose record is older than this shows as offline. */
export const OFFLINE_AFTER_MS = 30_000;
/** The queue of fleet runs and schedule ticks, processed by control planes. */
export const FLEET_QUEUE = "fleet";

/** An IANA time zone name that this runtime's Intl data includes, such as "Europe/Berlin". */
export const timeZoneSchema = z.string().refine(
  (zone) => {
    try {
      new Intl.DateTimeFormat("en-US", { timeZone: zone });
      return true;
    } catch {
      return false;
    }
  },
  { message: 'unknown time zone: use an IANA name such as "Europe/Berlin" or "UTC"' },
);

const labelMap = z.record(z.string().min(1).max(128), z.string().max(256));

export const hostRecordSchema = z.object({
  hostId: z.string().regex(HOST_ID_PATTERN),
  agentVersion: z.string(),
  engineVersion: z.string(),
  containers: z.number().int().nonnegative(),
  volumes: z.number().int().nonnegative(),
  labels: labelMap,
  startedAt: z.string().datetime(),
  lastSeenAt: z.string().datetime(),
  /** Set by an agent that stopped cleanly, so its host shows offline at once. */
  stoppedAt: z.string().datetime().optional(),
});
export type HostRecord = z.infer<typeof hostRecordSchema>;

export function hostsKey(prefix: string): string {
  return `${prefix}:cargohold:hosts`;
}

export function schedulesKey(prefix: string): string {
  return `${prefix}:cargohold:schedules`;
}

export function cancelChannel(prefix: string): string {
  return `${prefix}:cargohold:cancel`;
}

/** Marks a running job as cancelled, for an agent that missed the pub/sub message while reconnecting. */
export function cancelRequestKey(prefix: string, jobId: string): string {
  return `${prefix}:cargohold:cancel:${jobId}`;
}

/** Lifetime of a cancellation request in Redis. A running job receives it within seconds through pub/sub or polling. */
export const CANCEL_REQUEST_TTL_SECONDS = 24 * 3600;

/** Hosts found offline after a run fanned out, recorded by whichever control plane noticed. */
export function runSkippedKey(prefix: string, runId: string): string {
  return `${prefix}:cargohold:run:${runId}:skipped`;
}

export function hostStatus(record: HostRecord, now: number, offlineAfterMs = OFFLINE_AFTER_MS): "online" | "offline" {
  if (record.stoppedAt !== undefined) {
    return "offline";
  }
  return now - Date.parse(record.lastSeenAt) <= offlineAfterMs ? "online" : "offline";
}

/** The hosts a fleet run or schedule covers: all, by labels, or by id. */
export const fleetTargetSchema = z.union(
  [
    z.object({ all: z.literal(true) }).strict(),
    z.object({ labels: labelMap.refine((labels) => Object.keys(labels).length > 0, "name at least one label") }).strict(),
    z.object({ hostIds: z.array(z.string().regex(HOST_ID_PATTERN)).min(1) }).strict(),
  ],
  { errorMap: () => ({ message: 'expected {"all": true}, {"labels": {"name": "value"}} or {"hostIds": ["web-01"]}' }) },
);
export type FleetTarget = z.infer<typeof fleetTargetSchema>;

export function matchesTarget(target: FleetTarget, host: Pick<HostRecord, "hostId" | "labels">): boolean {
  if ("all" in target) {
    return true;
  }
  if ("hostIds" in target) {
    return target.hostIds.includes(host.hostId);
  }
  return Object.entries(target.labels).every(([name, value]) => host.labels[name] === value);
}

/** The backup options of a fleet run: which containers and volumes, and how. */
export const fleetBackupOptionsSchema = z
  .object({
    containers: z.array(z.string().min(1)).min(1).optional(),
    containerLabels: labelMap.optional(),
    volumes: z.array(z.string().min(1)).min(1).optional(),
    volumeLabels: labelMap.optional(),
    imageMode: backupOptionsSchema.shape.imageMode.default("save"),
    commit: z.boolean().default(false),
    consistency: backupOptionsSchema.shape.consistency.default("pause"),
  })
  .strict();
export type FleetBackupOptions = z.infer<typeof fleetBackupOptionsSchema>;

export const fleetRunPayloadSchema = z.object({
  runId: z.string(),
  scheduleId: z.string().optional(),
  target: fleetTargetSchema,
  backup: fleetBackupOptionsSchema,
  retention: retentionPolicySchema.optional(),
  /** Hosts that received a backup job. */
  hosts: z.array(z.string()),
  /** The backup job of each host in `hosts`. */
  jobs: z.array(z.object({ hostId: z.string(), jobId: z.string(), backupId: z.string() })),
  /** Hosts the run covers but could not reach when it fanned out. */
  skipped: z.array(z.object({ hostId: z.string(), reason: z.string() })),
});
export type FleetRunPayload = z.infer<typeof fleetRunPayloadSchema>;

export interface FleetHostOutcome {
  hostId: string;
  state: "completed" | "failed" | "skipped";
  jobId?: string;
  backupId?: string;
  error?: string;
}

export interface FleetRunResult {
  runId: string;
  /** "partially_failed" when some hosts failed or were skipped and at least one completed. */
  status: "completed" | "partially_failed" | "failed";
  hosts: FleetHostOutcome[];
  /** Set when the run failed without any host to report, such as a target that matched none. */
  reason?: string;
}

/** The data of a schedule's tick job: the schedule is read from Redis when the tick runs, so an edit applies to the next tick. */
export const scheduleTickPayloadSchema = z.object({ scheduleId: z.string() });

export const SCHEDULE_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

export const scheduleInputSchema = z
  .object({
    /** Cron expression with five fields (minute first) or six (seconds first), as cron-parser reads it. */
    cron: z.string().min(1).max(256),
    /** IANA time zone name for the cron expression and the retention buckets. */
    timezone: timeZoneSchema.default("UTC"),
    target: fleetTargetSchema,
    backup: fleetBackupOptionsSchema.default({}),
    retention: retentionPolicySchema.optional(),
  })
  .strict();
export type ScheduleInput = z.infer<typeof scheduleInputSchema>;

export const scheduleSchema = scheduleInputSchema.extend({
  id: z.string().regex(SCHEDULE_ID_PATTERN),
  createdAt: z.string().datetime(),
  updatedAt: z.string().datetime(),
});
export type Schedule = z.infer<typeof scheduleSchema>;
