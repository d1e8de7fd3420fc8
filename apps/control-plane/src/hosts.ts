import { type HostRecord, hostRecordSchema, hostStatus, hostsKey, OFFLINE_AFTER_MS } from "@cargohold/job-catalog";
import type { Logger } from "@cargohold/logging";
import type { Redis } from "ioredis";

export interface HostView extends HostRecord {
  status: "online" | "offline";
}

/** The host registry that agents keep fresh with heartbeats. */
export class HostRegistry {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly log: Logger,
    private readonly offlineAfterMs = OFFLINE_AFTER_MS,
  ) {}

  async list(): Promise<HostView[]> {
    const entries = await this.redis.hgetall(hostsKey(this.prefix));
    const now = Date.now();
    const hosts: HostView[] = [];
    for (const [hostId, text] of Object.entries(entries)) {
      const parsed = hostRecordSchema.safeParse(safeJson(text));
      if (!parsed.success) {
        this.log.warn({ hostId }, "ignoring an unreadable host record; the agent rewrites it on its next heartbeat");
        continue;
      }
      hosts.push({ ...parsed.data, status: hostStatus(parsed.data, now, this.offlineAfterMs) });
    }
    return hosts.sort((a, b) => a.hostId.localeCompare(b.hostId));
  }

  async statusOf(hostId: string): Promise<"online" | "offline" | "unknown"> {
    const text = await this.redis.hget(hostsKey(this.prefix), hostId);
    const parsed = hostRecordSchema.safeParse(safeJson(text ?? "null"));
    return parsed.success ? hostStatus(parsed.data, Date.now(), this.offlineAfterMs) : "unknown";
  }

  /** Forgets a host, such as a decommissioned one; a live agent registers again with its next heartbeat. */
  async remove(hostId: string): Promise<boolean> {
    return (await this.redis.hdel(hostsKey(this.prefix), hostId)) > 0;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
