import { LocalDirectoryStore } from "@cargohold/object-store";
import { createLogger } from "@cargohold/logging";
import { KeyScheme, type Manifest, newBackupId, serializeManifest } from "@cargohold/storage-layout";
import { exampleManifest } from "@cargohold/storage-layout/testing";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { pruneBackups } from "./prune.js";

const HOST = "web-01";
const SERIES = "schedule-schedule-0a1b2c3d4e";
const keys = new KeyScheme();

describe("pruneBackups", () => {
  let root: string;
  let store: LocalDirectoryStore;
  const context = () => ({ hostId: HOST, store, keys, log: createLogger("test", "silent"), signal: new AbortController().signal });

  /** `series` null makes a backup outside any series, as a manual one is. */
  async function addBackup(daysAgo: number, status: Manifest["status"] | "unfinished", series: string | null = SERIES): Promise<string> {
    const at = new Date(Date.UTC(2026, 11, 4) - daysAgo * 86_400_000);
    const backupId = newBackupId(HOST, at);
    await store.put(keys.artifactKey(backupId, "volume-001"), Buffer.from("archive"));
    if (status !== "unfinished") {
      await store.put(keys.manifestKey(backupId), Buffer.from(serializeManifest(exampleManifest(backupId, {
          status,
          series: series ?? undefined,
          problems: status === "partial" ? [{ subject: "volume data", message: "read failed" }] : [],
        }))));
    }
    return backupId;
  }

  beforeEach(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), "cargohold-prune-"));
    store = new LocalDirectoryStore(root);
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("deletes backups outside the policy, manifest and archives", async () => {
    const old = await addBackup(3, "complete");
    const middle = await addBackup(2, "complete");
    const newest = await addBackup(1, "complete");

    const pruned = await pruneBackups(context(), SERIES, { keepLast: 2 }, "UTC");

    expect(pruned).toEqual([old]);
    expect(await store.head(keys.manifestKey(old))).toBeUndefined();
    expect(await store.head(keys.artifactKey(old, "volume-001"))).toBeUndefined();
    expect(await store.head(keys.manifestKey(middle))).toBeDefined();
    expect(await store.head(keys.manifestKey(newest))).toBeDefined();
  });

  it("never prunes another series or a manual backup", async () => {
    const manual = await addBackup(4, "complete", null);
    const otherSchedule = await addBackup(3, "complete", "schedule-other");
    await addBackup(2, "complete");
    await addBackup(1, "complete");

    const pruned = await pruneBackups(context(), SERIES, { keepLast: 1 }, "UTC");

    expect(pruned).toHaveLength(1);
    expect(await store.head(keys.manifestKey(manual))).toBeDefined();
    expect(await store.head(keys.manifestKey(otherSchedule))).toBeDefined();
  });

  it("never touches a backup still being written", async () => {
    const unfinished = await addBackup(5, "unfinished");
    await addBackup(2, "complete");
    await addBackup(1, "complete");

    await pruneBackups(context(), SERIES, { keepLast: 1 }, "UTC");

    expect(await store.head(keys.artifactKey(unfinished, "volume-001"))).toBeDefined();
  });

  it("keeps the newest complete backup behind newer partial ones", async () => {
    const complete = await addBackup(3, "complete");
    await addBackup(2, "partial");
    const newestPartial = await addBackup(1, "partial");

    const pruned = await pruneBackups(context(), SERIES, { keepLast: 1 }, "UTC");

    expect(await store.head(keys.manifestKey(complete))).toBeDefined();
    expect(await store.head(keys.manifestKey(newestPartial))).toBeDefined();
    expect(pruned).not.toContain(complete);
  });
});
