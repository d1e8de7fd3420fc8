/**
 * The quick-start demo: builds a small sample stack on the local Docker
 * engine, backs it up through the control plane and an agent running as
 * real processes, removes the stack, restores it and checks the data.
 *
 * Settings come from the environment (infra/demo.sh sets them): the engine
 * socket, Redis, and S3 when S3_BUCKET is set, else a local folder store.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chown, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { BUSYBOX_IMAGE, TestEngine, buildFixtureImages } from "../src/engine.js";
import { WaitAborted, waitFor } from "../src/environment.js";
import { freePort } from "../src/processes.js";

const REPOSITORY_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const socket = process.env.CARGOHOLD_DOCKER_SOCKET ?? "/var/run/docker.sock";
const hostId = process.env.CARGOHOLD_HOST_ID ?? "demo-host";
const requestedPort = process.env.CARGOHOLD_DEMO_PORT;
const workDir = process.env.CARGOHOLD_DEMO_DIR ?? "/var/lib/cargohold-demo";
const suffix = randomBytes(3).toString("hex");
const names = { web: `cargohold-demo-web-${suffix}`, volume: `cargohold-demo-data-${suffix}` };
const bindDir = path.join(workDir, `site-${suffix}`);
let api = "";

function say(message: string): void {
  process.stdout.write(`${message}\n`);
}

/** Processes that exited early, so waits fail at once instead of running into their deadline. */
const exited: string[] = [];

function startProcess(name: string, entry: string, env: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(process.execPath, ["--import", "tsx", entry], { cwd: REPOSITORY_ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "inherit", "inherit"] });
  child.once("exit", (code, signal) => {
    if (signal !== "SIGTERM") {
      exited.push(`${name} exited with ${code ?? signal}`);
    }
  });
  return child;
}

function assertChildrenAlive(): void {
  if (exited.length > 0) {
    throw new WaitAborted(`${exited.join("; ")}: see its log above`);
  }
}

async function call(method: string, route: string, body?: unknown): Promise<Record<string, any>> {
  assertChildrenAlive();
  const response = await fetch(`${api}${route}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await response.json()) as Record<string, any>;
  if (response.status >= 400) {
    throw new Error(`${method} ${route} returned ${response.status}: ${JSON.stringify(json)}`);
  }
  return json;
}

async function waitForJob(jobId: string): Promise<Record<string, any>> {
  const job = await waitFor(`job ${jobId}`, async () => {
    const body = await call("GET", `/v1/jobs/${jobId}`);
    return body.state === "completed" || body.state === "failed" || body.state === "cancelled" ? body : undefined;
  }, 600_000, 500);
  if (job.state !== "completed") {
    throw new Error(`job ${jobId} failed: ${job.error}`);
  }
  return job;
}

async function main(): Promise<void> {
  const engine = new TestEngine(socket);
  const children: ChildProcess[] = [];
  const port = requestedPort ? Number(requestedPort) : await freePort();
  api = `http://127.0.0.1:${port}`;
  let cleaning: Promise<void> | undefined;
  const cleanUp = () => {
    cleaning ??= (async () => {
      for (const child of children) {
        child.kill("SIGTERM");
      }
      const restored = await engine.docker.getContainer(names.web).inspect().catch(() => undefined);
      await engine.removeContainers([names.web]);
      const volumes = (restored?.Mounts ?? []).filter((mount) => mount.Type === "volume").map((mount) => mount.Name ?? "");
      await engine.removeVolumes([names.volume, ...volumes]);
      await rm(bindDir, { recursive: true, force: true });
    })();
    return cleaning;
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      say(`${signal}: removing the sample stack and stopping the demo`);
      void cleanUp().finally(() => process.exit(130));
    });
  }
  try {
    say(`1/6 Building the sample image on the engine at ${socket}`);
    await buildFixtureImages(socket, "busybox");

    say(`2/6 Starting the sample stack: ${names.web} with a bind mount, a named and an anonymous volume`);
    await mkdir(bindDir, { recursive: true });
    await writeFile(path.join(bindDir, "index.html"), "<h1>Hello from Cargohold</h1>\n");
    await chown(path.join(bindDir, "index.html"), 1000, 1000);
    const web = await engine.docker.createContainer({
      name: names.web,
      Image: BUSYBOX_IMAGE,
      Cmd: ["sleep", "86400"],
      Volumes: { "/cache": {} },
      HostConfig: { NetworkMode: "none", Binds: [`${bindDir}:/srv/site`, `${names.volume}:/data`] },
    });
    await web.start();
    await engine.exec(names.web, ["sh", "-c", "echo 'orders: 42' > /data/state.txt && chown 1000:1000 /data/state.txt && echo warm > /cache/entry"]);

    say("3/6 Starting the control plane and the agent");
    const shared = { CARGOHOLD_QUEUE_PREFIX: process.env.CARGOHOLD_QUEUE_PREFIX ?? "cargohold-demo" };
    children.push(startProcess("control plane", "apps/control-plane/src/main.ts", { ...shared, CARGOHOLD_LISTEN: `127.0.0.1:${port}` }));
    children.push(startProcess("agent", "apps/agent/src/main.ts", { ...shared, CARGOHOLD_HOST_ID: hostId, CARGOHOLD_DOCKER_SOCKET: socket, CARGOHOLD_AGENT_LISTEN: "off" }));
    await waitFor(
      "the control plane",
      async () => {
        assertChildrenAlive();
        return (await call("GET", "/healthz")).status === "ok" ? true : undefined;
      },
      60_000,
      300,
    );

    say("4/6 Backing up the stack: POST /v1/backups");
    const backup = await call("POST", "/v1/backups", { hostId, containers: [names.web] });
    const backupJob = await waitForJob(backup.jobId);
    say(`    backup ${backup.backupId}: ${backupJob.result.artifactCount} archives, ${backupJob.result.totalBytes} bytes`);

    say("5/6 Removing the stack, then restoring it: POST /v1/restores");
    const manifest = await call("GET", `/v1/backups/${backup.backupId}`);
    await engine.removeContainers([names.web]);
    await engine.removeVolumes(manifest.volumes.map((volume: { name: string }) => volume.name));
    await rm(bindDir, { recursive: true, force: true });
    const restore = await call("POST", "/v1/restores", { backupId: backup.backupId, targetHostId: hostId });
    await waitForJob(restore.jobId);

    say("6/6 Checking the restored data");
    const page = await readFile(path.join(bindDir, "index.html"), "utf8");
    const state = await engine.exec(names.web, ["cat", "/data/state.txt"]);
    const cache = await engine.exec(names.web, ["cat", "/cache/entry"]);
    if (page !== "<h1>Hello from Cargohold</h1>\n" || state !== "orders: 42\n" || cache !== "warm\n") {
      throw new Error(`restored data differs: ${JSON.stringify({ page, state, cache })}`);
    }
    say(`Done: ${names.web} runs again with its bind mount, named volume and anonymous volume restored.`);
  } finally {
    await cleanUp();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`demo failed: ${(error as Error).message}\n`);
  process.exit(1);
});
