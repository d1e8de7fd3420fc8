import { z } from "zod";

const keepCount = z.number().int().min(0).max(100_000);

/**
 * Counts of backups to keep, with the meaning of restic's `forget --keep-*` options.
 * An absent field counts as 0.
 */
export const retentionPolicySchema = z
  .object({
    keepLast: keepCount.optional(),
    keepHourly: keepCount.optional(),
    keepDaily: keepCount.optional(),
    keepWeekly: keepCount.optional(),
    keepMonthly: keepCount.optional(),
    keepYearly: keepCount.optional(),
  })
  .strict();
export type RetentionPolicy = z.infer<typeof retentionPolicySchema>;

/** A complete backup that the retention policy may keep or remove. */
export interface RetentionCandidate {
  backupId: string;
  time: Date;
}

/**
 * Reason a backup is kept: a policy rule, "no policy" when the policy is empty,
 * or "newest" when only the newest-backup safety rule kept it.
 */
export type RetentionReason = "last" | "hourly" | "daily" | "weekly" | "monthly" | "yearly" | "no policy" | "newest";

export interface KeptBackup {
  backupId: string;
  /** Every reason that applies, in the order last, hourly, daily, weekly, monthly, yearly. */
  reasons: RetentionReason[];
}

export interface RetentionResult {
  /** Kept backups, newest first. */
  keep: KeptBackup[];
  /** Ids of the backups to remove, newest first. */
  remove: string[];
}

/** Local calendar fields of an instant in one time zone. */
interface LocalTime {
  year: number;
  month: number;
  day: number;
  hour: number;
}

type BucketRule = {
  reason: RetentionReason;
  policyField: keyof RetentionPolicy;
  /** Returns a value that is equal for two backups exactly when they share a bucket. */
  bucketOf: (local: LocalTime) => string;
};

// The order of this list is the order of the reasons in each KeptBackup.
const BUCKET_RULES: readonly BucketRule[] = [
  { reason: "hourly", policyField: "keepHourly", bucketOf: (t) => `${t.year}-${pad2(t.month)}-${pad2(t.day)}T${pad2(t.hour)}` },
  { reason: "daily", policyField: "keepDaily", bucketOf: (t) => `${t.year}-${pad2(t.month)}-${pad2(t.day)}` },
  { reason: "weekly", policyField: "keepWeekly", bucketOf: (t) => isoWeekOf(t.year, t.month, t.day) },
  { reason: "monthly", policyField: "keepMonthly", bucketOf: (t) => `${t.year}-${pad2(t.month)}` },
  { reason: "yearly", policyField: "keepYearly", bucketOf: (t) => `${t.year}` },
];

/**
 * Splits backups into those a retention policy keeps and those it removes,
 * with the meaning of restic's `forget` policy:
 *
 * - Backups are ordered newest first, and equal times are ordered by backupId descending.
 * - `keepLast: n` keeps the n newest backups.
 * - Each bucket rule (hourly, daily, weekly, monthly, yearly) with n > 0 walks the backups
 *   newest first. It keeps a backup whose bucket differs from the bucket of the last backup
 *   that this rule kept, until it has kept n. So each rule keeps the newest backup of each
 *   of its n newest buckets that contain a backup.
 * - Buckets come from the local time in `timeZone`, so the schedule's time zone decides
 *   where a day starts. Weeks are ISO 8601 weeks, which start on Monday.
 *
 * An empty policy (all fields absent or 0) keeps every backup, with the reason "no policy".
 * restic removes nothing in that case too, and its recent versions exit with an error.
 * The newest backup is always kept, with the reason "newest" if no rule kept it.
 *
 * NOTE: since version 0.16.0, restic also keeps the oldest backup when a rule finds fewer
 * buckets than it may keep. This function does not.
 *
 * The caller must pass only complete backups, because an unfinished backup would count as
 * the newest in its buckets and push out a complete one that can be restored.
 *
 * Throws an Error for an invalid time zone, an invalid time or a repeated backupId,
 * and a ZodError for a policy that retentionPolicySchema rejects.
 */
