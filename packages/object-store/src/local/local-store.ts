import { randomUUID } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, open, readdir, rename, rm, rmdir, stat } from "node:fs/promises";
import path from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { ObjectNotFoundError, ObjectStoreError, assertValidKey } from "../errors.js";
import type { GetOptions, ObjectInfo, ObjectStore, PutOptions, PutResult, RequestOptions } from "../object-store.js";

/** Suffix of a put's temporary file beside its target, until a rename makes it visible; `list` skips these files. */
const PART_SUFFIX = ".cargohold-part";

/**
 * An object store in a local folder: one file per key. A put writes a
 * temporary part file beside the target, syncs it and renames it into place,
 * so a reader never sees a partial object.
 * Use it for a single machine, a mounted NAS, or tests.
 */
export class LocalDirectoryStore implements ObjectStore {
  readonly location: string;
  readonly #root: string;

  constructor(root: string) {
    if (!path.isAbsolute(root)) {
      throw new ObjectStoreError(`local store folder ${JSON.stringify(root)} is not an absolute path: give a full path such as /var/lib/cargohold/store`, {
        permanent: true,
      });
    }
    this.#root = path.resolve(root);
    this.location = `file://${this.#root}`;
  }

  async put(key: string, body: Readable | Buffer, options: PutOptions = {}): Promise<PutResult> {
    const target = this.#pathOf(key);
    const staging = `${target}.${randomUUID()}${PART_SUFFIX}`;
    await mkdir(path.dirname(target), { recursive: true });

    let size = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        size += chunk.length;
        options.onProgress?.(size);
        callback(null, chunk);
      },
    });
    const source = Buffer.isBuffer(body) ? Readable.from([body]) : body;
    try {
      await pipeline(source, counter, createWriteStream(staging, { flags: "wx" }), { signal: options.signal });
      const handle = await open(staging, "r");
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(staging, target);
    } catch (error) {
      await rm(staging, { force: true });
      throw new ObjectStoreError(`put ${key} to ${this.location} failed: ${(error as Error).message}`, { cause: error });
    }
    return { key, size };
  }

  async get(key: string, options: GetOptions = {}): Promise<Readable> {
    const file = this.#pathOf(key);
    try {
      const info = await stat(file);
      if (!info.isFile()) {
        throw new ObjectNotFoundError(key, this.location);
      }
    } catch (error) {
      if (error instanceof ObjectNotFoundError || isNotFound(error)) {
        throw new ObjectNotFoundError(key, this.location, error);
      }
      throw new ObjectStoreError(`get ${key} from ${this.location} failed: ${(error as Error).message}`, { cause: error });
    }
    return createReadStream(file, { signal: options.signal });
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      const info = await stat(this.#pathOf(key));
      return info.isFile() ? { key, size: info.size, lastModified: info.mtime } : undefined;
    } catch (error) {
      if (isNotFound(error)) {
        return undefined;
      }
      throw new ObjectStoreError(`head ${key} in ${this.location} failed: ${(error as Error).message}`, { cause: error });
    }
  }

  async *list(prefix: string, options: RequestOptions = {}): AsyncIterable<ObjectInfo> {
    const keys: ObjectInfo[] = [];
    await this.#walk("", keys, options.signal);
    // Code-unit order, as S3 lists keys; localeCompare would differ.
    keys.sort((a, b) => compareCodeUnits(a.key, b.key));
    for (const info of keys) {
      if (info.key.startsWith(prefix)) {
        yield info;
      }
    }
  }

  async *listFolders(prefix: string, options: RequestOptions = {}): AsyncIterable<string> {
    const folders = new Set<string>();
    for await (const info of this.list(prefix, options)) {
      const rest = info.key.slice(prefix.length);
      const slash = rest.indexOf("/");
      if (slash > 0) {
        folders.add(`${prefix}${rest.slice(0, slash + 1)}`);
      }
    }
    yield* [...folders].sort();
  }

  async delete(key: string): Promise<void> {
    const file = this.#pathOf(key);
    try {
      await rm(file, { force: true });
    } catch (error) {
      throw new ObjectStoreError(`delete ${key} from ${this.location} failed: ${(error as Error).message}`, { cause: error });
    }
    await this.#removeEmptyParents(path.dirname(file));
  }

  async abortIncompleteUploads(prefix: string, options: RequestOptions = {}): Promise<number> {
    const parts: string[] = [];
    await this.#walk("", [], options.signal, parts);
    const stale = parts.filter((key) => key.startsWith(prefix));
    for (const key of stale) {
      await rm(path.join(this.#root, ...key.split("/")), { force: true });
    }
    return stale.length;
  }

  async close(): Promise<void> {}

  #pathOf(key: string): string {
    assertValidKey(key);
    return path.join(this.#root, ...key.split("/"));
  }

  async #walk(relative: string, into: ObjectInfo[], signal: AbortSignal | undefined, parts?: string[]): Promise<void> {
    signal?.throwIfAborted();
    let entries;
    try {
      entries = await readdir(path.join(this.#root, relative), { withFileTypes: true });
    } catch (error) {
      if (isNotFound(error)) {
        return;
      }
      throw new ObjectStoreError(`list ${this.location} failed: ${(error as Error).message}`, { cause: error });
    }
    for (const entry of entries) {
      const key = relative === "" ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory()) {
        await this.#walk(key, into, signal, parts);
      } else if (entry.isFile() && entry.name.endsWith(PART_SUFFIX)) {
        parts?.push(key);
      } else if (entry.isFile()) {
        const info = await stat(path.join(this.#root, key));
        into.push({ key, size: info.size, lastModified: info.mtime });
      }
    }
  }

  /** Removes folders that a delete left empty, up to the store root, so listings stay small. */
  async #removeEmptyParents(folder: string): Promise<void> {
    let current = folder;
    while (current.startsWith(this.#root + path.sep)) {
      try {
        const entries = await readdir(current);
        if (entries.length > 0) {
          return;
        }
        await rmdir(current);
      } catch {
        // Another writer may have added a file or removed the folder: either way, stop here.
        return;
      }
      current = path.dirname(current);
    }
  }
}

function isNotFound(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === "ENOENT" || code === "ENOTDIR";
}

function compareCodeUnits(a: string, b: string): number {
  if (a === b) {
    return 0;
  }
  return a < b ? -1 : 1;
}
