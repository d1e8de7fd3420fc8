import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";

/** A redis-server that this benchmark started, on loopback, with its own working folder. */
export interface OwnRedis {
  port: number;
  pid: number;
  folder: string;
  process: ChildProcess;
}

/** Asks the kernel for a free loopback port. Another program could take it before redis-server binds, so startRedis retries. */
async function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => {
        if (address === null || typeof address === "string") {
          reject(new Error("the kernel returned no TCP port for 127.0.0.1:0"));
          return;
        }
        resolve(address.port);
      });
    });
  });
}

/**
 * Starts redis-server without persistence on a free 127.0.0.1 port and waits
 * until PING returns PONG. Rejects when redis-server is missing or does not
 * respond within `readyTimeoutMs`.
 */
export async function startRedis(readyTimeoutMs: number): Promise<OwnRedis> {
  const folder = await mkdtemp(join(tmpdir(), "cargohold-bench-redis-"));
  const attempts = 3;
  let lastError: unknown;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const port = await findFreePort();
    const child = spawn(
      "redis-server",
      ["--port", String(port), "--bind", "127.0.0.1", "--dir", folder, "--save", "", "--appendonly", "no", "--maxmemory-policy", "noeviction"],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const spawnError = new Promise<Error>((resolve) => child.once("error", resolve));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));

    try {
      const outcome = await Promise.race([
        waitForPong(port, readyTimeoutMs).then(() => "ready" as const),
        spawnError.then((error) => {
          throw new Error(`failed to start redis-server: ${error.message}; install it (apt-get install redis-server) or put it on PATH`);
        }),
        exited.then((code) => {
          throw new Error(`redis-server exited with code ${code} before responding to PING on port ${port}: ${stderr.trim() || "no output"}`);
        }),
      ]);
      if (outcome === "ready" && child.pid !== undefined) {
        return { port, pid: child.pid, folder, process: child };
      }
    } catch (error) {
      lastError = error;
      if (child.exitCode === null && child.pid !== undefined) {
        process.kill(child.pid, "SIGTERM");
      }
      if (error instanceof Error && error.message.startsWith("failed to start")) {
        break;
      }
    }
  }
  await rm(folder, { recursive: true, force: true });
  throw lastError instanceof Error ? lastError : new Error(`redis-server did not start after ${attempts} attempts`);
}

async function waitForPong(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const pollMs = 50;
  for (let poll = 0; Date.now() < deadline && poll < timeoutMs / pollMs + 1; poll++) {
    const client = new Redis({ host: "127.0.0.1", port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1_000 });
    client.on("error", () => {
      // A refused connection is expected until redis-server listens; the poll retries it.
    });
    try {
      await client.connect();
      if ((await client.ping()) === "PONG") {
        return;
      }
    } catch {
      // Not listening yet, so poll again.
    } finally {
      client.disconnect();
    }
    await sleep(pollMs);
  }
  throw new Error(`redis-server on 127.0.0.1:${port} did not respond to PING within ${timeoutMs} ms`);
}

/** Stops the redis-server that startRedis started, by its PID, and removes its folder. Sends SIGKILL when SIGTERM has not ended it within `timeoutMs`. */
export async function stopRedis(redis: OwnRedis, timeoutMs: number): Promise<void> {
  if (redis.process.exitCode === null && redis.process.signalCode === null) {
    const exited = new Promise<void>((resolve) => redis.process.once("exit", () => resolve()));
    process.kill(redis.pid, "SIGTERM");
    const outcome = await Promise.race([exited.then(() => "exited" as const), sleep(timeoutMs, undefined, { ref: false }).then(() => "timed out" as const)]);
    if (outcome === "timed out") {
      process.kill(redis.pid, "SIGKILL");
    }
  }
  await rm(redis.folder, { recursive: true, force: true });
}

/** Parses one field, such as used_memory, out of INFO output. */
export function infoField(info: string, field: string): number {
  const match = new RegExp(`^${field}:(\\d+)`, "m").exec(info);
  if (match?.[1] === undefined) {
    throw new Error(`INFO output has no numeric field ${field}`);
  }
  return Number(match[1]);
}
