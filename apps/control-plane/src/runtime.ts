import { openObjectStore } from "@cargohold/object-store";
import type { Hono } from "hono";
import { Redis } from "ioredis";
import { type Logger, repeatLimitedWarning } from "@cargohold/logging";
import { createApp } from "./app.js";
import { BackupCatalog } from "./catalog.js";
import type { ControlPlaneConfig } from "./config.js";
import { HostQueues } from "./queues.js";

export interface ControlPlane {
  app: Hono;
  close(): Promise<void>;
}

/** Wires the API to Redis and the object store, for the Node server and the serverless handler alike. */
export function createControlPlane(config: ControlPlaneConfig, log: Logger): ControlPlane {
  // Fail requests fast while Redis is down instead of queueing them in memory.
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 2, enableOfflineQueue: true });
  redis.on("error", repeatLimitedWarning(log, "Redis connection error; retrying"));
  const store = openObjectStore(config.store);
  const queues = new HostQueues(redis, config.queuePrefix);
  const app = createApp({ queues, catalog: new BackupCatalog(store), redis, log });
  return {
    app,
    async close() {
      await queues.close();
      await redis.quit().catch(() => redis.disconnect());
      await store.close();
    },
  };
}
