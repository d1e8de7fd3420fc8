import { newBackupId, newRestoreId } from "@cargohold/storage-layout";
import { describe, expect, it } from "vitest";
import { backupPayloadSchema, hostQueueName, jobIdFor, parseJobId } from "./catalog.js";

describe("job ids", () => {
  it("round-trip host and kind", () => {
    const backupId = newBackupId("web-01", new Date("2026-12-04T20:15:00.123Z"));

    const jobId = jobIdFor("backup", backupId);

    expect(jobId).toMatch(/^web-01\.backup\.20261204T201500123Z\.[a-z0-9]{6}$/);
    expect(parseJobId(jobId)).toEqual({ hostId: "web-01", name: "backup" });
  });

  it("restore ids name the target host", () => {
    expect(parseJobId(jobIdFor("restore", newRestoreId("fresh-vm")))).toEqual({ hostId: "fresh-vm", name: "restore" });
  });

  it.each(["", "web-01", "web-01.delete.x", "Web.backup.x", "a:b.backup.x"])("rejects %j", (jobId) => {
    expect(() => parseJobId(jobId)).toThrow(/invalid (job|host) id/);
  });
});

describe("hostQueueName", () => {
  it("avoids BullMQ's separator", () => {
    expect(hostQueueName("web-01")).toBe("host.web-01");
  });

  it("rejects a bad host id", () => {
    expect(() => hostQueueName("web:01")).toThrow(/invalid host id "web:01"/);
  });
});

describe("backup payload", () => {
  const base = { backupId: "x", hostId: "web-01", imageMode: "save", commit: false, consistency: "pause" };

  it("accepts names and ids", () => {
    expect(backupPayloadSchema.parse({ ...base, containers: ["db", "3f2a9c"] }).containers).toEqual(["db", "3f2a9c"]);
  });

  it.each([[{ containers: [] }], [{ containers: ["bad name"] }], [{ imageMode: "copy" }], [{ consistency: "freeze" }]])("rejects %j", (change) => {
    expect(backupPayloadSchema.safeParse({ ...base, ...change }).success).toBe(false);
  });
});
