import { describe, expect, it } from "vitest";
import { applyRetention, retentionPolicySchema, type RetentionPolicy, type RetentionResult } from "./retention.js";

/** Builds candidates from [backupId, ISO time] pairs. */
function backups(...entries: [string, string][]): { backupId: string; time: Date }[] {
  return entries.map(([backupId, iso]) => ({ backupId, time: new Date(iso) }));
}

function keptIds(result: RetentionResult): string[] {
  return result.keep.map((kept) => kept.backupId);
}

// Two backups in each of the 10:00 and 11:00 UTC hours of 2026-03-05, and one at 12:30 on that day and the day before.
const hourlySeries = backups(
  ["h1", "2026-03-04T12:30:00Z"],
  ["h2", "2026-03-05T10:05:00Z"],
  ["h3", "2026-03-05T10:40:00Z"],
  ["h4", "2026-03-05T11:10:00Z"],
  ["h5", "2026-03-05T11:50:00Z"],
  ["h6", "2026-03-05T12:30:00Z"],
);

const dailySeries = backups(
  ["d1", "2026-03-01T08:00:00Z"],
  ["d2", "2026-03-01T20:00:00Z"],
  ["d3", "2026-03-02T08:00:00Z"],
  ["d4", "2026-03-03T08:00:00Z"],
  ["d5", "2026-03-03T20:00:00Z"],
);

// 2026-03-02 and 2026-03-09 are Mondays, 2026-03-01 and 2026-03-08 Sundays.
const weeklySeries = backups(
  ["w1", "2026-03-01T12:00:00Z"],
  ["w2", "2026-03-02T12:00:00Z"],
  ["w3", "2026-03-04T12:00:00Z"],
  ["w4", "2026-03-08T12:00:00Z"],
  ["w5", "2026-03-09T12:00:00Z"],
);

const monthlySeries = backups(
  ["m1", "2026-01-15T12:00:00Z"],
  ["m2", "2026-01-31T12:00:00Z"],
  ["m3", "2026-02-01T12:00:00Z"],
  ["m4", "2026-02-28T12:00:00Z"],
  ["m5", "2026-03-01T12:00:00Z"],
);

const yearlySeries = backups(
  ["y1", "2024-06-01T12:00:00Z"],
  ["y2", "2024-12-31T12:00:00Z"],
  ["y3", "2025-01-01T12:00:00Z"],
  ["y4", "2025-07-01T12:00:00Z"],
  ["y5", "2026-02-01T12:00:00Z"],
);

describe("applyRetention single rules", () => {
  it.each<[string, { backupId: string; time: Date }[], RetentionPolicy, string[], string[]]>([
    ["keepLast 1", dailySeries, { keepLast: 1 }, ["d5"], ["d4", "d3", "d2", "d1"]],
    ["keepLast 3", dailySeries, { keepLast: 3 }, ["d5", "d4", "d3"], ["d2", "d1"]],
    ["keepLast above count", dailySeries, { keepLast: 10 }, ["d5", "d4", "d3", "d2", "d1"], []],
    ["keepHourly 2", hourlySeries, { keepHourly: 2 }, ["h6", "h5"], ["h4", "h3", "h2", "h1"]],
    ["keepHourly same hour on two days", hourlySeries, { keepHourly: 10 }, ["h6", "h5", "h3", "h1"], ["h4", "h2"]],
    ["keepDaily 2", dailySeries, { keepDaily: 2 }, ["d5", "d3"], ["d4", "d2", "d1"]],
    ["keepDaily above day count", dailySeries, { keepDaily: 10 }, ["d5", "d3", "d2"], ["d4", "d1"]],
    ["keepWeekly 2", weeklySeries, { keepWeekly: 2 }, ["w5", "w4"], ["w3", "w2", "w1"]],
    ["keepWeekly Sunday ends week", weeklySeries, { keepWeekly: 3 }, ["w5", "w4", "w1"], ["w3", "w2"]],
    ["keepMonthly 2", monthlySeries, { keepMonthly: 2 }, ["m5", "m4"], ["m3", "m2", "m1"]],
    ["keepMonthly above month count", monthlySeries, { keepMonthly: 5 }, ["m5", "m4", "m2"], ["m3", "m1"]],
    ["keepYearly 2", yearlySeries, { keepYearly: 2 }, ["y5", "y4"], ["y3", "y2", "y1"]],
    ["keepYearly above year count", yearlySeries, { keepYearly: 3 }, ["y5", "y4", "y2"], ["y3", "y1"]],
  ])("%s", (_name, candidates, policy, expectedKeep, expectedRemove) => {
    const result = applyRetention(candidates, policy);

    expect(keptIds(result)).toEqual(expectedKeep);
    expect(result.remove).toEqual(expectedRemove);
  });

  it("ignores input order", () => {
    const reversed = [...dailySeries].reverse();

    expect(applyRetention(reversed, { keepDaily: 2 })).toEqual(applyRetention(dailySeries, { keepDaily: 2 }));
  });
});

