/**
 * Measures how long a fleet run takes to reach every host. It runs the
 * control plane's FleetRuns.start against N simulated agents, each a BullMQ
 * Worker on its own host queue. Redis is a redis-server that this script
 * starts on loopback and stops by PID. bench/README.md explains each figure.
 *
 *   node --import tsx bench/fleet-fanout.ts [--hosts N] [--agent-processes K] [--rounds R]
 */
import { type ChildProcess, fork } from "node:child_process";
import { availableParallelism, totalmem } from "node:os";
import { createRequire } from "node:module";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { type HostRecord, hostQueueName, hostRecordSchema, hostsKey, jobCatalog, jobIdFor } from "@cargohold/job-catalog";
import { createLogger, type Logger } from "@cargohold/logging";
import { newBackupId } from "@cargohold/storage-layout";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { FleetRuns } from "../apps/control-plane/src/fleet.js";
import { HostRegistry } from "../apps/control-plane/src/hosts.js";
import type { ChildMessage, ParentMessage } from "./agent-process.js";
import { infoField, type OwnRedis, startRedis, stopRedis } from "./own-redis.js";
import { epochNow, startSimulatedAgents, type TakenJob } from "./simulated-agents.js";

const MAX_HOSTS = 20_000;
const MAX_AGENT_PROCESSES = 8;
const MAX_ROUNDS = 10;
/** Every wait below gives up after this long. */
const WAIT_TIMEOUT_MS = 120_000;
/** The whole benchmark exits with code 1 after this long, whatever it is doing. */
const HARD_CAP_MS = 10 * 60_000;
const POLL_MS = 20;
const REDIS_STOP_TIMEOUT_MS = 5_000;

const BACKUP_OPTIONS = { imageMode: "save", commit: false, consistency: "none" } as const;

interface Options {
  hosts: number;
  agentProcesses: number;
  rounds: number;
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      hosts: { type: "string", default: "1000" },
      "agent-processes": { type: "string", default: "1" },
      rounds: { type: "string", default: "3" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log(
      [
        "usage: node --import tsx bench/fleet-fanout.ts [--hosts N] [--agent-processes K] [--rounds R]",
        `  --hosts N            simulated hosts, each with its own BullMQ Worker (1 to ${MAX_HOSTS}, default 1000)`,
        `  --agent-processes K  child processes that share the Workers; 1 runs them in this process (1 to ${MAX_AGENT_PROCESSES}, default 1)`,
        `  --rounds R           fan-out and baseline measurements, alternating (1 to ${MAX_ROUNDS}, default 3)`,
      ].join("\n"),
    );
    process.exit(0);
  }
  const hosts = Number(values.hosts);
  const agentProcesses = Number(values["agent-processes"]);
  if (!Number.isInteger(hosts) || hosts < 1 || hosts > MAX_HOSTS) {
    throw new Error(`invalid --hosts ${JSON.stringify(values.hosts)}: expected an integer from 1 to ${MAX_HOSTS}`);
  }
  if (!Number.isInteger(agentProcesses) || agentProcesses < 1 || agentProcesses > Math.min(MAX_AGENT_PROCESSES, hosts)) {
    throw new Error(`invalid --agent-processes ${JSON.stringify(values["agent-processes"])}: expected an integer from 1 to ${Math.min(MAX_AGENT_PROCESSES, hosts)}`);
  }
  const rounds = Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > MAX_ROUNDS) {
    throw new Error(`invalid --rounds ${JSON.stringify(values.rounds)}: expected an integer from 1 to ${MAX_ROUNDS}`);
  }
  return { hosts, agentProcesses, rounds };
}

/** Polls `check` every POLL_MS until it returns true; throws with `what` after `timeoutMs`. */
async function waitUntil(what: string, check: () => Promise<boolean> | boolean, timeoutMs = WAIT_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let poll = 0; poll <= timeoutMs / POLL_MS; poll++) {
    if (await check()) {
      return;
    }
    if (Date.now() >= deadline) {
      break;
    }
    await sleep(POLL_MS);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: number[], fraction: number): number {
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1));
  return sorted[index] ?? Number.NaN;
}

function hostIdAt(index: number): string {
  return `bench-host-${String(index).padStart(5, "0")}`;
}

