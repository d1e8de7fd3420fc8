import { mkdtemp, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { expect, it } from "vitest";
import { describeObjectStoreConformance } from "../conformance.js";
import { LocalDirectoryStore } from "./local-store.js";

let root = "";

describeObjectStoreConformance("local directory", async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "cargohold-local-store-"));
  return {
    store: new LocalDirectoryStore(root),
    multipartThresholdBytes: 4 * 1024 * 1024,
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
});

it("local store rejects a relative folder", () => {
  expect(() => new LocalDirectoryStore("relative/folder")).toThrow(/not an absolute path/);
});

it("local store leaves no part files after a failed put", async () => {
  const folder = await mkdtemp(path.join(os.tmpdir(), "cargohold-local-staging-"));
  const store = new LocalDirectoryStore(folder);
  const { Readable } = await import("node:stream");
  async function* failing() {
    yield Buffer.from("partial");
    throw new Error("source broke");
  }

  await expect(store.put("a/b", Readable.from(failing()))).rejects.toThrow(/source broke/);

  expect(await readdir(path.join(folder, "a"))).toEqual([]);
  await rm(folder, { recursive: true, force: true });
});

it("local store discards part files of a killed writer", async () => {
  const folder = await mkdtemp(path.join(os.tmpdir(), "cargohold-local-parts-"));
  const store = new LocalDirectoryStore(folder);
  const { mkdir, writeFile } = await import("node:fs/promises");
  await mkdir(path.join(folder, "backups", "one"), { recursive: true });
  await writeFile(path.join(folder, "backups", "one", "volume.tar.0b1c.cargohold-part"), "half");
  await store.put("backups/one/manifest.json", Buffer.from("{}"));

  const listed: string[] = [];
  for await (const info of store.list("backups/")) {
    listed.push(info.key);
  }
  const aborted = await store.abortIncompleteUploads("backups/");

  expect(listed).toEqual(["backups/one/manifest.json"]);
  expect(aborted).toBe(1);
  expect(await readdir(path.join(folder, "backups", "one"))).toEqual(["manifest.json"]);
  await rm(folder, { recursive: true, force: true });
});
