import { type Schedule, type ScheduleInput, scheduleSchema, schedulesKey } from "@cargohold/job-catalog";
import type { Logger } from "@cargohold/logging";
import type { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { randomBytes } from "node:crypto";
import { ApiError } from "./http-error.js";

/**
 * Schedules, kept in Redis. Each one has a BullMQ job scheduler of the same
 * id on the fleet queue, which adds one tick job per cron time no matter how
 * many control planes run. A tick starts a fleet run.
 */
export class Schedules {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly fleetQueue: Queue,
    private readonly log: Logger,
  ) {}

  async create(input: ScheduleInput): Promise<Schedule> {
    const now = new Date().toISOString();
    const schedule: Schedule = { ...input, id: `schedule-${randomBytes(5).toString("hex")}`, createdAt: now, updatedAt: now };
    await this.#apply(schedule);
    return schedule;
  }

  async list(): Promise<Schedule[]> {
    const entries = await this.redis.hgetall(schedulesKey(this.prefix));
    return Object.values(entries)
      .map((text) => scheduleSchema.parse(JSON.parse(text)))
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  async get(id: string): Promise<Schedule | undefined> {
    const text = await this.redis.hget(schedulesKey(this.prefix), id);
    return text === null ? undefined : scheduleSchema.parse(JSON.parse(text));
  }

  async update(id: string, input: ScheduleInput): Promise<Schedule> {
    const existing = await this.get(id);
    if (existing === undefined) {
      throw new ApiError(404, "schedule_not_found", `schedule ${id} not found: list schedules with GET /v1/schedules`);
    }
    const schedule: Schedule = { ...input, id, createdAt: existing.createdAt, updatedAt: new Date().toISOString() };
    await this.#apply(schedule);
    return schedule;
  }

  async delete(id: string): Promise<boolean> {
    await this.fleetQueue.removeJobScheduler(id);
    const removed = await this.redis.hdel(schedulesKey(this.prefix), id);
    this.log.info({ scheduleId: id }, "schedule deleted");
    return removed > 0;
  }

  /** Writes the job scheduler first, so an invalid cron or time zone fails before the schedule is stored. */
  async #apply(schedule: Schedule): Promise<void> {
    try {
      await this.fleetQueue.upsertJobScheduler(
        schedule.id,
        { pattern: schedule.cron, tz: schedule.timezone },
        { name: "schedule-tick", data: { scheduleId: schedule.id }, opts: { removeOnComplete: { count: 1000 }, removeOnFail: { count: 1000 } } },
      );
    } catch (error) {
      throw new ApiError(
        400,
        "invalid_schedule",
        `invalid cron ${JSON.stringify(schedule.cron)} or time zone ${JSON.stringify(schedule.timezone)}: ${(error as Error).message}; use five fields such as "0 3 * * *" (six with seconds first) and an IANA zone such as "Europe/Berlin"`,
        { cause: error },
      );
    }
    await this.redis.hset(schedulesKey(this.prefix), schedule.id, JSON.stringify(schedule));
    this.log.info({ scheduleId: schedule.id, cron: schedule.cron, timezone: schedule.timezone }, "schedule saved");
  }
}

