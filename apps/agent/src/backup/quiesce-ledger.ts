import type { Redis } from "ioredis";

/**
 * A record, kept outside the agent, of the containers a backup paused or
 * stopped. If the agent dies mid-backup, the next agent start resumes them,
 * so a crash never leaves a service paused.
 */
export interface QuiesceLedger {
  record(containerId: string, mode: "pause" | "stop"): Promise<void>;
  clear(containerId: string): Promise<void>;
  entries(): Promise<{ containerId: string; mode: "pause" | "stop" }[]>;
}

export class RedisQuiesceLedger implements QuiesceLedger {
  readonly #key: string;

  constructor(
    private readonly redis: Redis,
    queuePrefix: string,
    hostId: string,
  ) {
    this.#key = `${queuePrefix}:cargohold:host:${hostId}:quiesced`;
  }

  async record(containerId: string, mode: "pause" | "stop"): Promise<void> {
    await this.redis.hset(this.#key, containerId, mode);
  }

  async clear(containerId: string): Promise<void> {
    await this.redis.hdel(this.#key, containerId);
  }

  async entries(): Promise<{ containerId: string; mode: "pause" | "stop" }[]> {
    const all = await this.redis.hgetall(this.#key);
    return Object.entries(all).map(([containerId, mode]) => ({ containerId, mode: mode === "stop" ? "stop" : "pause" }));
  }
}
