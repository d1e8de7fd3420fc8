import {
  type FleetBackupOptions,
  type FleetHostOutcome,
  FLEET_QUEUE,
  type FleetRunPayload,
  type FleetRunResult,
  type FleetTarget,
  hostQueueName,
  jobCatalog,
  jobIdFor,
  matchesTarget,
  parseJobId,
  runSkippedKey,
} from "@cargohold/job-catalog";
import type { Logger } from "@cargohold/logging";
import { newBackupId, type RetentionPolicy } from "@cargohold/storage-layout";
import { FlowProducer, type Job, Queue } from "bullmq";
import { createHash } from "node:crypto";
import type { Redis } from "ioredis";
import type { HostRegistry } from "./hosts.js";

/** How long a run id stays claimed; longer than any fan-out takes, short enough that a crashed claimer does not block a retry for long. */
const RUN_CLAIM_MS = 5 * 60_000;
const RUN_CLAIM_WAIT_MS = 30_000;

function runClaimKey(prefix: string, runId: string): string {
  return `${prefix}:cargohold:run:${runId}:claim`;
}

export interface RunRequest {
  runId: string;
  scheduleId?: string;
  target: FleetTarget;
  backup: FleetBackupOptions;
  retention?: RetentionPolicy;
  timezone?: string;
}

export interface RunView {
  id: string;
  scheduleId: string | undefined;
  state: "running" | "completed" | "failed";
  createdAt: string;
  target: FleetTarget;
  hosts: string[];
  jobs: FleetRunPayload["jobs"];
  skipped: { hostId: string; reason: string }[];
  pendingHosts: number | undefined;
  result: FleetRunResult | undefined;
}

/**
 * Fleet runs: one BullMQ flow per run, with a parent job on the fleet queue
 * and one backup job per online host. A failed child never blocks the parent
 * (ignoreDependencyOnFailure), so the parent always reaches an end state and
 * summarizes which hosts completed, failed or were skipped.
 */
