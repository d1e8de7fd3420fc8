import { jobIdFor } from "@cargohold/job-catalog";
import { backupOptionsSchema, HOST_ID_PATTERN, newBackupId, newRestoreId } from "@cargohold/storage-layout";
import { Hono } from "hono";
import type { Redis } from "ioredis";
import { type Logger, withTimeout } from "@cargohold/logging";
import { z } from "zod";
import type { BackupCatalog } from "./catalog.js";
import { ApiError, handleError, invalidRequest, readJson } from "./http-error.js";
import type { FleetRuns } from "./fleet.js";
import type { HostRegistry } from "./hosts.js";
import type { HostQueues } from "./queues.js";
import { addFleetRoutes } from "./routes/fleet-routes.js";
import type { Schedules } from "./schedules.js";

export interface AppDependencies {
  queues: HostQueues;
  catalog: BackupCatalog;
  redis: Redis;
  log: Logger;
  hosts: HostRegistry;
  runs: FleetRuns;
  schedules: Schedules;
}

/** Maximum time a request waits on Redis or the object store before it fails. */
const REQUEST_TIMEOUT_MS = 10_000;

const hostId = z.string().regex(HOST_ID_PATTERN, "expected a host id: 1 to 63 lowercase letters, digits and inner hyphens");

const backupRequestSchema = z
  .object({
    hostId,
    containers: z.array(z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, "expected a container name or id")).min(1, "leave containers out to back up every container").optional(),
    imageMode: backupOptionsSchema.shape.imageMode.default("save"),
    commit: z.boolean().default(false),
    consistency: backupOptionsSchema.shape.consistency.default("pause"),
  })
  .strict();

const restoreRequestSchema = z
  .object({
    backupId: z.string(),
    targetHostId: hostId,
    start: z.boolean().default(true),
    bindPathPrefix: z
      .string()
      .regex(/^\/[^\0]*$/, "expected an absolute path")
      .refine((value) => value !== "/", "use a folder other than /")
      .optional(),
  })
  .strict();

/** Creates the control plane's HTTP API, which validates requests, enqueues jobs and reads the catalog while agents do the work. */
export function createApp(dependencies: AppDependencies): Hono {
  const { queues, catalog, redis, log, hosts } = dependencies;
  const app = new Hono();
  const redisUnavailable = () => (redis.status === "ready" ? undefined : `Redis at ${redisLocation(redis)} is unavailable (connection ${redis.status})`);
  app.onError(handleError(log, redisUnavailable));
  // With Redis down, ioredis queues commands until it reconnects, so a request gives up after this long.
  app.use("/v1/*", async (_c, next) => {
    try {
      await withTimeout(next(), REQUEST_TIMEOUT_MS, "request");
    } catch (error) {
      const problem = redisUnavailable();
      if (problem !== undefined && !(error instanceof ApiError)) {
        throw new ApiError(503, "redis_unavailable", `${problem}; check REDIS_URL and that Redis is running`, { cause: error });
      }
      throw error;
    }
  });
  app.notFound((c) => c.json({ error: { code: "not_found", message: `no route for ${c.req.method} ${c.req.path}` } }, 404));

  app.get("/healthz", async (c) => {
    try {
      await redis.ping();
      return c.json({ status: "ok", redis: "ok" });
    } catch (error) {
      log.warn({ err: error }, "health check: Redis did not respond");
      return c.json({ status: "degraded", redis: (error as Error).message }, 503);
    }
  });

  app.post("/v1/backups", async (c) => {
    const body = await readJson(c);
    const parsed = backupRequestSchema.safeParse(body);
    if (!parsed.success) {
      throw invalidRequest("backup request", parsed.error, body);
    }
    const request = parsed.data;

    const backupId = newBackupId(request.hostId);
    const jobId = jobIdFor("backup", backupId);
    await queues.enqueue("backup", request.hostId, jobId, { ...request, backupId });
    log.info({ jobId, backupId, hostId: request.hostId }, "backup enqueued");

    const host = { hostId: request.hostId, status: await hosts.statusOf(request.hostId) };
    return c.json({ jobId, backupId, hostId: request.hostId, host, links: { job: `/v1/jobs/${jobId}`, backup: `/v1/backups/${backupId}` } }, 202);
  });

  app.post("/v1/restores", async (c) => {
    const body = await readJson(c);
    const parsed = restoreRequestSchema.safeParse(body);
    if (!parsed.success) {
      throw invalidRequest("restore request", parsed.error, body);
    }
    const request = parsed.data;
    const manifest = await catalog.get(request.backupId);
    if (manifest === undefined) {
      throw new ApiError(404, "backup_not_found", `backup ${request.backupId} not found or not complete: list backups with GET /v1/backups`);
    }
    const restoreId = newRestoreId(request.targetHostId);
    const jobId = jobIdFor("restore", restoreId);
    await queues.enqueue("restore", request.targetHostId, jobId, { ...request, restoreId });
    log.info({ jobId, backupId: request.backupId, targetHostId: request.targetHostId }, "restore enqueued");

    const host = { hostId: request.targetHostId, status: await hosts.statusOf(request.targetHostId) };
    return c.json({ jobId, restoreId, backupId: request.backupId, targetHostId: request.targetHostId, host, links: { job: `/v1/jobs/${jobId}` } }, 202);
  });

  app.get("/v1/jobs/:id", async (c) => {
    const jobId = c.req.param("id");
    const job = await queues.find(jobId);
    if (job === undefined) {
      throw new ApiError(404, "job_not_found", `job ${jobId} not found: it never existed, was cancelled while queued, or was removed after its retention period`);
    }
    if (job.state === "queued") {
      // A job waits until its host's agent takes it, so the registry status shows whether one is there.
      return c.json({ ...job, host: { hostId: job.hostId, status: await hosts.statusOf(job.hostId) } });
    }
    return c.json(job);
  });

  app.delete("/v1/jobs/:id", async (c) => {
    const jobId = c.req.param("id");
    const outcome = await queues.cancel(jobId);
    if (outcome === undefined) {
      throw new ApiError(404, "job_not_found", `job ${jobId} not found: it never existed or was removed after its retention period`);
    }
    if (outcome === "finished") {
      throw new ApiError(409, "job_finished", `job ${jobId} already ended; nothing to cancel`);
    }
    log.info({ jobId, outcome }, "job cancellation requested");
    return c.json({ id: jobId, state: outcome }, outcome === "cancelled" ? 200 : 202);
  });

  app.get("/v1/backups", async (c) => {
    const host = c.req.query("hostId");
    if (host !== undefined && !HOST_ID_PATTERN.test(host)) {
      throw new ApiError(400, "invalid_host_id", `invalid hostId ${JSON.stringify(host)}: use lowercase letters, digits and inner hyphens`);
    }
    return c.json({ backups: await catalog.list(host) });
  });

  app.get("/v1/backups/:id", async (c) => {
    const backupId = c.req.param("id");
    const manifest = await catalog.get(backupId);
    if (manifest === undefined) {
      throw new ApiError(404, "backup_not_found", `backup ${backupId} not found or not complete: list backups with GET /v1/backups`);
    }
    return c.json(manifest);
  });

  addFleetRoutes(app, dependencies);
  return app;
}

function redisLocation(redis: Redis): string {
  const { host, port } = redis.options;
  return `${host ?? "127.0.0.1"}:${port ?? 6379}`;
}
