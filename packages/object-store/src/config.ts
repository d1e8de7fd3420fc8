import { describeSettingsIssues } from "@cargohold/logging";
import { z } from "zod";
import { ObjectStoreError } from "./errors.js";
import { LocalDirectoryStore } from "./local/local-store.js";
import type { ObjectStore } from "./object-store.js";
import { DEFAULT_PART_SIZE_BYTES, DEFAULT_QUEUE_SIZE, S3ObjectStore, type S3StoreConfig } from "./s3/s3-store.js";

export type StoreConfig = { kind: "local"; root: string } | ({ kind: "s3" } & S3StoreConfig);

export const DEFAULT_LOCAL_STORE_DIR = "/var/lib/cargohold/store";

const booleanText = z.enum(["true", "false", "1", "0"]).transform((value) => value === "true" || value === "1");

const envSchema = z.object({
  CARGOHOLD_STORE: z.enum(["s3", "local"]).optional(),
  CARGOHOLD_LOCAL_STORE_DIR: z.string().startsWith("/", "must be an absolute path").default(DEFAULT_LOCAL_STORE_DIR),
  S3_BUCKET: z.string().min(3).max(63).optional(),
  S3_PREFIX: z.string().default(""),
  S3_REGION: z.string().min(1).default("us-east-1"),
  S3_ENDPOINT: z.string().url().optional(),
  S3_FORCE_PATH_STYLE: booleanText.optional(),
  S3_ACCESS_KEY_ID: z.string().min(1).optional(),
  S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  S3_CHECKSUM_MODE: z.enum(["when_required", "when_supported"]).optional(),
  S3_PART_SIZE_MIB: z.coerce.number().int().min(5).max(5120).optional(),
  S3_QUEUE_SIZE: z.coerce.number().int().min(1).max(64).optional(),
});

/**
 * Reads the store settings from environment variables, failing with the
 * variable's name when one is invalid. Without CARGOHOLD_STORE, S3 is used
 * when S3_BUCKET is set and the local folder otherwise.
 */
export function storeConfigFromEnv(env: NodeJS.ProcessEnv): StoreConfig {
  const parsed = envSchema.safeParse(withoutEmpty(env));
  if (!parsed.success) {
    throw new ObjectStoreError(`invalid object store settings: ${describeSettingsIssues(parsed.error.issues, env)}`, { permanent: true });
  }
  const settings = parsed.data;
  const kind = settings.CARGOHOLD_STORE ?? (settings.S3_BUCKET ? "s3" : "local");
  if (kind === "local") {
    return { kind, root: settings.CARGOHOLD_LOCAL_STORE_DIR };
  }

  if (!settings.S3_BUCKET) {
    throw new ObjectStoreError("S3_BUCKET is missing: set it to the bucket name, or set CARGOHOLD_STORE=local", { permanent: true });
  }
  if ((settings.S3_ACCESS_KEY_ID === undefined) !== (settings.S3_SECRET_ACCESS_KEY === undefined)) {
    throw new ObjectStoreError("set both S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY, or neither to use the AWS default credential chain", {
      permanent: true,
    });
  }
  const customEndpoint = settings.S3_ENDPOINT !== undefined;
  return {
    kind,
    bucket: settings.S3_BUCKET,
    prefix: settings.S3_PREFIX,
    region: settings.S3_REGION,
    endpoint: settings.S3_ENDPOINT,
    // Most S3-compatible servers on a plain host name only serve path-style URLs.
    forcePathStyle: settings.S3_FORCE_PATH_STYLE ?? customEndpoint,
    credentials:
      settings.S3_ACCESS_KEY_ID && settings.S3_SECRET_ACCESS_KEY
        ? { accessKeyId: settings.S3_ACCESS_KEY_ID, secretAccessKey: settings.S3_SECRET_ACCESS_KEY }
        : undefined,
    checksumMode: settings.S3_CHECKSUM_MODE ?? (customEndpoint ? "when_required" : "when_supported"),
    partSizeBytes: settings.S3_PART_SIZE_MIB ? settings.S3_PART_SIZE_MIB * 1024 * 1024 : DEFAULT_PART_SIZE_BYTES,
    queueSize: settings.S3_QUEUE_SIZE ?? DEFAULT_QUEUE_SIZE,
  };
}

export function openObjectStore(config: StoreConfig): ObjectStore {
  return config.kind === "local" ? new LocalDirectoryStore(config.root) : new S3ObjectStore(config);
}

/** Treats `VAR=` like an unset variable, as shell users expect. */
function withoutEmpty(env: NodeJS.ProcessEnv): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && value !== "") {
      result[name] = value;
    }
  }
  return result;
}