describe("applyRetention combined rules", () => {
  // Fri 02-20 (W08), Fri 02-27 (W09), Fri 03-06 and Sun 03-08 (W10), Mon 03-09 twice (W11).
  const series = backups(
    ["a", "2026-02-20T02:00:00Z"],
    ["b", "2026-02-27T02:00:00Z"],
    ["c", "2026-03-06T02:00:00Z"],
    ["d", "2026-03-08T02:00:00Z"],
    ["e", "2026-03-09T02:00:00Z"],
    ["f", "2026-03-09T14:00:00Z"],
  );
  const policy: RetentionPolicy = { keepLast: 2, keepDaily: 3, keepWeekly: 2, keepMonthly: 2, keepYearly: 1 };

  it.each([
    ["f", ["last", "daily", "weekly", "monthly", "yearly"]],
    ["e", ["last"]],
    ["d", ["daily", "weekly"]],
    ["c", ["daily"]],
    ["b", ["monthly"]],
  ])("keeps %s for %j", (backupId, reasons) => {
    const result = applyRetention(series, policy);

    expect(result.keep.find((kept) => kept.backupId === backupId)?.reasons).toEqual(reasons);
  });

  it("lists keep and remove newest first", () => {
    const result = applyRetention(series, policy);

    expect(keptIds(result)).toEqual(["f", "e", "d", "c", "b"]);
    expect(result.remove).toEqual(["a"]);
  });

  it("places every backup exactly once", () => {
    const result = applyRetention(series, policy);

    const placed = [...keptIds(result), ...result.remove].sort();
    expect(placed).toEqual(["a", "b", "c", "d", "e", "f"]);
  });
});

describe("applyRetention ties", () => {
  const sameTime = "2026-03-05T12:00:00Z";

  it.each<[string, [string, string][], RetentionPolicy, string[], string[]]>([
    ["keepLast picks higher id", [["x", sameTime], ["y", sameTime]], { keepLast: 1 }, ["y"], ["x"]],
    ["keepLast ignores input order", [["y", sameTime], ["x", sameTime]], { keepLast: 1 }, ["y"], ["x"]],
    ["keepDaily picks higher id", [["x", sameTime], ["y", sameTime], ["w", "2026-03-05T08:00:00Z"]], { keepDaily: 1 }, ["y"], ["x", "w"]],
    ["keepLast 2 orders by id", [["b", sameTime], ["c", sameTime], ["a", sameTime]], { keepLast: 2 }, ["c", "b"], ["a"]],
  ])("%s", (_name, entries, policy, expectedKeep, expectedRemove) => {
    const result = applyRetention(backups(...entries), policy);

    expect(keptIds(result)).toEqual(expectedKeep);
    expect(result.remove).toEqual(expectedRemove);
  });
});

