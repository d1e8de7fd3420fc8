import { createHash, randomBytes, randomUUID } from "node:crypto";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InvalidKeyError, ObjectNotFoundError } from "./errors.js";
import type { ObjectStore } from "./object-store.js";
import { readAll } from "./read-all.js";

export interface ConformanceTarget {
  store: ObjectStore;
  /** Bytes above which the backend switches to a multipart upload, so the suite can cross it. */
  multipartThresholdBytes: number;
  /** Returns the number of unfinished multipart uploads under a key prefix, for backends that have them. */
  pendingUploads?: (prefix: string) => Promise<number>;
  cleanup?: () => Promise<void>;
}

/** The contract every ObjectStore backend must pass: see the interface comments in object-store.ts. */
export function describeObjectStoreConformance(backend: string, open: () => Promise<ConformanceTarget>): void {
  describe(`${backend} object store conformance`, () => {
    let target: ConformanceTarget;
    let store: ObjectStore;
    const namespace = `conformance/${randomUUID()}`;

    beforeAll(async () => {
      target = await open();
      store = target.store;
    });

    afterAll(async () => {
      for await (const info of store.list(`${namespace}/`)) {
        await store.delete(info.key);
      }
      await target.cleanup?.();
      await store.close();
    });

    it("put then get returns the bytes", async () => {
      const key = `${namespace}/small/object.json`;
      const body = Buffer.from('{"hello":"world"}\n');

      const result = await store.put(key, body, { contentType: "application/json" });

      expect(result).toEqual({ key, size: body.length });
      expect(await readAll(await store.get(key))).toEqual(body);
    });

    it("streams a multipart object intact", async () => {
      const key = `${namespace}/large/archive.tar`;
      const chunk = randomBytes(1024 * 1024);
      const chunkCount = Math.ceil((target.multipartThresholdBytes * 2.5) / chunk.length);
      const expected = createHash("sha256");
      for (let i = 0; i < chunkCount; i++) {
        expected.update(chunk);
      }
      let lastProgress = 0;

      const result = await store.put(key, Readable.from(repeat(chunk, chunkCount)), {
        onProgress: (bytes) => {
          lastProgress = bytes;
        },
      });

      expect(result.size).toBe(chunk.length * chunkCount);
      expect(lastProgress).toBeGreaterThan(0);
      const actual = createHash("sha256");
      for await (const part of await store.get(key)) {
        actual.update(part as Buffer);
      }
      expect(actual.digest("hex")).toBe(expected.digest("hex"));
      expect((await store.head(key))?.size).toBe(chunk.length * chunkCount);
    });

    it("get of a missing key raises not found", async () => {
      await expect(store.get(`${namespace}/missing`)).rejects.toBeInstanceOf(ObjectNotFoundError);
    });

    it("head of a missing key returns undefined", async () => {
      expect(await store.head(`${namespace}/missing`)).toBeUndefined();
    });

    it("put replaces an existing object", async () => {
      const key = `${namespace}/replace/object`;
      await store.put(key, Buffer.from("first"));

      await store.put(key, Buffer.from("second"));

      expect((await readAll(await store.get(key))).toString()).toBe("second");
    });

    it("list yields each key under a prefix once, in order", async () => {
      const keys = ["b/2", "a/1", "a/sub/3", "c"].map((name) => `${namespace}/list/${name}`);
      for (const key of keys) {
        await store.put(key, Buffer.from(key));
      }
      await store.put(`${namespace}/listing-sibling`, Buffer.from("outside"));

      const listed: string[] = [];
      for await (const info of store.list(`${namespace}/list/`)) {
        listed.push(info.key);
      }

      expect(listed).toEqual([...keys].sort());
    });

    it("listFolders yields next-level folders", async () => {
      for (const name of ["h1/x", "h1/y/z", "h2/x", "top"]) {
        await store.put(`${namespace}/folders/${name}`, Buffer.from(name));
      }

      const folders: string[] = [];
      for await (const folder of store.listFolders(`${namespace}/folders/`)) {
        folders.push(folder);
      }

      expect(folders).toEqual([`${namespace}/folders/h1/`, `${namespace}/folders/h2/`]);
    });

    it("delete removes and tolerates a missing key", async () => {
      const key = `${namespace}/delete/object`;
      await store.put(key, Buffer.from("x"));

      await store.delete(key);
      await store.delete(key);

      expect(await store.head(key)).toBeUndefined();
    });

    it("failed source stream leaves no object", async () => {
      const key = `${namespace}/failed/archive.tar`;
      const chunk = randomBytes(1024 * 1024);
      const chunkCount = Math.ceil(target.multipartThresholdBytes / chunk.length) + 2;
      async function* failing() {
        yield* repeat(chunk, chunkCount);
        throw new Error("disk read failed");
      }

      await expect(store.put(key, Readable.from(failing()))).rejects.toThrow(/disk read failed/);

      expect(await store.head(key)).toBeUndefined();
      if (target.pendingUploads) {
        expect(await target.pendingUploads(`${namespace}/failed/`)).toBe(0);
      }
    });

    it("aborted put leaves no object", async () => {
      const key = `${namespace}/aborted/archive.tar`;
      const controller = new AbortController();
      const chunk = randomBytes(1024 * 1024);
      async function* slow() {
        yield* repeat(chunk, Math.ceil(target.multipartThresholdBytes / chunk.length) + 1);
        controller.abort(new Error("job cancelled"));
        yield* repeat(chunk, 2);
      }

      await expect(store.put(key, Readable.from(slow()), { signal: controller.signal })).rejects.toThrow();

      expect(await store.head(key)).toBeUndefined();
      if (target.pendingUploads) {
        expect(await target.pendingUploads(`${namespace}/aborted/`)).toBe(0);
      }
    });

    it("abortIncompleteUploads leaves finished objects", async () => {
      const key = `${namespace}/abort-incomplete/done`;
      await store.put(key, Buffer.from("finished"));

      const aborted = await store.abortIncompleteUploads(`${namespace}/abort-incomplete/`);

      expect(aborted).toBe(0);
      expect((await readAll(await store.get(key))).toString()).toBe("finished");
    });

    it.each(["", "/absolute", "trailing/", "a//b", "a/../b", "./a", "back\\slash"])("rejects key %j", async (key) => {
      await expect(store.put(key, Buffer.from("x"))).rejects.toBeInstanceOf(InvalidKeyError);
      await expect(store.get(key)).rejects.toBeInstanceOf(InvalidKeyError);
    });
  });
}

function* repeat(chunk: Buffer, count: number): Generator<Buffer> {
  for (let i = 0; i < count; i++) {
    yield chunk;
  }
}
