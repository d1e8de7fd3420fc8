import { type HostRecord, hostsKey } from "@cargohold/job-catalog";
import { type Logger, repeatLimitedWarning } from "@cargohold/logging";
import type { Redis } from "ioredis";
import type { DockerPort } from "./docker/docker-port.js";

export interface HeartbeatOptions {
  redis: Redis;
  queuePrefix: string;
  hostId: string;
  labels: Record<string, string>;
  agentVersion: string;
  docker: DockerPort;
  log: Logger;
  intervalMs: number;
}

/**
 * Registers this host and refreshes its record on an interval, with the
 * engine version and container and volume counts. The control plane reads
 * the records to list hosts and to skip offline ones in fleet runs.
 */
export function startHeartbeat(options: HeartbeatOptions): { beat(): Promise<void>; stop(): Promise<void> } {
  const startedAt = new Date().toISOString();
  const warn = repeatLimitedWarning(options.log, "heartbeat failed; retrying on the next interval");

  let stoppedAt: string | undefined;
  const beat = async () => {
    const [engine, containers, volumes] = await Promise.all([options.docker.engineInfo(), options.docker.listContainers(), options.docker.listVolumes()]);
    const record: HostRecord = {
      hostId: options.hostId,
      agentVersion: options.agentVersion,
      engineVersion: engine.version,
      containers: containers.length,
      volumes: volumes.length,
      labels: options.labels,
      startedAt,
      lastSeenAt: new Date().toISOString(),
      stoppedAt,
    };
    await options.redis.hset(hostsKey(options.queuePrefix), options.hostId, JSON.stringify(record));
  };

  const timer = setInterval(() => {
    beat().catch(warn);
  }, options.intervalMs);
  timer.unref();
  return {
    beat,
    /** Stops the heartbeat and marks the host as stopped, so it shows offline at once. */
    async stop() {
      clearInterval(timer);
      stoppedAt = new Date().toISOString();
      await beat().catch(warn);
    },
  };
}