describe("applyRetention time zones", () => {
  // 23:30 UTC on Thursday 03-05 is already 08:30 on Friday 03-06 in Tokyo.
  const lateEvening = backups(["late", "2026-03-05T23:30:00Z"], ["noon", "2026-03-05T12:00:00Z"]);
  // 23:30 UTC on Sunday 03-08 is already Monday 03-09, the next ISO week, in Tokyo.
  const sundayNight = backups(["sunday-late", "2026-03-08T23:30:00Z"], ["sunday-noon", "2026-03-08T12:00:00Z"]);
  // 23:30 UTC on 03-31 is already April in Tokyo, and 03:00 UTC on 03-01 is still February in New York.
  const monthEdges = backups(["march-end", "2026-03-31T23:30:00Z"], ["march-start", "2026-03-01T03:00:00Z"]);

  it.each<[string, { backupId: string; time: Date }[], RetentionPolicy, string, string[]]>([
    ["daily UTC", lateEvening, { keepDaily: 2 }, "UTC", ["late"]],
    ["daily Asia/Tokyo", lateEvening, { keepDaily: 2 }, "Asia/Tokyo", ["late", "noon"]],
    ["daily America/New_York", lateEvening, { keepDaily: 2 }, "America/New_York", ["late"]],
    ["weekly UTC", sundayNight, { keepWeekly: 2 }, "UTC", ["sunday-late"]],
    ["weekly Asia/Tokyo", sundayNight, { keepWeekly: 2 }, "Asia/Tokyo", ["sunday-late", "sunday-noon"]],
    ["monthly UTC", monthEdges, { keepMonthly: 2 }, "UTC", ["march-end"]],
    ["monthly Asia/Tokyo", monthEdges, { keepMonthly: 2 }, "Asia/Tokyo", ["march-end", "march-start"]],
    ["monthly America/New_York", monthEdges, { keepMonthly: 2 }, "America/New_York", ["march-end", "march-start"]],
  ])("%s", (_name, candidates, policy, timeZone, expectedKeep) => {
    const result = applyRetention(candidates, policy, timeZone);

    expect(keptIds(result)).toEqual(expectedKeep);
  });

  it("defaults to UTC", () => {
    expect(applyRetention(lateEvening, { keepDaily: 2 })).toEqual(applyRetention(lateEvening, { keepDaily: 2 }, "UTC"));
  });

  it.each(["Mars/Olympus", "Europe/Atlantis", "not a zone"])("rejects time zone %j", (timeZone) => {
    expect(() => applyRetention(lateEvening, { keepDaily: 1 }, timeZone)).toThrow(
      new RegExp(`invalid time zone "${timeZone}".*IANA name such as "Europe/Berlin"`),
    );
  });

  it("rejects time zone with no backups", () => {
    expect(() => applyRetention([], { keepDaily: 1 }, "Mars/Olympus")).toThrow(/invalid time zone "Mars\/Olympus"/);
  });
});

describe("applyRetention ISO week boundaries", () => {
  it.each<[string, [string, string][], string[], string[]]>([
    [
      // Mon 2025-12-29 to Wed 12-31 belong to 2026-W01, so they share a week with Fri 2026-01-02.
      "Dec 29 in week 1 of next year",
      [
        ["sun-2025-12-28", "2025-12-28T12:00:00Z"],
        ["mon-2025-12-29", "2025-12-29T12:00:00Z"],
        ["fri-2026-01-02", "2026-01-02T12:00:00Z"],
      ],
      ["fri-2026-01-02", "sun-2025-12-28"],
      ["mon-2025-12-29"],
    ],
    [
      // 2026 starts on a Thursday, so it has a week 53 that runs to Sun 2027-01-03.
      "Jan 3 in week 53 of previous year",
      [
        ["sun-2026-12-27", "2026-12-27T12:00:00Z"],
        ["mon-2026-12-28", "2026-12-28T12:00:00Z"],
        ["sun-2027-01-03", "2027-01-03T12:00:00Z"],
        ["mon-2027-01-04", "2027-01-04T12:00:00Z"],
      ],
      ["mon-2027-01-04", "sun-2027-01-03", "sun-2026-12-27"],
      ["mon-2026-12-28"],
    ],
    [
      "Sunday and Monday split",
      [
        ["sun-2026-03-08", "2026-03-08T23:59:59Z"],
        ["mon-2026-03-09", "2026-03-09T00:00:00Z"],
      ],
      ["mon-2026-03-09", "sun-2026-03-08"],
      [],
    ],
  ])("%s", (_name, entries, expectedKeep, expectedRemove) => {
    const result = applyRetention(backups(...entries), { keepWeekly: 10 });

    expect(keptIds(result)).toEqual(expectedKeep);
    expect(result.remove).toEqual(expectedRemove);
  });
});

