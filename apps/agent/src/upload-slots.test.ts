import { Redis } from "ioredis";
import { randomBytes } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { RedisUploadSlots } from "./upload-slots.js";

const redisUrl = process.env.REDIS_URL;
if (!redisUrl && process.env.CI) {
  throw new Error("the upload slot tests need REDIS_URL: run them through infra/test.sh, which starts Redis");
}

describe.skipIf(!redisUrl)("RedisUploadSlots", () => {
  const redis = new Redis(redisUrl ?? "redis://127.0.0.1:6379", { lazyConnect: true });
  const prefix = `slots-${randomBytes(4).toString("hex")}`;

  afterAll(async () => {
    await redis.del(`${prefix}:cargohold:upload-slots`);
    await redis.quit();
  });

  it("holds a third uploader until a slot frees", async () => {
    const slots = new RedisUploadSlots(redis, prefix, 2, 30_000, 20);
    const signal = new AbortController().signal;
    const first = await slots.acquire(signal);
    await slots.acquire(signal);
    let thirdAcquired = false;

    const third = slots.acquire(signal).then((release) => {
      thirdAcquired = true;
      return release;
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const acquiredBeforeRelease = thirdAcquired;
    await first();
    await third;

    expect(acquiredBeforeRelease).toBe(false);
    expect(thirdAcquired).toBe(true);
  });

  it("reclaims the slot of a holder whose lease ran out", async () => {
    const slots = new RedisUploadSlots(redis, `${prefix}-lease`, 1, 100, 20);
    const signal = new AbortController().signal;
    await redis.zadd(`${prefix}-lease:cargohold:upload-slots`, 0, "dead-agent");

    const release = await slots.acquire(signal);

    await release();
    expect(await redis.zcard(`${prefix}-lease:cargohold:upload-slots`)).toBe(0);
  });

  it("stops waiting when the job is cancelled", async () => {
    const slots = new RedisUploadSlots(redis, `${prefix}-cancel`, 1, 30_000, 20);
    const holder = await slots.acquire(new AbortController().signal);
    const controller = new AbortController();

    const waiting = slots.acquire(controller.signal);
    controller.abort(new Error("cancelled"));

    await expect(waiting).rejects.toThrow("cancelled");
    await holder();
  });
});