export class FleetRuns {
  readonly #flows: FlowProducer;
  readonly #queue: Queue;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly hosts: HostRegistry,
    private readonly log: Logger,
  ) {
    this.#flows = new FlowProducer({ connection: redis, prefix });
    this.#queue = new Queue(FLEET_QUEUE, { connection: redis, prefix });
  }

  get queue(): Queue {
    return this.#queue;
  }

  /**
   * Fans a run out to every targeted online host. The run id is claimed
   * atomically first. So when two control planes, or a retried tick, start
   * the same run id, it is added once and the later caller gets that run.
   */
  async start(request: RunRequest): Promise<FleetRunPayload> {
    const claimed = await this.redis.set(runClaimKey(this.prefix, request.runId), "1", "PX", RUN_CLAIM_MS, "NX");
    if (claimed !== "OK") {
      return this.#awaitRun(request.runId);
    }

    const known = await this.hosts.list();
    const targeted = known.filter((host) => matchesTarget(request.target, host));
    const skipped = targeted.filter((host) => host.status === "offline").map((host) => ({ hostId: host.hostId, reason: `offline since ${host.lastSeenAt}` }));
    if ("hostIds" in request.target) {
      for (const hostId of request.target.hostIds) {
        if (!known.some((host) => host.hostId === hostId)) {
          skipped.push({ hostId, reason: "no agent has registered this host" });
        }
      }
    }
    const online = targeted.filter((host) => host.status === "online").map((host) => host.hostId);
    const series = seriesOf(request);
    const jobs = online.map((hostId) => {
      const backupId = newBackupId(hostId);
      return { hostId, backupId, jobId: jobIdFor("backup", backupId) };
    });
    const payload: FleetRunPayload = {
      runId: request.runId,
      scheduleId: request.scheduleId,
      target: request.target,
      backup: request.backup,
      retention: request.retention,
      hosts: online,
      jobs,
      skipped,
    };

    await this.#flows.add({
      name: "fleet-run",
      queueName: FLEET_QUEUE,
      data: payload,
      opts: { jobId: request.runId, removeOnComplete: { age: 30 * 24 * 3600 }, removeOnFail: { age: 30 * 24 * 3600 } },
      children: jobs.map(({ hostId, backupId, jobId }) => ({
        name: "backup",
        queueName: hostQueueName(hostId),
        data: jobCatalog.backup.payload.parse({ ...request.backup, backupId, hostId, retention: request.retention, timezone: request.timezone, runId: request.runId, series }),
        opts: { ...jobCatalog.backup.options, jobId, ignoreDependencyOnFailure: true },
      })),
    });
    this.log.info({ runId: request.runId, hosts: online.length, skipped: skipped.length }, "fleet run started");
    return payload;
  }

  /** Waits for a run that another caller claimed to appear in the queue. */
  async #awaitRun(runId: string): Promise<FleetRunPayload> {
    const deadline = Date.now() + RUN_CLAIM_WAIT_MS;
    while (Date.now() < deadline) {
      const existing = await this.#queue.getJob(runId);
      if (existing !== undefined) {
        return existing.data as FleetRunPayload;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`fleet run ${runId} was claimed by another control plane but did not appear within ${RUN_CLAIM_WAIT_MS / 1000} s`);
  }

  async isRunning(runId: string): Promise<boolean> {
    const job = await this.#queue.getJob(runId);
    return job !== undefined && (await job.getState()) === "waiting-children";
  }

  /** Lists the newest runs first, at most `limit`. */
  async list(limit = 100): Promise<{ id: string; scheduleId?: string; state: RunView["state"]; createdAt: string; hosts: number; status?: string }[]> {
    const jobs = await this.#queue.getJobs(["waiting-children", "waiting", "active", "completed", "failed"], 0, -1);
    const runs = jobs.filter((job) => job.name === "fleet-run").sort((a, b) => b.timestamp - a.timestamp).slice(0, limit);
    return Promise.all(
      runs.map(async (job) => {
        const payload = job.data as FleetRunPayload;
        const state = await job.getState();
        return {
          id: job.id ?? "",
          scheduleId: payload.scheduleId,
          state: state === "completed" || state === "failed" ? state : "running",
          createdAt: new Date(job.timestamp).toISOString(),
          hosts: payload.hosts.length + payload.skipped.length,
          status: (job.returnvalue as FleetRunResult | null)?.status,
        };
      }),
    );
  }

  async find(runId: string): Promise<RunView | undefined> {
    let job = await this.#queue.getJob(runId);
    if (job === undefined || job.name !== "fleet-run") {
      return undefined;
    }
    const payload = job.data as FleetRunPayload;
    const state = await job.getState();
    if (state === "completed" || state === "failed") {
      // As with host jobs, the run may have ended after its data was read, so read it again for the result.
      job = (await this.#queue.getJob(runId)) ?? job;
    }
    const counts = state === "waiting-children" ? await job.getDependenciesCount({ processed: false, ignored: false, unprocessed: true }) : undefined;
    // A run is running from fan-out until its parent job has summarized the hosts.
    const runState: RunView["state"] = state === "completed" || state === "failed" ? state : "running";
    return {
      id: runId,
      scheduleId: payload.scheduleId,
      state: runState,
      createdAt: new Date(job.timestamp).toISOString(),
      target: payload.target,
      hosts: payload.hosts,
      jobs: payload.jobs,
      skipped: [...payload.skipped, ...(await this.#lateSkips(runId))],
      pendingHosts: counts?.unprocessed,
      result: (job.returnvalue as FleetRunResult | null) ?? undefined,
    };
  }

  /** Summarizes a run once every child has ended: the fleet worker calls this for the parent job. */
  async summarize(job: Job): Promise<FleetRunResult> {
    const payload = job.data as FleetRunPayload;
    const outcomes: FleetHostOutcome[] = [];
    const values = (await job.getChildrenValues()) as Record<string, { backupId?: string } | undefined>;
    for (const [key, value] of Object.entries(values)) {
      const jobId = key.slice(key.lastIndexOf(":") + 1);
      outcomes.push({ hostId: parseJobId(jobId).hostId, state: "completed", jobId, backupId: value?.backupId });
    }
    for (const [key, reason] of Object.entries(await job.getIgnoredChildrenFailures())) {
      const jobId = key.slice(key.lastIndexOf(":") + 1);
      outcomes.push({ hostId: parseJobId(jobId).hostId, state: "failed", jobId, error: reason });
    }
    for (const skip of [...payload.skipped, ...(await this.#lateSkips(payload.runId))]) {
      outcomes.push({ hostId: skip.hostId, state: "skipped", error: skip.reason });
    }
    outcomes.sort((a, b) => a.hostId.localeCompare(b.hostId));

    const completed = outcomes.filter((outcome) => outcome.state === "completed").length;
    let status: FleetRunResult["status"] = "failed";
    if (completed === outcomes.length && completed > 0) {
      status = "completed";
    } else if (completed > 0) {
      status = "partially_failed";
    }
    if (outcomes.length === 0) {
      return { runId: payload.runId, status, hosts: outcomes, reason: `no registered host matched the target ${JSON.stringify(payload.target)}; check GET /v1/hosts` };
    }
    return { runId: payload.runId, status, hosts: outcomes };
  }

  /**
   * Removes the queued backups of hosts that went offline after their run
   * fanned out, recording them as skipped, so a dead agent cannot keep a run
   * waiting. A backup an agent has already started is left to its lock.
   */
  async skipOfflineHosts(): Promise<void> {
    const online = new Set((await this.hosts.list()).filter((host) => host.status === "online").map((host) => host.hostId));
    for (const run of await this.#queue.getWaitingChildren()) {
      const unprocessed: string[] = [];
      let cursor: number | undefined = 0;
      do {
        const page: Awaited<ReturnType<typeof run.getDependencies>> = await run.getDependencies({ unprocessed: { cursor, count: 1000 } });
        unprocessed.push(...(page.unprocessed ?? []));
        cursor = page.nextUnprocessedCursor || undefined;
      } while (cursor !== undefined);
      for (const key of unprocessed) {
        const jobId = key.slice(key.lastIndexOf(":") + 1);
        const { hostId } = parseJobId(jobId);
        if (online.has(hostId)) {
          continue;
        }
        const hostQueue = new Queue(hostQueueName(hostId), { connection: this.redis, prefix: this.prefix });
        try {
          const child = await hostQueue.getJob(jobId);
          if (child === undefined || (await child.getState()) !== "waiting") {
            continue;
          }
          await this.redis.sadd(runSkippedKey(this.prefix, run.id ?? ""), JSON.stringify({ hostId, reason: "went offline before its backup started" }));
          await child.remove();
          this.log.warn({ runId: run.id, hostId }, "skipped a host that went offline during a fleet run");
        } finally {
          await hostQueue.close();
        }
      }
    }
  }

  async close(): Promise<void> {
    await this.#flows.close();
    await this.#queue.close();
  }

  async #lateSkips(runId: string): Promise<{ hostId: string; reason: string }[]> {
    const members = await this.redis.smembers(runSkippedKey(this.prefix, runId));
    return members.map((member) => JSON.parse(member) as { hostId: string; reason: string });
  }
}

/**
 * Names the series a run's backups belong to: the schedule, or for an
 * unscheduled run the selection of containers and volumes, so a retention
 * policy prunes only backups made the same way.
 */
export function seriesOf(request: Pick<RunRequest, "scheduleId" | "backup">): string {
  if (request.scheduleId !== undefined) {
    return `schedule-${request.scheduleId}`;
  }
  const { containers, containerLabels, volumes, volumeLabels } = request.backup;
  const selection = JSON.stringify({
    containers: containers ? [...containers].sort() : null,
    containerLabels: containerLabels ? Object.entries(containerLabels).sort() : null,
    volumes: volumes ? [...volumes].sort() : null,
    volumeLabels: volumeLabels ? Object.entries(volumeLabels).sort() : null,
  });
  return `selection-${createHash("sha256").update(selection).digest("hex").slice(0, 16)}`;
}