/** Writes one host record per host into the hosts hash, with the same HSET and JSON that apps/agent/src/heartbeat.ts sends. */
async function registerHosts(redis: Redis, prefix: string, hostIds: string[]): Promise<void> {
  const startedAt = new Date().toISOString();
  const chunkSize = 500;
  for (let start = 0; start < hostIds.length; start += chunkSize) {
    await Promise.all(
      hostIds.slice(start, start + chunkSize).map((hostId) => {
        const record: HostRecord = hostRecordSchema.parse({
          hostId,
          agentVersion: "0.1.0",
          engineVersion: "27.5.1",
          containers: 12,
          volumes: 5,
          labels: { env: "bench", site: "loopback" },
          startedAt,
          lastSeenAt: new Date().toISOString(),
        });
        return redis.hset(hostsKey(prefix), hostId, JSON.stringify(record));
      }),
    );
  }
}

/** Collects taken jobs by run id, from this process or from agent child processes. */
class TakenLedger {
  readonly #byRun = new Map<string, TakenJob[]>();

  record(taken: TakenJob): void {
    const list = this.#byRun.get(taken.runId) ?? [];
    list.push(taken);
    this.#byRun.set(taken.runId, list);
  }

  of(runId: string): TakenJob[] {
    return this.#byRun.get(runId) ?? [];
  }
}

interface AgentFleet {
  mode: string;
  /** Resident set size of each process that runs Workers, in bytes, right after they started. */
  rssBytes: number[];
  close(): Promise<number>;
}

async function startAgentsInProcess(port: number, prefix: string, hostIds: string[], ledger: TakenLedger, log: Logger): Promise<AgentFleet> {
  const agents = await startSimulatedAgents({ port, prefix, hostIds, log, onTaken: (taken) => ledger.record(taken) });
  return {
    mode: `${hostIds.length} Workers in the benchmark process`,
    rssBytes: [process.memoryUsage().rss],
    close: async () => {
      await agents.close();
      return agents.errors();
    },
  };
}

/** Splits the Workers over `count` child processes running bench/agent-process.ts. */
async function startAgentsInChildren(
  count: number,
  port: number,
  prefix: string,
  hostIds: string[],
  ledger: TakenLedger,
  children: ChildProcess[],
): Promise<AgentFleet> {
  const share = Math.ceil(hostIds.length / count);
  const ready: Promise<number>[] = [];
  const closed = new Map<ChildProcess, Promise<number>>();
  for (let index = 0; index < count; index++) {
    // The parent runs under `node --import tsx`, and process.execArgv passes that on so the child can load TypeScript.
    const child = fork(new URL("./agent-process.ts", import.meta.url), [], { execArgv: process.execArgv, stdio: "inherit" });
    children.push(child);
    let resolveReady: (rss: number) => void = () => {};
    let resolveClosed: (errors: number) => void = () => {};
    let rejectBoth: (error: Error) => void = () => {};
    ready.push(
      new Promise<number>((resolve, reject) => {
        resolveReady = resolve;
        rejectBoth = reject;
      }),
    );
    closed.set(child, new Promise<number>((resolve) => (resolveClosed = resolve)));
    child.on("message", (message: ChildMessage) => {
      if (message.type === "taken") {
        ledger.record(message.taken);
      } else if (message.type === "ready") {
        resolveReady(message.rssBytes);
      } else if (message.type === "closed") {
        resolveClosed(message.errors);
      } else {
        rejectBoth(new Error(`agent process ${child.pid} failed: ${message.message}`));
      }
    });
    child.once("exit", (code, signal) => {
      rejectBoth(new Error(`agent process ${child.pid} exited with code ${code} (signal ${signal}) before its Workers were ready`));
      resolveClosed(0);
    });
    const start: ParentMessage = { type: "start", port, prefix, hostIds: hostIds.slice(index * share, (index + 1) * share) };
    child.send(start);
  }
  const rssBytes = await Promise.all(ready);
  return {
    mode: `${hostIds.length} Workers split over ${count} child processes`,
    rssBytes,
    close: async () => {
      for (const child of children) {
        const message: ParentMessage = { type: "close" };
        if (child.connected) {
          child.send(message);
        }
      }
      const errors = await Promise.race([
        Promise.all([...closed.values()]),
        // An unreferenced timer, so that a finished close does not keep the process alive until it fires.
        sleep(WAIT_TIMEOUT_MS, undefined, { ref: false }).then(() => {
          throw new Error(`timed out after ${WAIT_TIMEOUT_MS} ms waiting for the agent processes to close their Workers`);
        }),
      ]);
      return errors.reduce((sum, value) => sum + value, 0);
    },
  };
}

