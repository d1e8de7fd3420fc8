import { CreateBucketCommand, DeleteBucketCommand, DeleteObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { type Agent, type AgentConfig, startAgent } from "@cargohold/agent";
import { type ControlPlane, type ControlPlaneConfig, createControlPlane } from "@cargohold/control-plane";
import type { StoreConfig } from "@cargohold/object-store";
import { FLEET_QUEUE, hostQueueName } from "@cargohold/job-catalog";
import { Queue } from "bullmq";
import { randomBytes } from "node:crypto";
import { createLogger } from "@cargohold/logging";
import { type TestEnvironment, waitFor } from "./environment.js";

const log = createLogger("e2e", process.env.LOG_LEVEL ?? "warn");

/**
 * One isolated Cargohold deployment per test file: its own bucket and its
 * own BullMQ prefix, so runs never see each other's jobs or backups.
 */
export class Deployment {
  readonly runId = randomBytes(4).toString("hex");
  readonly bucket = `cargohold-e2e-${this.runId}`;
  readonly queuePrefix = `e2e-${this.runId}`;
  readonly s3: S3Client;
  readonly #agents: Agent[] = [];
  readonly #controlPlanes: ControlPlane[] = [];

  constructor(readonly env: TestEnvironment) {
    this.s3 = new S3Client({
      endpoint: env.s3.endpoint,
      region: env.s3.region,
      forcePathStyle: true,
      credentials: { accessKeyId: env.s3.accessKeyId, secretAccessKey: env.s3.secretAccessKey },
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    });
  }

  get storeConfig(): StoreConfig {
    return {
      kind: "s3",
      bucket: this.bucket,
      region: this.env.s3.region,
      endpoint: this.env.s3.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: this.env.s3.accessKeyId, secretAccessKey: this.env.s3.secretAccessKey },
      checksumMode: this.env.s3.checksumMode === "when_supported" ? "when_supported" : "when_required",
      partSizeBytes: 8 * 1024 * 1024,
      queueSize: 4,
    };
  }

  async createBucket(): Promise<void> {
    await this.s3.send(new CreateBucketCommand({ Bucket: this.bucket }));
  }

  /** Creates a control plane as a fresh process would build it; `queuePrefix` lets a test point one at an empty Redis namespace. */
  controlPlane(queuePrefix = this.queuePrefix, offlineAfterMs = 3000): ControlPlane {
    const config: ControlPlaneConfig = {
      redisUrl: this.env.redisUrl,
      queuePrefix,
      listen: { host: "127.0.0.1", port: 0 },
      logLevel: "warn",
      offlineAfterMs,
      store: this.storeConfig,
    };
    const controlPlane = createControlPlane(config, log.child({ component: "control-plane" }));
    this.#controlPlanes.push(controlPlane);
    return controlPlane;
  }

  async startAgent(hostId: string, dockerSocket: string, options: { labels?: Record<string, string>; heartbeatIntervalMs?: number } = {}): Promise<Agent> {
    const config: AgentConfig = {
      labels: options.labels ?? {},
      heartbeatIntervalMs: options.heartbeatIntervalMs ?? 1000,
      jobLockMs: 30_000,
      maxUploads: 2,
      hostId,
      dockerSocket,
      redisUrl: this.env.redisUrl,
      queuePrefix: this.queuePrefix,
      listen: { host: "127.0.0.1", port: 0 },
      logLevel: "warn",
      hostRoot: "/",
      store: this.storeConfig,
    };
    const agent = await startAgent(config, log.child({ hostId }));
    this.#agents.push(agent);
    return agent;
  }

  /** Stops every control plane of this deployment, as a restart of them all would. */
  async closeControlPlanes(): Promise<void> {
    for (const controlPlane of this.#controlPlanes.splice(0)) {
      await controlPlane.close();
    }
  }

  /** Lists the fleet runs a schedule started, read from the fleet queue. */
  async runsOfSchedule(scheduleId: string): Promise<{ id: string; state: string }[]> {
    const queue = new Queue(FLEET_QUEUE, { connection: { url: this.env.redisUrl }, prefix: this.queuePrefix });
    try {
      const jobs = await queue.getJobs(["waiting-children", "waiting", "active", "completed", "failed"], 0, 10_000);
      const runs = jobs.filter((job) => job.name === "fleet-run" && (job.data as { scheduleId?: string }).scheduleId === scheduleId);
      return Promise.all(runs.map(async (job) => ({ id: job.id ?? "", state: await job.getState() })));
    } finally {
      await queue.close();
    }
  }

  /** Waits until a host's queue has no waiting or running job. */
  async waitForIdleHost(hostId: string): Promise<void> {
    const queue = new Queue(hostQueueName(hostId), { connection: { url: this.env.redisUrl }, prefix: this.queuePrefix });
    try {
      await waitFor(`host ${hostId} to finish its jobs`, async () => {
        const counts = await queue.getJobCounts("waiting", "active", "delayed", "prioritized");
        return Object.values(counts).every((count) => count === 0) ? true : undefined;
      }, 120_000);
    } finally {
      await queue.close();
    }
  }

  /** Empties and deletes the bucket and stops every agent and control plane this deployment started. */
  async tearDown(): Promise<void> {
    for (const agent of this.#agents) {
      await agent.stop();
    }
    for (const controlPlane of this.#controlPlanes) {
      await controlPlane.close();
    }
    let token: string | undefined;
    do {
      const page = await this.s3.send(new ListObjectsV2Command({ Bucket: this.bucket, ContinuationToken: token }));
      for (const object of page.Contents ?? []) {
        await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: object.Key }));
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    await this.s3.send(new DeleteBucketCommand({ Bucket: this.bucket }));
    this.s3.destroy();
  }
}

export interface ApiResponse<T = Record<string, unknown>> {
  status: number;
  body: T;
}

/** Calls the control plane's HTTP API in-process, through the same Hono app the server runs. */
export async function api<T = Record<string, unknown>>(controlPlane: ControlPlane, method: string, path: string, body?: unknown): Promise<ApiResponse<T>> {
  const response = await controlPlane.app.request(path, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as T };
}

export interface JobBody {
  id: string;
  state: string;
  error?: string;
  result?: Record<string, unknown>;
  progress?: { phase: string; artifacts: Record<string, { bytes: number; done: boolean }> };
}

/** Polls GET /v1/jobs/:id until the job completes or fails. */
export async function waitForJobEnd(controlPlane: ControlPlane, jobId: string, timeoutMs = 300_000): Promise<JobBody> {
  return waitFor(
    `job ${jobId} to end`,
    async () => {
      const { status, body } = await api<JobBody>(controlPlane, "GET", `/v1/jobs/${jobId}`);
      if (status !== 200) {
        throw new Error(`GET /v1/jobs/${jobId} returned ${status}: ${JSON.stringify(body)}`);
      }
      return body.state === "completed" || body.state === "failed" || body.state === "cancelled" ? body : undefined;
    },
    timeoutMs,
    250,
  );
}
