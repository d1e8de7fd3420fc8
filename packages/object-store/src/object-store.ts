import type { Readable } from "node:stream";

/**
 * The storage contract every backend implements. Backup logic depends on
 * this interface only; the AWS SDK is imported in the S3 backend alone.
 *
 * - `put` is atomic: readers see either no object or the whole object, never
 *   a part of it. A put that fails or is aborted leaves no object and no
 *   pending upload behind (the backend aborts its own multipart upload).
 * - `put` of an existing key replaces it. Callers that must not overwrite use
 *   `head` first, because not every S3-compatible store supports conditional writes.
 * - `delete` of a missing key succeeds, so it can be retried.
 * - `list` yields each key under the prefix once, in ascending key order.
 * - A missing object raises ObjectNotFoundError. Errors a retry cannot fix
 *   (bad credentials, a missing bucket) raise ObjectStoreError with `permanent`.
 */
export interface ObjectStore {
  /** A short description for logs, such as `s3://bucket/prefix` or `file:///srv/backups`. */
  readonly location: string;

  put(key: string, body: Readable | Buffer, options?: PutOptions): Promise<PutResult>;
  get(key: string, options?: GetOptions): Promise<Readable>;
  head(key: string, options?: RequestOptions): Promise<ObjectInfo | undefined>;
  list(prefix: string, options?: RequestOptions): AsyncIterable<ObjectInfo>;
  /** Yields the distinct next-level folders under `prefix`, each ending in "/". */
  listFolders(prefix: string, options?: RequestOptions): AsyncIterable<string>;
  delete(key: string, options?: RequestOptions): Promise<void>;
  /**
   * Discards unfinished uploads under `prefix`, such as those of a writer
   * that was killed, and returns how many it discarded. Callers use it only
   * on prefixes that no live writer is using.
   */
  abortIncompleteUploads(prefix: string, options?: RequestOptions): Promise<number>;
  /** Releases connections and file handles. */
  close(): Promise<void>;
}

export interface RequestOptions {
  signal?: AbortSignal;
}

export interface PutOptions extends RequestOptions {
  contentType?: string;
  /** Called with the number of bytes sent so far. */
  onProgress?: (bytesSent: number) => void;
}

export type GetOptions = RequestOptions;

export interface PutResult {
  key: string;
  size: number;
}

export interface ObjectInfo {
  key: string;
  size: number;
  lastModified: Date;
}