/**
 * Memory figures in bytes. `used` is INFO used_memory, which also counts the
 * client buffers of every Worker connection and so moves with them. `keys`
 * is the sum of MEMORY USAGE over every key under the queue prefix: what the
 * registry and the jobs themselves take.
 */
interface MemorySnapshot {
  used: number;
  keys: number;
}

async function memorySnapshot(redis: Redis, prefix: string): Promise<MemorySnapshot> {
  const used = infoField(await redis.info("memory"), "used_memory");
  let keys = 0;
  let cursor = "0";
  // SCAN returns about COUNT keys per call; the bound stops a runaway loop well above the few keys per host that BullMQ writes.
  const maxCalls = 100_000;
  for (let call = 0; call < maxCalls; call++) {
    const [next, batch] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
    const sizes = await Promise.all(batch.map((key) => redis.memory("USAGE", key, "SAMPLES", 0)));
    keys += sizes.reduce<number>((sum, size) => sum + (size ?? 0), 0);
    cursor = next;
    if (cursor === "0") {
      return { used, keys };
    }
  }
  throw new Error(`SCAN of ${prefix}:* did not finish within ${maxCalls} calls`);
}

/** Waits until every Worker is blocked waiting for a job, so each measured run starts from idle agents. */
async function waitForIdleWorkers(redis: Redis, workers: number): Promise<void> {
  await waitUntil(`Redis reports ${workers} blocked clients (one per idle Worker)`, async () => infoField(await redis.info("clients"), "blocked_clients") >= workers);
}

interface TakeStats {
  /** From the first enqueue call to the moment the call resolved, in ms. */
  callMs: number;
  /** From the first enqueue call to the last processor entry, in ms. */
  totalMs: number;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
}

function takeStats(startedAt: number, callResolvedAt: number, taken: TakenJob[]): TakeStats {
  const latencies = taken.map((job) => job.takenAt - startedAt).sort((a, b) => a - b);
  const maxMs = latencies[latencies.length - 1] ?? Number.NaN;
  return { callMs: callResolvedAt - startedAt, totalMs: maxMs, p50Ms: percentile(latencies, 0.5), p95Ms: percentile(latencies, 0.95), maxMs };
}

function backupData(hostId: string, runId: string): { backupId: string; data: unknown } {
  const backupId = newBackupId(hostId);
  return { backupId, data: jobCatalog.backup.payload.parse({ ...BACKUP_OPTIONS, backupId, hostId, runId }) };
}

interface Memory {
  empty: MemorySnapshot;
  registry: MemorySnapshot;
  agents: MemorySnapshot;
  afterRun: MemorySnapshot;
}

/** Runs one fleet run through FleetRuns.start and waits until every host took its backup and the run's writes ended. */
async function measureFanOut(fleet: FleetRuns, redis: Redis, ledger: TakenLedger, hostCount: number, round: number): Promise<TakeStats> {
  const runId = `bench-run-${round}-${Date.now().toString(36)}`;
  const startedAt = epochNow();
  const payload = await fleet.start({ runId, target: { all: true }, backup: { ...BACKUP_OPTIONS } });
  const resolvedAt = epochNow();
  if (payload.hosts.length !== hostCount || payload.skipped.length !== 0) {
    throw new Error(`FleetRuns.start sent backups to ${payload.hosts.length} hosts and skipped ${payload.skipped.length}; expected ${hostCount} and 0, because every host record is fresh`);
  }
  await waitUntil(`all ${hostCount} backup jobs of fleet run ${runId} are taken`, () => ledger.of(runId).length >= hostCount);
  const stats = takeStats(startedAt, resolvedAt, ledger.of(runId));

  // Without a fleet worker the parent job stays in "waiting" once every child completed, which marks the end of the run's writes.
  await waitUntil(`the parent job of fleet run ${runId} leaves waiting-children`, async () => (await (await fleet.queue.getJob(runId))?.getState()) === "waiting");
  await waitForIdleWorkers(redis, hostCount);
  return stats;
}

/**
 * Adds one backup job per host queue with plain Queue.add calls, all sent at
 * once, with the fan-out's payload and job options but no flow and no
 * registry read. The Queue objects are built before the clock starts.
 */
