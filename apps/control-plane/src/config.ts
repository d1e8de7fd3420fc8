import { describeSettingsIssues } from "@cargohold/logging";
import { type StoreConfig, storeConfigFromEnv } from "@cargohold/object-store";
import { z } from "zod";

export interface ControlPlaneConfig {
  redisUrl: string;
  /** BullMQ key prefix in Redis; agents must use the same one. */
  queuePrefix: string;
  listen: { host: string; port: number };
  logLevel: string;
  /** A host whose last heartbeat is older than this shows as offline and is skipped by fleet runs. */
  offlineAfterMs: number;
  store: StoreConfig;
}

const envSchema = z.object({
  REDIS_URL: z.string().url().default("redis://127.0.0.1:6379"),
  CARGOHOLD_QUEUE_PREFIX: z.string().regex(/^[a-zA-Z0-9_-]+$/, "use letters, digits, _ and -").default("cargohold"),
  CARGOHOLD_LISTEN: z.string().regex(/^.+:\d{1,5}$/, "use host:port, such as 127.0.0.1:7700").default("127.0.0.1:7700"),
  CARGOHOLD_OFFLINE_AFTER_SECONDS: z.coerce.number().min(1).max(86_400).default(30),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
});

/** Reads the control plane's settings from the environment; a bad value fails at start-up with the variable's name. */
export function controlPlaneConfigFromEnv(env: NodeJS.ProcessEnv): ControlPlaneConfig {
  const parsed = envSchema.safeParse(Object.fromEntries(Object.entries(env).filter(([, value]) => value !== "")));
  if (!parsed.success) {
    throw new Error(`invalid control plane settings: ${describeSettingsIssues(parsed.error.issues, env)}`);
  }
  const settings = parsed.data;
  const colon = settings.CARGOHOLD_LISTEN.lastIndexOf(":");
  const port = Number(settings.CARGOHOLD_LISTEN.slice(colon + 1));
  if (port > 65535) {
    throw new Error(`invalid control plane settings: CARGOHOLD_LISTEN (got ${JSON.stringify(settings.CARGOHOLD_LISTEN)}): the port must be 0 to 65535`);
  }
  return {
    redisUrl: settings.REDIS_URL,
    queuePrefix: settings.CARGOHOLD_QUEUE_PREFIX,
    listen: { host: settings.CARGOHOLD_LISTEN.slice(0, colon).replace(/^\[|\]$/g, ""), port: Number(settings.CARGOHOLD_LISTEN.slice(colon + 1)) },
    logLevel: settings.LOG_LEVEL,
    offlineAfterMs: settings.CARGOHOLD_OFFLINE_AFTER_SECONDS * 1000,
    store: storeConfigFromEnv(env),
  };
}
