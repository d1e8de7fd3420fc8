import { LocalDirectoryStore } from "@cargohold/object-store";
import { KeyScheme, newBackupId, serializeManifest } from "@cargohold/storage-layout";
import { exampleManifest } from "@cargohold/storage-layout/testing";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { createLogger } from "@cargohold/logging";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "./app.js";
import { BackupCatalog } from "./catalog.js";
import { FleetRuns } from "./fleet.js";
import { HostRegistry } from "./hosts.js";
import { HostQueues } from "./queues.js";
import { Schedules } from "./schedules.js";

const redisUrl = process.env.REDIS_URL;
if (!redisUrl && process.env.CI) {
  throw new Error("the control plane tests need REDIS_URL: run them through infra/test.sh, which starts Redis");
}

describe.skipIf(!redisUrl)("control plane API", () => {
  const prefix = `cp-test-${randomBytes(4).toString("hex")}`;
  let redis: Redis;
  let queues: HostQueues;
  let storeRoot: string;
  let store: LocalDirectoryStore;
  let app: ReturnType<typeof createApp>;
  let runs: FleetRuns;

  beforeAll(async () => {
    redis = new Redis(redisUrl!, { maxRetriesPerRequest: 2 });
    queues = new HostQueues(redis, prefix);
    storeRoot = await mkdtemp(path.join(os.tmpdir(), "cargohold-cp-"));
    store = new LocalDirectoryStore(storeRoot);
    const log = createLogger("test", "silent");
    const hosts = new HostRegistry(redis, prefix, log);
    runs = new FleetRuns(redis, prefix, hosts, log);
    app = createApp({ queues, catalog: new BackupCatalog(store), redis, log, hosts, runs, schedules: new Schedules(redis, prefix, runs.queue, log) });
  });

  afterAll(async () => {
    await runs.close();
    await queues.close();
    for (const key of await redis.keys(`${prefix}:*`)) {
      await redis.del(key);
    }
    await redis.quit();
    await rm(storeRoot, { recursive: true, force: true });
  });

  async function request(method: string, url: string, body?: unknown) {
    const response = await app.request(url, {
      method,
      headers: { "content-type": "application/json" },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  }

  it("healthz reports Redis", async () => {
    expect(await request("GET", "/healthz")).toEqual({ status: 200, body: { status: "ok", redis: "ok" } });
  });

  it("enqueues a backup on the host's queue with defaults", async () => {
    const { status, body } = await request("POST", "/v1/backups", { hostId: "web-01", containers: ["db"] });

    expect(status).toBe(202);
    expect(body.jobId).toMatch(/^web-01\.backup\./);
    expect(body.backupId).toMatch(/^web-01\./);
    const queue = new Queue("host.web-01", { connection: redis, prefix });
    const job = await queue.getJob(body.jobId);
    expect(job?.data).toEqual({ hostId: "web-01", containers: ["db"], imageMode: "save", commit: false, consistency: "pause", backupId: body.backupId });
    await queue.close();
  });

  it("shows a job without an agent as queued", async () => {
    const { body: created } = await request("POST", "/v1/backups", { hostId: "web-02" });

    const { status, body } = await request("GET", `/v1/jobs/${created.jobId}`);

    expect(status).toBe(200);
    expect(body).toMatchObject({ id: created.jobId, name: "backup", hostId: "web-02", state: "queued" });
  });

  it.each([
    [{ containers: ["db"] }, /hostId/],
    [{ hostId: "Web_01" }, /hostId \(got "Web_01"\): expected a host id/],
    [{ hostId: "web-01", containers: [] }, /leave containers out/],
    [{ hostId: "web-01", imageMode: "zip" }, /imageMode/],
    [{ hostId: "web-01", everything: true }, /Unrecognized key.*everything/],
  ])("rejects backup request %j", async (payload, message) => {
    const { status, body } = await request("POST", "/v1/backups", payload);

    expect(status).toBe(400);
    expect(body.error.code).toBe("invalid_request");
    expect(body.error.message).toMatch(message);
  });

  it("rejects a body that is not JSON", async () => {
    const { status, body } = await request("POST", "/v1/backups", "{not json");

    expect(status).toBe(400);
    expect(body.error.code).toBe("invalid_json");
  });

  it("answers 404 for a restore of a missing backup", async () => {
    const { status, body } = await request("POST", "/v1/restores", { backupId: newBackupId("web-01"), targetHostId: "web-09" });

    expect(status).toBe(404);
    expect(body.error.message).toMatch(/not found or not complete/);
  });

  it("answers 400 for a malformed backup id", async () => {
    const { status, body } = await request("GET", "/v1/backups/latest");

    expect(status).toBe(400);
    expect(body.error.message).toMatch(/invalid backup id "latest"/);
  });

  it("answers 400 for a malformed job id and 404 for an unknown one", async () => {
    expect((await request("GET", "/v1/jobs/nonsense")).status).toBe(400);
    expect((await request("GET", "/v1/jobs/web-01.backup.20261204T201500123Z.aaaaaa")).status).toBe(404);
  });

  it("lists only backups whose manifest exists", async () => {
    const keys = new KeyScheme();
    const complete = newBackupId("db-01");
    const unfinished = newBackupId("db-01");
    await store.put(keys.manifestKey(complete), Buffer.from(serializeManifest(exampleManifest(complete))));
    await store.put(keys.artifactKey(unfinished, "volume-001"), Buffer.from("partial upload"));

    const { status, body } = await request("GET", "/v1/backups?hostId=db-01");
    const one = await request("GET", `/v1/backups/${complete}`);
    const missing = await request("GET", `/v1/backups/${unfinished}`);

    expect(status).toBe(200);
    expect(body.backups.map((backup: { backupId: string }) => backup.backupId)).toEqual([complete]);
    expect(one.body.backupId).toBe(complete);
    expect(missing.status).toBe(404);
  });

  it("shows the host status of a queued job", async () => {
    const { body: created } = await request("POST", "/v1/backups", { hostId: "web-unknown" });

    const { body } = await request("GET", `/v1/jobs/${created.jobId}`);

    expect(body.host).toEqual({ hostId: "web-unknown", status: "unknown" });
  });

  it.each([
    [{ target: { all: true }, timezone: "Mars/Olympus" }, /timezone \(got "Mars\/Olympus"\): unknown time zone/],
    [{ target: { everything: true } }, /target \(got \{"everything":true\}\): expected \{"all": true\}/],
  ])("rejects run request %j", async (payload, message) => {
    const { status, body } = await request("POST", "/v1/runs", payload);

    expect(status).toBe(400);
    expect(body.error.message).toMatch(message);
  });

  it("drops a schedule's retention with null", async () => {
    const { body: created } = await request("POST", "/v1/schedules", { cron: "0 3 * * *", target: { all: true }, retention: { keepLast: 3 } });

    const { status, body } = await request("PATCH", `/v1/schedules/${created.id}`, { retention: null });
    await request("DELETE", `/v1/schedules/${created.id}`);

    expect(status).toBe(200);
    expect(body.retention).toBeUndefined();
    expect(body.cron).toBe("0 3 * * *");
  });

  it("merges backup options on PATCH", async () => {
    const { body: created } = await request("POST", "/v1/schedules", { cron: "0 3 * * *", target: { all: true }, backup: { containers: ["db"], consistency: "stop" } });

    const { body } = await request("PATCH", `/v1/schedules/${created.id}`, { backup: { containerLabels: { backup: "yes" } } });
    await request("DELETE", `/v1/schedules/${created.id}`);

    expect(body.backup).toMatchObject({ containers: ["db"], consistency: "stop", containerLabels: { backup: "yes" } });
  });

  it("reports the host status when enqueueing", async () => {
    const { body } = await request("POST", "/v1/backups", { hostId: "web-typo" });

    expect(body.host).toEqual({ hostId: "web-typo", status: "unknown" });
  });

  it("explains a run that matched no host", async () => {
    const { body } = await request("POST", "/v1/runs", { target: { labels: { env: "nowhere" } } });

    expect(body.hosts).toEqual([]);
    expect(body.skipped).toEqual([]);
  });

  it("rejects a schedule in an unknown time zone", async () => {
    const { status, body } = await request("POST", "/v1/schedules", { cron: "0 3 * * *", timezone: "Mars/Olympus", target: { all: true } });

    expect(status).toBe(400);
    expect(body.error.message).toMatch(/timezone \(got "Mars\/Olympus"\): unknown time zone/);
  });

  it("answers 404 when forgetting an unknown host", async () => {
    expect((await request("DELETE", "/v1/hosts/never-seen")).status).toBe(404);
  });

  it("lists runs newest first", async () => {
    const first = await request("POST", "/v1/runs", { target: { hostIds: ["nobody-1"] } });
    const second = await request("POST", "/v1/runs", { target: { hostIds: ["nobody-2"] } });

    const { body } = await request("GET", "/v1/runs");

    const ids = body.runs.map((run: { id: string }) => run.id);
    expect(ids.indexOf(second.body.runId)).toBeLessThan(ids.indexOf(first.body.runId));
  });

  it("enqueues a restore of an existing backup", async () => {
    const backupId = newBackupId("db-02");
    await store.put(new KeyScheme().manifestKey(backupId), Buffer.from(serializeManifest(exampleManifest(backupId))));

    const { status, body } = await request("POST", "/v1/restores", { backupId, targetHostId: "fresh-vm" });

    expect(status).toBe(202);
    expect(body.jobId).toMatch(/^fresh-vm\.restore\./);
    expect((await request("GET", `/v1/jobs/${body.jobId}`)).body.state).toBe("queued");
  });
});

describe.skipIf(!redisUrl)("control plane with Redis down", () => {
  it("answers 503 naming Redis", async () => {
    // Nothing listens on port 1 of loopback, so every command fails to connect.
    const redis = new Redis("redis://127.0.0.1:1", { maxRetriesPerRequest: 1, retryStrategy: () => 200, lazyConnect: false });
    redis.on("error", () => undefined);
    const log = createLogger("test", "silent");
    const queues = new HostQueues(redis, "down");
    const hosts = new HostRegistry(redis, "down", log);
    const runs = new FleetRuns(redis, "down", hosts, log);
    const storeRoot = await mkdtemp(path.join(os.tmpdir(), "cargohold-cp-down-"));
    const app = createApp({ queues, catalog: new BackupCatalog(new LocalDirectoryStore(storeRoot)), redis, log, hosts, runs, schedules: new Schedules(redis, "down", runs.queue, log) });

    const response = await app.request("/v1/backups", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ hostId: "web-01" }) });
    const body = (await response.json()) as { error: { code: string; message: string } };

    expect(response.status).toBe(503);
    expect(body.error.code).toBe("redis_unavailable");
    expect(body.error.message).toMatch(/Redis at 127\.0\.0\.1:1 is unavailable/);
    redis.disconnect();
    await rm(storeRoot, { recursive: true, force: true });
  }, 30_000);
});
