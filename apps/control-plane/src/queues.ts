import { CANCEL_REQUEST_TTL_SECONDS, cancelChannel, cancelRequestKey, hostQueueName, jobCatalog, type JobName, type JobPayload, parseJobId } from "@cargohold/job-catalog";
import { type Job, type JobState, Queue } from "bullmq";
import type { Redis } from "ioredis";

export type PublicJobState = "queued" | "running" | "completed" | "failed" | "cancelled";

/** The start of a failure reason that the agent writes for a job cancelled through the API. */
const CANCELLED_REASON = "cancelled:";

export interface JobView {
  id: string;
  name: JobName;
  hostId: string;
  state: PublicJobState;
  progress: unknown;
  result: unknown;
  error: string | undefined;
  createdAt: string;
  startedAt: string | undefined;
  finishedAt: string | undefined;
}

/**
 * The per-host BullMQ queues, opened on first use. The control plane keeps
 * no state of its own: jobs live in Redis, backups in the object store.
 */
export class HostQueues {
  readonly #queues = new Map<string, Queue>();

  constructor(
    private readonly connection: Redis,
    private readonly prefix: string,
  ) {}

  async enqueue<Name extends JobName>(name: Name, hostId: string, jobId: string, payload: JobPayload<Name>): Promise<void> {
    const definition = jobCatalog[name];
    const data = definition.payload.parse(payload);
    await this.#queue(hostId).add(name, data, { ...definition.options, jobId });
  }

  /** Returns the job, or undefined when no job has this id (it may have been cancelled while queued, or removed after its retention). */
  async find(jobId: string): Promise<JobView | undefined> {
    const { hostId, name } = parseJobId(jobId);
    const queue = this.#queue(hostId);
    const job = await queue.getJob(jobId);
    if (job === undefined || job.name !== name) {
      return undefined;
    }
    const state = await job.getState();
    if (state !== "completed" && state !== "failed") {
      return view(job, hostId, name, state);
    }
    // The job may have ended between reading its data and its state; read the data again so the result or error is there.
    const ended = await queue.getJob(jobId);
    return ended === undefined ? undefined : view(ended, hostId, name, state);
  }

  /**
   * Cancels a job. A queued one is removed at once. For a running one, a
   * message on Redis pub/sub reaches the agent that runs it, which aborts its
   * uploads, resumes what it paused and writes no manifest.
   */
  async cancel(jobId: string): Promise<"cancelled" | "cancelling" | "finished" | undefined> {
    const { hostId } = parseJobId(jobId);
    const job = await this.#queue(hostId).getJob(jobId);
    if (job === undefined) {
      return undefined;
    }
    const state = await job.getState();
    if (state === "completed" || state === "failed") {
      return "finished";
    }
    if (state === "active") {
      await this.connection.set(cancelRequestKey(this.prefix, jobId), "1", "EX", CANCEL_REQUEST_TTL_SECONDS);
      await this.connection.publish(cancelChannel(this.prefix), jobId);
      return "cancelling";
    }
    await job.remove();
    return "cancelled";
  }

  async close(): Promise<void> {
    await Promise.all([...this.#queues.values()].map((queue) => queue.close()));
    this.#queues.clear();
  }

  #queue(hostId: string): Queue {
    const name = hostQueueName(hostId);
    let queue = this.#queues.get(name);
    if (queue === undefined) {
      queue = new Queue(name, { connection: this.connection, prefix: this.prefix });
      this.#queues.set(name, queue);
    }
    return queue;
  }
}

function view(job: Job, hostId: string, name: JobName, state: JobState | "unknown"): JobView {
  return {
    id: job.id ?? "",
    name,
    hostId,
    state: state === "failed" && job.failedReason?.startsWith(CANCELLED_REASON) ? "cancelled" : publicState(state),
    // BullMQ reports 0 until the first update, so null marks that there is none yet.
    progress: typeof job.progress === "object" ? job.progress : null,
    result: job.returnvalue ?? undefined,
    error: job.failedReason || undefined,
    createdAt: new Date(job.timestamp).toISOString(),
    startedAt: job.processedOn ? new Date(job.processedOn).toISOString() : undefined,
    finishedAt: job.finishedOn ? new Date(job.finishedOn).toISOString() : undefined,
  };
}

/** BullMQ has more states than an operator needs; a job that waits for any reason is queued. */
export function publicState(state: JobState | "unknown"): PublicJobState {
  switch (state) {
    case "active":
      return "running";
    case "completed":
      return "completed";
    case "failed":
      return "failed";
    default:
      return "queued";
  }
}