export function applyRetention(
  candidates: readonly RetentionCandidate[],
  policy: RetentionPolicy,
  timeZone = "UTC",
): RetentionResult {
  const localTimeOf = createLocalTimeReader(timeZone);
  const checkedPolicy = retentionPolicySchema.parse(policy);
  const sorted = sortNewestFirst(candidates);

  const reasonsById = new Map<string, RetentionReason[]>();
  for (const candidate of sorted) {
    reasonsById.set(candidate.backupId, []);
  }

  const isEmptyPolicy = Object.values(checkedPolicy).every((count) => !count);
  if (isEmptyPolicy) {
    for (const reasons of reasonsById.values()) {
      reasons.push("no policy");
    }
  } else {
    const keepLast = checkedPolicy.keepLast ?? 0;
    for (const candidate of sorted.slice(0, keepLast)) {
      reasonsById.get(candidate.backupId)?.push("last");
    }

    const localTimes = sorted.map((candidate) => localTimeOf(candidate.time));
    for (const rule of BUCKET_RULES) {
      applyBucketRule(rule, checkedPolicy[rule.policyField] ?? 0, sorted, localTimes, reasonsById);
    }
  }

  // Every rule with a count above 0 keeps the newest backup, so no input reaches this today.
  // It stays so that a future rule cannot leave a host without its latest restore point.
  const newest = sorted[0];
  if (newest !== undefined) {
    const newestReasons = reasonsById.get(newest.backupId);
    if (newestReasons !== undefined && newestReasons.length === 0) {
      newestReasons.push("newest");
    }
  }

  const result: RetentionResult = { keep: [], remove: [] };
  for (const candidate of sorted) {
    const reasons = reasonsById.get(candidate.backupId) ?? [];
    if (reasons.length > 0) {
      result.keep.push({ backupId: candidate.backupId, reasons });
    } else {
      result.remove.push(candidate.backupId);
    }
  }
  return result;
}

function applyBucketRule(
  rule: BucketRule,
  count: number,
  sorted: readonly RetentionCandidate[],
  localTimes: readonly LocalTime[],
  reasonsById: Map<string, RetentionReason[]>,
): void {
  let remaining = count;
  let lastKeptBucket: string | undefined;

  for (const [index, candidate] of sorted.entries()) {
    if (remaining === 0) {
      break;
    }

    const local = localTimes[index];
    if (local === undefined) {
      continue;
    }

    const bucket = rule.bucketOf(local);
    if (bucket !== lastKeptBucket) {
      lastKeptBucket = bucket;
      remaining -= 1;
      reasonsById.get(candidate.backupId)?.push(rule.reason);
    }
  }
}

function sortNewestFirst(candidates: readonly RetentionCandidate[]): RetentionCandidate[] {
  const seenIds = new Set<string>();
  for (const candidate of candidates) {
    if (Number.isNaN(candidate.time.getTime())) {
      throw new Error(`invalid time for backup ${JSON.stringify(candidate.backupId)}: expected a valid Date, got Invalid Date`);
    }
    if (seenIds.has(candidate.backupId)) {
      throw new Error(`backup ${JSON.stringify(candidate.backupId)} is listed twice: pass each backup once`);
    }
    seenIds.add(candidate.backupId);
  }

  return [...candidates].sort((a, b) => {
    const byTime = b.time.getTime() - a.time.getTime();
    if (byTime !== 0) {
      return byTime;
    }
    // Plain code-unit comparison, because localeCompare would depend on the runtime's locale.
    if (a.backupId === b.backupId) {
      return 0;
    }
    return a.backupId < b.backupId ? 1 : -1;
  });
}

function createLocalTimeReader(timeZone: string): (time: Date) => LocalTime {
  let format: Intl.DateTimeFormat;
  try {
    format = new Intl.DateTimeFormat("en-US", {
      timeZone,
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      // h23 keeps midnight at 0, where some runtimes print "24" with hour12: false.
      hourCycle: "h23",
    });
  } catch (error) {
    throw new Error(`invalid time zone ${JSON.stringify(timeZone)}: use an IANA name such as "Europe/Berlin" or "UTC"`, {
      cause: error,
    });
  }

  return (time) => {
    const fields: Partial<Record<Intl.DateTimeFormatPartTypes, number>> = {};
    for (const part of format.formatToParts(time)) {
      if (part.type !== "literal") {
        fields[part.type] = Number(part.value);
      }
    }
    return {
      year: fields.year ?? Number.NaN,
      month: fields.month ?? Number.NaN,
      day: fields.day ?? Number.NaN,
      hour: fields.hour ?? Number.NaN,
    };
  };
}

/** Formats the ISO 8601 week of a calendar date, such as "2026-W01". */
function isoWeekOf(year: number, month: number, day: number): string {
  const millisPerDay = 86_400_000;
  const date = new Date(Date.UTC(year, month - 1, day));
  const mondayBasedWeekday = (date.getUTCDay() + 6) % 7;

  // The Thursday of the same week decides the week-year, so Dec 29 to 31 can fall
  // into week 1 of the next year and Jan 1 to 3 into the last week of the previous one.
  const thursday = new Date(date.getTime() + (3 - mondayBasedWeekday) * millisPerDay);
  const weekYear = thursday.getUTCFullYear();
  const firstDayOfWeekYear = Date.UTC(weekYear, 0, 1);
  const week = 1 + Math.floor((thursday.getTime() - firstDayOfWeekYear) / (7 * millisPerDay));

  return `${weekYear}-W${pad2(week)}`;
}

function pad2(value: number): string {
  return String(value).padStart(2, "0");
}
