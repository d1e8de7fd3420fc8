import { fleetBackupOptionsSchema, fleetTargetSchema, scheduleInputSchema, SCHEDULE_ID_PATTERN, timeZoneSchema } from "@cargohold/job-catalog";
import { formatStamp, retentionPolicySchema } from "@cargohold/storage-layout";
import type { Hono } from "hono";
import { randomBytes } from "node:crypto";
import { z } from "zod";
import type { FleetRuns } from "../fleet.js";
import type { HostRegistry } from "../hosts.js";
import { ApiError, invalidRequest, readJson } from "../http-error.js";
import type { Schedules } from "../schedules.js";

const runRequestSchema = z
  .object({
    target: fleetTargetSchema,
    backup: fleetBackupOptionsSchema.default({}),
    retention: retentionPolicySchema.optional(),
    timezone: timeZoneSchema.default("UTC"),
  })
  .strict();

/** Routes for hosts, fleet runs and schedules. */
export function addFleetRoutes(app: Hono, dependencies: { hosts: HostRegistry; runs: FleetRuns; schedules: Schedules }): void {
  const { hosts, runs, schedules } = dependencies;

  app.get("/v1/hosts", async (c) => c.json({ hosts: await hosts.list() }));

  app.delete("/v1/hosts/:id", async (c) => {
    const hostId = c.req.param("id");
    if (!(await hosts.remove(hostId))) {
      throw new ApiError(404, "host_not_found", `host ${hostId} not found: list hosts with GET /v1/hosts`);
    }
    return c.json({ deleted: hostId });
  });

  app.get("/v1/runs", async (c) => c.json({ runs: await runs.list() }));

  app.post("/v1/runs", async (c) => {
    const body = await readJson(c);
    const parsed = runRequestSchema.safeParse(body);
    if (!parsed.success) {
      throw invalidRequest("fleet run request", parsed.error, body);
    }
    const runId = `run-${formatStamp(new Date()).toLowerCase()}-${randomBytes(3).toString("hex")}`;

    const payload = await runs.start({ runId, ...parsed.data });

    return c.json({ runId, hosts: payload.hosts, skipped: payload.skipped, links: { run: `/v1/runs/${runId}` } }, 202);
  });

  app.get("/v1/runs/:id", async (c) => {
    const run = await runs.find(c.req.param("id"));
    if (run === undefined) {
      throw new ApiError(404, "run_not_found", `fleet run ${c.req.param("id")} not found: it never existed or was removed after 30 days`);
    }
    return c.json(run);
  });

  app.post("/v1/schedules", async (c) => {
    const body = await readJson(c);
    const parsed = scheduleInputSchema.safeParse(body);
    if (!parsed.success) {
      throw invalidRequest("schedule", parsed.error, body);
    }
    return c.json(await schedules.create(parsed.data), 201);
  });

  app.get("/v1/schedules", async (c) => c.json({ schedules: await schedules.list() }));

  app.get("/v1/schedules/:id", async (c) => {
    const schedule = await schedules.get(scheduleIdParam(c.req.param("id")));
    if (schedule === undefined) {
      throw new ApiError(404, "schedule_not_found", `schedule ${c.req.param("id")} not found: list schedules with GET /v1/schedules`);
    }
    return c.json(schedule);
  });

  app.patch("/v1/schedules/:id", async (c) => {
    const id = scheduleIdParam(c.req.param("id"));
    const existing = await schedules.get(id);
    if (existing === undefined) {
      throw new ApiError(404, "schedule_not_found", `schedule ${id} not found: list schedules with GET /v1/schedules`);
    }
    const changes = await readJson(c);
    if (typeof changes !== "object" || changes === null || Array.isArray(changes)) {
      throw new ApiError(400, "invalid_request", "invalid schedule change: send a JSON object with the fields to change");
    }
    const { id: _id, createdAt: _createdAt, updatedAt: _updatedAt, ...current } = existing;
    // Backup options merge field by field, like the schedule itself; a target or retention policy is replaced whole.
    const backupChanges = (changes as Record<string, unknown>).backup;
    const merged = mergeChanges(current, changes as Record<string, unknown>);
    if (backupChanges !== null && typeof backupChanges === "object" && !Array.isArray(backupChanges)) {
      merged.backup = mergeChanges(current.backup, backupChanges as Record<string, unknown>);
    }
    const parsed = scheduleInputSchema.safeParse(merged);
    if (!parsed.success) {
      throw invalidRequest("schedule change", parsed.error, changes);
    }
    return c.json(await schedules.update(id, parsed.data));
  });

  app.delete("/v1/schedules/:id", async (c) => {
    const id = scheduleIdParam(c.req.param("id"));
    if (!(await schedules.delete(id))) {
      throw new ApiError(404, "schedule_not_found", `schedule ${id} not found: list schedules with GET /v1/schedules`);
    }
    return c.json({ deleted: id });
  });
}

function scheduleIdParam(id: string): string {
  if (!SCHEDULE_ID_PATTERN.test(id)) {
    throw new ApiError(400, "invalid_schedule_id", `invalid schedule id ${JSON.stringify(id)}: ids look like schedule-0a1b2c3d4e`);
  }
  return id;
}

/** Applies a PATCH body: fields replace, and null drops an optional field such as the retention policy. */
function mergeChanges(current: object, changes: Record<string, unknown>): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...current, ...changes };
  for (const [field, value] of Object.entries(changes)) {
    if (value === null) {
      delete merged[field];
    }
  }
  return merged;
}