async function measureBaseline(queues: Queue[], hostIds: string[], redis: Redis, ledger: TakenLedger, round: number): Promise<TakeStats> {
  const runId = `bench-baseline-${round}-${Date.now().toString(36)}`;
  const jobs = hostIds.map((hostId) => backupData(hostId, runId));
  const startedAt = epochNow();
  await Promise.all(queues.map((queue, index) => queue.add("backup", jobs[index]?.data, { ...jobCatalog.backup.options, jobId: jobIdFor("backup", jobs[index]?.backupId ?? "") })));
  const resolvedAt = epochNow();
  await waitUntil(`all ${hostIds.length} baseline jobs of round ${round} are taken`, () => ledger.of(runId).length >= hostIds.length);
  await waitForIdleWorkers(redis, hostIds.length);
  return takeStats(startedAt, resolvedAt, ledger.of(runId));
}

async function run(options: Options, redisServer: OwnRedis, children: ChildProcess[]): Promise<void> {
  const log = createLogger("bench", process.env.LOG_LEVEL ?? "warn");
  const prefix = `bench-${Date.now().toString(36)}`;
  const hostIds = Array.from({ length: options.hosts }, (_, index) => hostIdAt(index));
  const firstHostId = hostIdAt(0);
  const ledger = new TakenLedger();
  // The same options as the control plane's connection in apps/control-plane/src/runtime.ts.
  const redis = new Redis({ host: "127.0.0.1", port: redisServer.port, maxRetriesPerRequest: 2, enableOfflineQueue: true });
  const requireFromHere = createRequire(import.meta.url);
  const bullmqVersion = (requireFromHere("bullmq/package.json") as { version: string }).version;
  const redisVersion = /^redis_version:(\S+)/m.exec(await redis.info("server"))?.[1] ?? "unknown";

  console.log(`machine: ${availableParallelism()} CPUs (nproc), ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, node ${process.version}, redis-server ${redisVersion}, bullmq ${bullmqVersion}`);
  console.log(`redis-server: pid ${redisServer.pid}, 127.0.0.1:${redisServer.port}; queue prefix ${prefix}; ${options.hosts} hosts; ${options.rounds} rounds`);

  const empty = await memorySnapshot(redis, prefix);
  await registerHosts(redis, prefix, hostIds);
  const registry = await memorySnapshot(redis, prefix);

  const agentsStartedAt = epochNow();
  const agents =
    options.agentProcesses === 1
      ? await startAgentsInProcess(redisServer.port, prefix, hostIds, ledger, log)
      : await startAgentsInChildren(options.agentProcesses, redisServer.port, prefix, hostIds, ledger, children);
  await waitForIdleWorkers(redis, options.hosts);
  const agentsStartMs = epochNow() - agentsStartedAt;
  console.log(`agents: ${agents.mode}; all idle after ${agentsStartMs.toFixed(0)} ms; RSS ${agents.rssBytes.map((bytes) => `${(bytes / 2 ** 20).toFixed(0)} MiB`).join(", ")}`);

  const hosts = new HostRegistry(redis, prefix, log);
  const fleet = new FleetRuns(redis, prefix, hosts, log);
  const queues = hostIds.map((hostId) => new Queue(hostQueueName(hostId), { connection: redis, prefix }));

  // A one-host fleet run and one plain job first, so no measured round pays for loading BullMQ's Lua scripts into Redis.
  await fleet.start({ runId: "warm-up-fleet", target: { hostIds: [firstHostId] }, backup: { ...BACKUP_OPTIONS } });
  const warmUp = backupData(firstHostId, "warm-up-plain");
  await queues[0]?.add("backup", warmUp.data, { ...jobCatalog.backup.options, jobId: jobIdFor("backup", warmUp.backupId) });
  await waitUntil("both warm-up jobs are taken", () => ledger.of("warm-up-fleet").length === 1 && ledger.of("warm-up-plain").length === 1);
  await waitForIdleWorkers(redis, options.hosts);
  const agentsMemory = await memorySnapshot(redis, prefix);

  // Rounds alternate so that slow drift of the machine, such as Redis growing with retained jobs, hits both sides alike.
  const fanOuts: TakeStats[] = [];
  const baselines: TakeStats[] = [];
  let afterRun = agentsMemory;
  for (let round = 1; round <= options.rounds; round++) {
    fanOuts.push(await measureFanOut(fleet, redis, ledger, options.hosts, round));
    if (round === 1) {
      afterRun = await memorySnapshot(redis, prefix);
    }
    baselines.push(await measureBaseline(queues, hostIds, redis, ledger, round));
  }

  const listTimes: number[] = [];
  for (let repeat = 0; repeat < 3; repeat++) {
    const listStartedAt = epochNow();
    await hosts.list();
    listTimes.push(epochNow() - listStartedAt);
  }
  listTimes.sort((a, b) => a - b);

  report(options.hosts, fanOuts, baselines, listTimes, { empty, registry, agents: agentsMemory, afterRun });

  await Promise.all(queues.map((queue) => queue.close()));
  await fleet.close();
  const workerErrors = await agents.close();
  await redis.quit();
  if (workerErrors > 0) {
    console.log(`worker errors: ${workerErrors} (see the warnings above)`);
  }
}

