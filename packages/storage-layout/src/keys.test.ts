import { describe, expect, it } from "vitest";
import { formatStamp, newBackupId, parseBackupId, parseStamp } from "./ids.js";
import { KeyScheme } from "./keys.js";

const keys = new KeyScheme();
const backupId = "web-01.20261204T201500123Z.k3j9x2";

describe("KeyScheme", () => {
  it.each([
    ["hostsPrefix", keys.hostsPrefix(), "v1/hosts/"],
    ["backupsPrefix", keys.backupsPrefix("web-01"), "v1/hosts/web-01/backups/"],
    ["backupPrefix", keys.backupPrefix(backupId), `v1/hosts/web-01/backups/${backupId}/`],
    ["manifestKey", keys.manifestKey(backupId), `v1/hosts/web-01/backups/${backupId}/manifest.json`],
    ["artifactKey", keys.artifactKey(backupId, "volume-001"), `v1/hosts/web-01/backups/${backupId}/artifacts/volume-001.tar`],
  ])("%s", (_name, actual, expected) => {
    expect(actual).toBe(expected);
  });

  it.each([
    [`v1/hosts/web-01/backups/${backupId}/manifest.json`, backupId],
    [`v1/hosts/web-02/backups/${backupId}/manifest.json`, undefined],
    [`v1/hosts/web-01/backups/${backupId}/artifacts/manifest.json`, undefined],
    [`v1/hosts/web-01/backups/not-an-id/manifest.json`, undefined],
    [`v2/hosts/web-01/backups/${backupId}/manifest.json`, undefined],
  ])("backupIdOfManifestKey(%j)", (key, expected) => {
    expect(keys.backupIdOfManifestKey(key)).toBe(expected);
  });

  it.each([
    ["v1/hosts/web-01/", "web-01"],
    ["v1/hosts/Web/", undefined],
    ["v1/other/web-01/", undefined],
  ])("hostIdOfPrefix(%j)", (prefix, expected) => {
    expect(keys.hostIdOfPrefix(prefix)).toBe(expected);
  });

  it.each(["Volume", "a/b", "", "-x", "a.tar"])("rejects artifact id %j", (artifactId) => {
    expect(() => keys.artifactKey(backupId, artifactId)).toThrow(/invalid artifact id/);
  });
});

describe("backup ids", () => {
  it("round-trip host and time", () => {
    const at = new Date("2026-12-04T20:15:00.123Z");

    const id = newBackupId("web-01", at);

    expect(id).toMatch(/^web-01\.20261204T201500123Z\.[a-z0-9]{6}$/);
    expect(parseBackupId(id)).toMatchObject({ hostId: "web-01", startedAt: at });
  });

  it("sort in time order as text", () => {
    const earlier = newBackupId("h", new Date("2026-01-02T03:04:05.006Z"));
    const later = newBackupId("h", new Date("2026-11-02T03:04:05.006Z"));

    expect([later, earlier].sort()).toEqual([earlier, later]);
  });

  it.each(["", "web-01", "web-01.20261204T201500123Z", "web_01.20261204T201500123Z.k3j9x2", "web-01.2026-12-04.k3j9x2", "web-01.20261204T201500123Z.K3J9X2", "web-01.20261304T201500123Z.k3j9x2"])(
    "rejects %j",
    (id) => {
      expect(() => parseBackupId(id)).toThrow(/invalid (backup id|host id|time stamp)/);
    },
  );

  it("formats and parses stamps", () => {
    const at = new Date("2026-02-28T23:59:59.999Z");

    expect(parseStamp(formatStamp(at))).toEqual(at);
  });
});
