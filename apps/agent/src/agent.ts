import { cancelChannel } from "@cargohold/job-catalog";
import { openObjectStore, type ObjectStore } from "@cargohold/object-store";
import { serve, type ServerType } from "@hono/node-server";
import type { Worker } from "bullmq";
import { Hono } from "hono";
import { Redis } from "ioredis";
import { type Logger, repeatLimitedWarning, withTimeout } from "@cargohold/logging";
import type { AgentConfig } from "./config.js";
import { DockerodeAdapter } from "./docker/dockerode-adapter.js";
import type { DockerPort } from "./docker/docker-port.js";
import { RedisQuiesceLedger } from "./backup/quiesce-ledger.js";
import { resumeAfterCrash } from "./backup/quiesce.js";
import { startHeartbeat } from "./heartbeat.js";
import { AGENT_VERSION } from "./version.js";
import { RedisUploadSlots, UnlimitedUploadSlots } from "./upload-slots.js";
import { startWorker } from "./worker.js";

/** A health check reports a dependency as down when it does not respond within this time. */
const HEALTH_TIMEOUT_MS = 2000;
/** How long stop() waits for the running job and Redis before it disconnects anyway. */
const STOP_TIMEOUT_MS = 20_000;

export interface Agent {
  docker: DockerPort;
  store: ObjectStore;
  /** The bound health endpoint address, when one is served. */
  address: { host: string; port: number } | undefined;
  stop(): Promise<void>;
}

/** Starts an agent: the job worker of this host and its health endpoint. */
export async function startAgent(config: AgentConfig, log: Logger): Promise<Agent> {
  const docker = new DockerodeAdapter(config.dockerSocket, log.child({ component: "docker" }));
  await docker.ping().catch((error: Error) => {
    throw new Error(`the Docker engine at ${config.dockerSocket} did not respond: ${error.message}; start it or set CARGOHOLD_DOCKER_SOCKET`, { cause: error });
  });
  const store = openObjectStore(config.store);
  // BullMQ workers need maxRetriesPerRequest null so blocking commands wait through a Redis restart.
  const connection = new Redis(config.redisUrl, { maxRetriesPerRequest: null });
  connection.on("error", repeatLimitedWarning(log, "Redis connection error; retrying"));
  const quiesceLedger = new RedisQuiesceLedger(connection, config.queuePrefix, config.hostId);
  await resumeAfterCrash(docker, quiesceLedger, log);
  const heartbeat = startHeartbeat({
    redis: connection,
    queuePrefix: config.queuePrefix,
    hostId: config.hostId,
    labels: config.labels,
    agentVersion: AGENT_VERSION,
    docker,
    log,
    intervalMs: config.heartbeatIntervalMs,
  });
  await heartbeat.beat();

  const worker: Worker = startWorker({
    hostId: config.hostId,
    queuePrefix: config.queuePrefix,
    connection,
    docker,
    store,
    log,
    hostRoot: config.hostRoot,
    quiesceLedger,
    uploadSlots: config.maxUploads > 0 ? new RedisUploadSlots(connection, config.queuePrefix, config.maxUploads) : new UnlimitedUploadSlots(),
    jobLockMs: config.jobLockMs,
  });

  // Cancellation requests arrive on a pub/sub channel; the agent that runs the job aborts it.
  const subscriber = connection.duplicate();
  subscriber.on("error", repeatLimitedWarning(log, "Redis subscriber error; retrying"));
  await subscriber.subscribe(cancelChannel(config.queuePrefix));
  subscriber.on("message", (_channel, jobId: string) => {
    if (worker.cancelJob(jobId, "cancel requested through the API")) {
      log.info({ jobId }, "cancelling job on request");
    }
  });

  const app = new Hono();
  app.get("/healthz", async (c) => {
    const [engine, redis] = await Promise.allSettled([
      withTimeout(docker.ping(), HEALTH_TIMEOUT_MS, "Docker engine ping"),
      withTimeout(connection.ping(), HEALTH_TIMEOUT_MS, `Redis ping at ${redisLocation(config.redisUrl)}`),
    ]);
    const healthy = engine.status === "fulfilled" && redis.status === "fulfilled";
    return c.json(
      {
        status: healthy ? "ok" : "degraded",
        hostId: config.hostId,
        docker: engine.status === "fulfilled" ? "ok" : (engine.reason as Error).message,
        redis: redis.status === "fulfilled" ? "ok" : (redis.reason as Error).message,
      },
      healthy ? 200 : 503,
    );
  });

  let server: ServerType | undefined;
  let address: Agent["address"];
  if (config.listen) {
    const listen = config.listen;
    address = await new Promise((resolve, reject) => {
      server = serve({ fetch: app.fetch, hostname: listen.host, port: listen.port }, (info) => resolve({ host: listen.host, port: info.port }));
      server.once("error", (error) =>
        reject(new Error(`cannot serve /healthz on ${listen.host}:${listen.port}: ${error.message}; set CARGOHOLD_AGENT_LISTEN to a free address or "off"`, { cause: error })),
      );
    });
  }
  log.info({ hostId: config.hostId, docker: config.dockerSocket, store: store.location, health: address }, "agent started");

  return {
    docker,
    store,
    address,
    async stop() {
      await withTimeout(heartbeat.stop(), HEALTH_TIMEOUT_MS, "final heartbeat").catch(() => undefined);
      subscriber.disconnect();
      // close() waits for the running job, so a backup is not cut off half-way; with Redis down it could wait forever.
      await withTimeout(worker.close(), STOP_TIMEOUT_MS, "waiting for the running job").catch((error: Error) => {
        log.warn({ err: error }, "stopping without waiting further for the running job; it returns to the queue when its lock expires");
        return worker.close(true);
      });
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
      if (connection.status === "ready") {
        await withTimeout(connection.quit(), HEALTH_TIMEOUT_MS, "Redis quit").catch(() => connection.disconnect());
      } else {
        connection.disconnect();
      }
      await store.close();
      log.info({ hostId: config.hostId }, "agent stopped");
    },
  };
}

/** Returns the Redis URL without its credentials, for messages. */
export function redisLocation(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.password = "";
    parsed.username = "";
    return parsed.toString();
  } catch {
    return "REDIS_URL";
  }
}