describe("applyRetention newest backup", () => {
  // The newest backup is alone in 2026, and the older ones fall in 2025 and 2024.
  const series = backups(
    ["old-2024", "2024-12-31T12:00:00Z"],
    ["old-2025-a", "2025-06-01T12:00:00Z"],
    ["old-2025-b", "2025-12-31T12:00:00Z"],
    ["newest", "2026-01-01T00:30:00Z"],
  );

  it.each<[RetentionPolicy, string]>([
    [{ keepLast: 1 }, "last"],
    [{ keepHourly: 1 }, "hourly"],
    [{ keepDaily: 1 }, "daily"],
    [{ keepWeekly: 1 }, "weekly"],
    [{ keepMonthly: 1 }, "monthly"],
    [{ keepYearly: 1 }, "yearly"],
    [{ keepYearly: 3 }, "yearly"],
  ])("kept under %j", (policy, reason) => {
    const result = applyRetention(series, policy);

    expect(result.keep[0]).toEqual({ backupId: "newest", reasons: [reason] });
    expect(result.remove).not.toContain("newest");
  });

  it("kept when a local day starts earlier", () => {
    // In Los Angeles the newest backup falls in 2025 with two older backups, and it still heads that year.
    const result = applyRetention(series, { keepYearly: 2 }, "America/Los_Angeles");

    expect(keptIds(result)).toEqual(["newest", "old-2024"]);
  });
});

describe("applyRetention empty policy", () => {
  it.each<[string, RetentionPolicy]>([
    ["no fields", {}],
    ["all zero", { keepLast: 0, keepHourly: 0, keepDaily: 0, keepWeekly: 0, keepMonthly: 0, keepYearly: 0 }],
  ])("keeps all with %s", (_name, policy) => {
    const result = applyRetention(dailySeries, policy);

    expect(result.keep).toEqual(["d5", "d4", "d3", "d2", "d1"].map((backupId) => ({ backupId, reasons: ["no policy"] })));
    expect(result.remove).toEqual([]);
  });

  it.each<[string, RetentionPolicy]>([
    ["empty policy", {}],
    ["keepDaily", { keepDaily: 7 }],
  ])("returns nothing for no backups with %s", (_name, policy) => {
    expect(applyRetention([], policy)).toEqual({ keep: [], remove: [] });
  });
});

describe("applyRetention input checks", () => {
  it("rejects invalid Date", () => {
    const candidates = [{ backupId: "broken", time: new Date("not a date") }];

    expect(() => applyRetention(candidates, { keepLast: 1 })).toThrow(/invalid time for backup "broken"/);
  });

  it("rejects repeated backupId", () => {
    const candidates = backups(["same", "2026-03-01T00:00:00Z"], ["same", "2026-03-02T00:00:00Z"]);

    expect(() => applyRetention(candidates, { keepLast: 1 })).toThrow(/backup "same" is listed twice/);
  });

  it.each<[string, unknown]>([
    ["negative count", { keepDaily: -1 }],
    ["fractional count", { keepDaily: 1.5 }],
    ["unknown key", { keepWithin: 3 }],
  ])("rejects policy with %s", (_name, policy) => {
    expect(() => applyRetention(dailySeries, policy as RetentionPolicy)).toThrow();
  });
});

describe("retentionPolicySchema", () => {
  it.each<[string, unknown]>([
    ["empty object", {}],
    ["one rule", { keepDaily: 7 }],
    ["zero", { keepLast: 0 }],
    ["maximum", { keepYearly: 100_000 }],
    ["all rules", { keepLast: 3, keepHourly: 24, keepDaily: 7, keepWeekly: 4, keepMonthly: 12, keepYearly: 5 }],
  ])("accepts %s", (_name, input) => {
    expect(retentionPolicySchema.safeParse(input).success).toBe(true);
  });

  it.each<[string, unknown]>([
    ["negative", { keepLast: -1 }],
    ["non-integer", { keepDaily: 2.5 }],
    ["above maximum", { keepWeekly: 100_001 }],
    ["NaN", { keepMonthly: Number.NaN }],
    ["Infinity", { keepYearly: Number.POSITIVE_INFINITY }],
    ["string count", { keepHourly: "7" }],
    ["null count", { keepDaily: null }],
    ["unknown key", { keepWithin: "1d" }],
    ["misspelled key", { keepDay: 7 }],
    ["not an object", 7],
  ])("rejects %s", (_name, input) => {
    expect(retentionPolicySchema.safeParse(input).success).toBe(false);
  });
});
