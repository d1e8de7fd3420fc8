import { openObjectStore } from "@cargohold/object-store";
import type { Hono } from "hono";
import { Redis } from "ioredis";
import { type Logger, repeatLimitedWarning } from "@cargohold/logging";
import { createApp } from "./app.js";
import { BackupCatalog } from "./catalog.js";
import type { ControlPlaneConfig } from "./config.js";
import { FleetRuns } from "./fleet.js";
import { startFleetWorker } from "./fleet-worker.js";
import { HostRegistry } from "./hosts.js";
import { HostQueues } from "./queues.js";
import { Schedules } from "./schedules.js";

export interface ControlPlane {
  app: Hono;
  /** Starts this instance's worker on the fleet queue: schedule ticks and run summaries. Serverless handlers leave it off. */
  startFleetWorker(options?: { sweepMs?: number }): void;
  close(): Promise<void>;
}

/** Wires the API to Redis and the object store, for the Node server and the serverless handler alike. */
export function createControlPlane(config: ControlPlaneConfig, log: Logger): ControlPlane {
  // Fail requests fast while Redis is down instead of queueing them in memory.
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 2, enableOfflineQueue: true });
  redis.on("error", repeatLimitedWarning(log, "Redis connection error; retrying"));
  const store = openObjectStore(config.store);
  const queues = new HostQueues(redis, config.queuePrefix);
  const hosts = new HostRegistry(redis, config.queuePrefix, log, config.offlineAfterMs);
  const runs = new FleetRuns(redis, config.queuePrefix, hosts, log);
  const schedules = new Schedules(redis, config.queuePrefix, runs.queue, log);
  const app = createApp({ queues, catalog: new BackupCatalog(store), redis, log, hosts, runs, schedules });
  let fleetWorker: { close(): Promise<void> } | undefined;
  return {
    app,
    startFleetWorker(options = {}) {
      fleetWorker ??= startFleetWorker({ redis, prefix: config.queuePrefix, runs, schedules, log, sweepMs: options.sweepMs });
    },
    async close() {
      await fleetWorker?.close();
      await runs.close();
      await queues.close();
      await redis.quit().catch(() => redis.disconnect());
      await store.close();
    },
  };
}
