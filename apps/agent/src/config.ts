import { describeSettingsIssues } from "@cargohold/logging";
import { type StoreConfig, storeConfigFromEnv } from "@cargohold/object-store";
import { assertHostId } from "@cargohold/storage-layout";
import { z } from "zod";

export interface AgentConfig {
  hostId: string;
  /** Unix socket of the local Docker engine. */
  dockerSocket: string;
  redisUrl: string;
  /** BullMQ key prefix in Redis; the control plane must use the same one. */
  queuePrefix: string;
  /** host:port of the health endpoint, or undefined to serve none. */
  listen: { host: string; port: number } | undefined;
  logLevel: string;
  /** Labels that fleet runs and schedules select hosts by. */
  labels: Record<string, string>;
  heartbeatIntervalMs: number;
  /**
   * How long a job's lock lives without renewal. When an agent dies, its job
   * returns to the queue about this long after the last renewal.
   */
  jobLockMs: number;
  /** Uploads at once across every agent that shares this Redis and prefix; 0 for no cap. Set the same value on every agent. */
  maxUploads: number;
  /** Path at which the host's root folder is visible to the agent: "/" on the host, a mount such as /host in a container. */
  hostRoot: string;
  store: StoreConfig;
}

const envSchema = z.object({
  CARGOHOLD_HOST_ID: z.string({ required_error: "missing, so set it to this host's id, such as web-01" }),
  CARGOHOLD_DOCKER_SOCKET: z.string().optional(),
  DOCKER_HOST: z.string().optional(),
  REDIS_URL: z.string().url().default("redis://127.0.0.1:6379"),
  CARGOHOLD_QUEUE_PREFIX: z.string().regex(/^[a-zA-Z0-9_-]+$/, "use letters, digits, _ and -").default("cargohold"),
  CARGOHOLD_AGENT_LISTEN: z.string().default("127.0.0.1:7701"),
  CARGOHOLD_HOST_LABELS: z.string().default(""),
  CARGOHOLD_HEARTBEAT_SECONDS: z.coerce.number().min(0.1).max(3600).default(10),
  CARGOHOLD_JOB_LOCK_SECONDS: z.coerce.number().min(1).max(3600).default(30),
  CARGOHOLD_MAX_UPLOADS: z.coerce.number().int().min(0).max(100_000).default(0),
  CARGOHOLD_HOST_ROOT: z.string().startsWith("/", "must be an absolute path").default("/"),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
});

/** Reads the agent's settings from the environment; a bad value fails at start-up with the variable's name. */
export function agentConfigFromEnv(env: NodeJS.ProcessEnv): AgentConfig {
  const parsed = envSchema.safeParse(Object.fromEntries(Object.entries(env).filter(([, value]) => value !== "")));
  if (!parsed.success) {
    throw new Error(`invalid agent settings: ${describeSettingsIssues(parsed.error.issues, env)}`);
  }
  const settings = parsed.data;
  return {
    hostId: hostIdSetting(settings.CARGOHOLD_HOST_ID),
    dockerSocket: dockerSocketOf(settings.CARGOHOLD_DOCKER_SOCKET, settings.DOCKER_HOST),
    redisUrl: settings.REDIS_URL,
    queuePrefix: settings.CARGOHOLD_QUEUE_PREFIX,
    listen: parseListen(settings.CARGOHOLD_AGENT_LISTEN, "CARGOHOLD_AGENT_LISTEN"),
    logLevel: settings.LOG_LEVEL,
    hostRoot: settings.CARGOHOLD_HOST_ROOT,
    labels: parseLabels(settings.CARGOHOLD_HOST_LABELS),
    heartbeatIntervalMs: settings.CARGOHOLD_HEARTBEAT_SECONDS * 1000,
    jobLockMs: settings.CARGOHOLD_JOB_LOCK_SECONDS * 1000,
    maxUploads: settings.CARGOHOLD_MAX_UPLOADS,
    store: storeConfigFromEnv(env),
  };
}

function dockerSocketOf(socket: string | undefined, dockerHost: string | undefined): string {
  if (socket) {
    // The unix:// form that `docker -H` and infra/services/dockerd.sh print works too.
    return socket.replace(/^unix:\/\//, "");
  }
  if (dockerHost === undefined) {
    return "/var/run/docker.sock";
  }
  if (!dockerHost.startsWith("unix://")) {
    throw new Error(`DOCKER_HOST ${JSON.stringify(dockerHost)} is not a unix socket: the agent talks to its local engine only, so use unix:///path/to/docker.sock`);
  }
  return dockerHost.slice("unix://".length);
}

/** Parses "host:port"; "off" disables the listener. */
export function parseListen(value: string, variable: string): { host: string; port: number } | undefined {
  if (value === "off") {
    return undefined;
  }
  const colon = value.lastIndexOf(":");
  const host = value.slice(0, colon).replace(/^\[|\]$/g, "");
  const port = Number(value.slice(colon + 1));
  if (colon <= 0 || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`invalid ${variable} ${JSON.stringify(value)}: use host:port, such as 127.0.0.1:7701, or "off"`);
  }
  return { host, port };
}

/** Parses "env=prod,role=db" into labels. */
export function parseLabels(value: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of value.split(",").map((part) => part.trim()).filter((part) => part !== "")) {
    const equals = pair.indexOf("=");
    if (equals <= 0) {
      throw new Error(`invalid CARGOHOLD_HOST_LABELS entry ${JSON.stringify(pair)}: use name=value pairs separated by commas, such as env=prod,role=db`);
    }
    labels[pair.slice(0, equals)] = pair.slice(equals + 1);
  }
  return labels;
}

function hostIdSetting(value: string): string {
  try {
    return assertHostId(value);
  } catch (error) {
    throw new Error(`invalid CARGOHOLD_HOST_ID: ${(error as Error).message}`, { cause: error });
  }
}
