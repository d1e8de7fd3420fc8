import { type HostRecord, hostQueueName, hostsKey } from "@cargohold/job-catalog";
import { createLogger } from "@cargohold/logging";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { randomBytes } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { FleetRuns } from "./fleet.js";
import { HostRegistry } from "./hosts.js";

const redisUrl = process.env.REDIS_URL;
if (!redisUrl && process.env.CI) {
  throw new Error("the fleet tests need REDIS_URL: run them through infra/test.sh, which starts Redis");
}

describe.skipIf(!redisUrl)("FleetRuns.start", () => {
  const redis = new Redis(redisUrl ?? "redis://127.0.0.1:6379", { maxRetriesPerRequest: 2 });
  const prefix = `fleet-test-${randomBytes(4).toString("hex")}`;
  const log = createLogger("test", "silent");
  const runs = new FleetRuns(redis, prefix, new HostRegistry(redis, prefix, log), log);

  afterAll(async () => {
    await runs.close();
    for (const key of await redis.keys(`${prefix}:*`)) {
      await redis.del(key);
    }
    await redis.quit();
  });

  it("adds a run once when two callers race", async () => {
    const now = new Date().toISOString();
    for (const hostId of ["race-1", "race-2"]) {
      const record: HostRecord = { hostId, agentVersion: "0.1.0", engineVersion: "20.10.24", containers: 0, volumes: 0, labels: {}, startedAt: now, lastSeenAt: now };
      await redis.hset(hostsKey(prefix), hostId, JSON.stringify(record));
    }
    const request = { runId: "run-race", target: { all: true as const }, backup: { imageMode: "save" as const, commit: false, consistency: "none" as const } };

    const [first, second] = await Promise.all([runs.start(request), runs.start(request)]);

    expect(second.jobs).toEqual(first.jobs);
    for (const hostId of ["race-1", "race-2"]) {
      const queue = new Queue(hostQueueName(hostId), { connection: redis, prefix });
      expect((await queue.getJobCounts("waiting")).waiting).toBe(1);
      await queue.close();
    }
  });
});
