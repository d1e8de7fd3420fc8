/**
 * The services the end-to-end tests need, as infra/services/test-env.sh
 * writes them to test.env and infra/test.sh exports them.
 */
export interface TestEnvironment {
  engineASocket: string;
  engineBSocket: string;
  redisUrl: string;
  s3: { endpoint: string; region: string; accessKeyId: string; secretAccessKey: string; checksumMode: string };
}

const REQUIRED = ["CARGOHOLD_ENGINE_A_SOCKET", "CARGOHOLD_ENGINE_B_SOCKET", "REDIS_URL", "S3_ENDPOINT", "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY"] as const;

/** Returns the environment, or undefined outside CI when a service is missing; in CI a missing service is an error, so nothing is silently skipped. */
export function testEnvironment(): TestEnvironment | undefined {
  const missing = REQUIRED.filter((name) => !process.env[name]);
  if (missing.length > 0) {
    if (process.env.CI) {
      throw new Error(`end-to-end tests need ${missing.join(", ")}: run them through infra/test.sh, which starts the engines, Redis and Ceph RGW`);
    }
    return undefined;
  }
  const env = process.env as Record<(typeof REQUIRED)[number], string>;
  return {
    engineASocket: env.CARGOHOLD_ENGINE_A_SOCKET,
    engineBSocket: env.CARGOHOLD_ENGINE_B_SOCKET,
    redisUrl: env.REDIS_URL,
    s3: {
      endpoint: env.S3_ENDPOINT,
      region: process.env.S3_REGION ?? "us-east-1",
      accessKeyId: env.S3_ACCESS_KEY_ID,
      secretAccessKey: env.S3_SECRET_ACCESS_KEY,
      checksumMode: process.env.S3_CHECKSUM_MODE ?? "when_required",
    },
  };
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs` naming `what`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 120_000, intervalMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) {
        return value;
      }
    } catch (error) {
      if (error instanceof WaitAborted) {
        throw error;
      }
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ""}`);
}

/** Thrown by a waitFor check to stop waiting at once, when what it waits for can no longer happen. */
export class WaitAborted extends Error {
  override readonly name = "WaitAborted";
}