function median(values: number[]): number {
  return percentile([...values].sort((a, b) => a - b), 0.5);
}

function report(hostCount: number, fanOuts: TakeStats[], baselines: TakeStats[], listTimes: number[], memory: Memory): void {
  const ms = (value: number) => `${value.toFixed(1)} ms`;
  const row = (name: string, stats: TakeStats) =>
    `${name.padEnd(28)} call ${ms(stats.callMs).padStart(9)}  p50 ${ms(stats.p50Ms).padStart(9)}  p95 ${ms(stats.p95Ms).padStart(9)}  max = total ${ms(stats.maxMs).padStart(9)}`;

  console.log("");
  console.log("take latency per host, from the enqueue call to the processor's entry (call = until the enqueue call resolved):");
  for (let index = 0; index < fanOuts.length; index++) {
    const fanOut = fanOuts[index];
    const baseline = baselines[index];
    if (fanOut === undefined || baseline === undefined) {
      continue;
    }
    console.log(row(`round ${index + 1} fan-out`, fanOut));
    console.log(row(`round ${index + 1} baseline`, baseline));
  }
  const fanOutTotal = median(fanOuts.map((stats) => stats.totalMs));
  const baselineTotal = median(baselines.map((stats) => stats.totalMs));
  console.log(`median total: fan-out ${ms(fanOutTotal)}, baseline ${ms(baselineTotal)}; fan-out / baseline = ${(fanOutTotal / baselineTotal).toFixed(2)}`);
  console.log(`median p95:   fan-out ${ms(median(fanOuts.map((stats) => stats.p95Ms)))}, baseline ${ms(median(baselines.map((stats) => stats.p95Ms)))}`);
  console.log(`HostRegistry.list of ${hostCount} hosts, alone: median ${ms(percentile(listTimes, 0.5))} of 3`);

  const perHost = (bytes: number) => `${(bytes / hostCount).toFixed(0)} B/host`;
  const step = (name: string, before: MemorySnapshot, after: MemorySnapshot) =>
    `  ${name.padEnd(40)} keys ${perHost(after.keys - before.keys).padStart(12)}   used_memory ${perHost(after.used - before.used).padStart(13)}`;
  console.log("");
  console.log(`Redis memory, change per host (keys = sum of MEMORY USAGE under the prefix; used_memory from INFO, ${memory.empty.used} B when empty, includes client buffers):`);
  console.log(step("host registry", memory.empty, memory.registry));
  console.log(step("idle Workers and 2 warm-up jobs", memory.registry, memory.agents));
  console.log(step("first fleet run, every backup completed", memory.agents, memory.afterRun));
  const registryOnly = memory.registry.keys - memory.empty.keys;
  const oneJob = memory.afterRun.keys - memory.agents.keys;
  console.log(`  keys: registry only ${perHost(registryOnly)}; registry + one retained backup job ${perHost(registryOnly + oneJob)}`);
}

async function main(): Promise<void> {
  const options = parseOptions();
  const children: ChildProcess[] = [];
  let redisServer: OwnRedis | undefined;

  const cleanUp = async () => {
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
        process.kill(child.pid, "SIGTERM");
      }
    }
    if (redisServer !== undefined) {
      await stopRedis(redisServer, REDIS_STOP_TIMEOUT_MS);
    }
  };

  const hardCap = setTimeout(() => {
    console.error(`fleet-fanout: the benchmark did not finish within ${HARD_CAP_MS / 1000} s; stopping its processes and exiting with code 1`);
    cleanUp().finally(() => process.exit(1));
  }, HARD_CAP_MS);
  hardCap.unref();
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      console.error(`fleet-fanout: received ${signal}; stopping its processes`);
      cleanUp().finally(() => process.exit(1));
    });
  }

  try {
    redisServer = await startRedis(WAIT_TIMEOUT_MS);
    await run(options, redisServer, children);
  } finally {
    await cleanUp();
    clearTimeout(hardCap);
  }
}

main().catch((error: unknown) => {
  console.error(`fleet-fanout failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
