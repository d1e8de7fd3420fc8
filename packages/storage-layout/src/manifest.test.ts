import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { DigestStream, sha256Hex } from "./checksum.js";
import { MANIFEST_FORMAT, type Manifest, ManifestError, parseManifest, serializeManifest, summarizeManifest } from "./manifest.js";

const manifest: Manifest = {
  format: MANIFEST_FORMAT,
  schemaVersion: 1,
  backupId: "web-01.20261204T201500123Z.k3j9x2",
  hostId: "web-01",
  jobId: "web-01.backup.20261204T201500123Z.k3j9x2",
  startedAt: "2026-12-04T20:15:00.123Z",
  completedAt: "2026-12-04T20:16:00.000Z",
  status: "complete",
  problems: [],
  engine: { version: "20.10.24", apiVersion: "1.41", os: "linux", architecture: "amd64" },
  options: { imageMode: "save", commit: false, consistency: "pause" },
  containers: [],
  volumes: [
    {
      name: "data",
      anonymous: false,
      driver: "local",
      driverOptions: {},
      labels: {},
      root: { mode: 0o755, uid: 999, gid: 999 },
      artifactId: "volume-001",
    },
  ],
  binds: [],
  images: [],
  networks: [],
  artifacts: [{ id: "volume-001", kind: "volume", key: "k", size: 10, sha256: "a".repeat(64) }],
};

describe("manifest", () => {
  it("round-trips through JSON", () => {
    expect(parseManifest(serializeManifest(manifest), "test")).toEqual(manifest);
  });

  it.each([
    ["not json", /is not valid JSON/],
    ["{}", /not a Cargohold manifest/],
    [JSON.stringify({ ...manifest, schemaVersion: 2 }), /schema version 2, newer than this Cargohold reads \(1\)/],
    [JSON.stringify({ ...manifest, status: "ok" }), /status/],
    [JSON.stringify({ ...manifest, artifacts: [{ ...manifest.artifacts[0], sha256: "xyz" }] }), /artifacts\.0\.sha256/],
  ])("rejects %s", (text, message) => {
    expect(() => parseManifest(text, "v1/hosts/web-01/backups/x/manifest.json")).toThrow(ManifestError);
    expect(() => parseManifest(text, "v1/hosts/web-01/backups/x/manifest.json")).toThrow(message);
  });

  it("summarizes sizes and names", () => {
    expect(summarizeManifest(manifest)).toMatchObject({ backupId: manifest.backupId, volumes: ["data"], totalBytes: 10, problemCount: 0 });
  });
});

describe("DigestStream", () => {
  it("hashes and counts what passes", async () => {
    const digest = new DigestStream();
    const seen: Buffer[] = [];

    await pipeline(
      Readable.from([Buffer.from("hello "), Buffer.from("world")]),
      digest,
      new Writable({
        write(chunk: Buffer, _encoding, callback) {
          seen.push(chunk);
          callback();
        },
      }),
    );

    expect(digest.bytes).toBe(11);
    expect(digest.sha256).toBe(sha256Hex("hello world"));
    expect(Buffer.concat(seen).toString()).toBe("hello world");
  });

  it("refuses a digest before the end", () => {
    expect(() => new DigestStream().sha256).toThrow(/before the stream ended/);
  });
});
