import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
  S3ServiceException,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { PassThrough, Readable } from "node:stream";
import { ObjectNotFoundError, ObjectStoreError, assertValidKey } from "../errors.js";
import type { GetOptions, ObjectInfo, ObjectStore, PutOptions, PutResult, RequestOptions } from "../object-store.js";

/**
 * The SDK's checksum behaviour. AWS SDK v3 (since 3.729) sends CRC checksums on
 * every upload by default, with aws-chunked framing for streams. Many
 * S3-compatible servers reject that or store the framing as content.
 * "when_required" sends checksums only where the S3 API demands one, which
 * every S3-compatible server tested here accepts; "when_supported" is the SDK default, for AWS S3.
 */
export type ChecksumMode = "when_required" | "when_supported";

export interface S3StoreConfig {
  bucket: string;
  /** Folder inside the bucket, prepended to every key. */
  prefix?: string;
  region: string;
  /** Leave unset for AWS S3; set for MinIO, Ceph RGW, R2 and others. */
  endpoint?: string;
  forcePathStyle: boolean;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  checksumMode: ChecksumMode;
  /** Multipart part size in bytes. Memory per upload is about partSize times queueSize. */
  partSizeBytes: number;
  /** Parts uploaded in parallel per object. */
  queueSize: number;
}

export const DEFAULT_PART_SIZE_BYTES = 16 * 1024 * 1024;

/** Wait before the second look for a multipart upload that an aborted lib-storage upload created late. */
const LATE_UPLOAD_WAIT_MS = 500;
export const DEFAULT_QUEUE_SIZE = 4;

/** Status codes after which the same request cannot succeed. */
const PERMANENT_STATUS = new Set([400, 401, 403, 404, 405, 411, 413]);

export class S3ObjectStore implements ObjectStore {
  readonly location: string;
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #prefix: string;

  constructor(private readonly config: S3StoreConfig) {
    const sdkChecksumMode = config.checksumMode === "when_required" ? "WHEN_REQUIRED" : "WHEN_SUPPORTED";
    this.#client = new S3Client({
      region: config.region,
      endpoint: config.endpoint,
      forcePathStyle: config.forcePathStyle,
      credentials: config.credentials,
      requestChecksumCalculation: sdkChecksumMode,
      responseChecksumValidation: sdkChecksumMode,
    });
    this.#bucket = config.bucket;
    this.#prefix = config.prefix ? `${config.prefix.replace(/^\/+|\/+$/g, "")}/` : "";
    this.location = `s3://${config.bucket}/${this.#prefix}${config.endpoint ? ` at ${config.endpoint}` : ""}`;
  }

  /** The SDK client, for tests and tooling that must create buckets. */
  get client(): S3Client {
    return this.#client;
  }

  async put(key: string, body: Readable | Buffer, options: PutOptions = {}): Promise<PutResult> {
    const fullKey = this.#fullKey(key);
    const abortController = new AbortController();
    const onAbort = () => abortController.abort(options.signal?.reason);
    options.signal?.addEventListener("abort", onAbort, { once: true });

    // The SDK reads the body through this pass-through. An error in the source
    // fails the SDK's read, and lib-storage then aborts the multipart upload it created.
    let size = 0;
    let sourceError: unknown;
    const passThrough = new PassThrough();
    const source = Buffer.isBuffer(body) ? Readable.from([body]) : body;
    source.on("data", (chunk: Buffer) => {
      size += chunk.length;
    });
    source.once("error", (error) => {
      sourceError = error;
      passThrough.destroy(error);
    });
    source.pipe(passThrough);

    const upload = new Upload({
      client: this.#client,
      params: { Bucket: this.#bucket, Key: fullKey, Body: passThrough, ContentType: options.contentType ?? "application/octet-stream" },
      partSize: this.config.partSizeBytes,
      queueSize: this.config.queueSize,
      leavePartsOnError: false,
      abortController,
    });
    upload.on("httpUploadProgress", (progress) => {
      if (progress.loaded !== undefined) {
        options.onProgress?.(progress.loaded);
      }
    });

    try {
      if (options.signal?.aborted) {
        abortController.abort(options.signal.reason);
      }
      await upload.done();
    } catch (error) {
      source.unpipe(passThrough);
      source.destroy();
      // After an abort, lib-storage may still be creating the multipart upload, so look twice.
      await this.#abortPendingUploads(fullKey);
      await new Promise((resolve) => setTimeout(resolve, LATE_UPLOAD_WAIT_MS));
      await this.#abortPendingUploads(fullKey);
      const cause = sourceError ?? error;
      const reason = sourceError ? `reading the source failed: ${(sourceError as Error).message}` : describe(error);
      throw new ObjectStoreError(`put ${key} to ${this.location} failed: ${reason}`, { cause, permanent: sourceError === undefined && isPermanent(error) });
    } finally {
      options.signal?.removeEventListener("abort", onAbort);
    }
    return { key, size };
  }

  async get(key: string, options: GetOptions = {}): Promise<Readable> {
    try {
      const response = await this.#client.send(new GetObjectCommand({ Bucket: this.#bucket, Key: this.#fullKey(key) }), {
        abortSignal: options.signal,
      });
      if (!(response.Body instanceof Readable)) {
        throw new ObjectStoreError(`get ${key} from ${this.location} returned no readable body`);
      }
      return response.Body;
    } catch (error) {
      throw this.#translate("get", key, error);
    }
  }

  async head(key: string, options: RequestOptions = {}): Promise<ObjectInfo | undefined> {
    try {
      const response = await this.#client.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: this.#fullKey(key) }), {
        abortSignal: options.signal,
      });
      return { key, size: response.ContentLength ?? 0, lastModified: response.LastModified ?? new Date(0) };
    } catch (error) {
      const translated = this.#translate("head", key, error);
      if (translated instanceof ObjectNotFoundError) {
        return undefined;
      }
      throw translated;
    }
  }

  async *list(prefix: string, options: RequestOptions = {}): AsyncIterable<ObjectInfo> {
    let continuationToken: string | undefined;
    do {
      let response;
      try {
        response = await this.#client.send(
          new ListObjectsV2Command({ Bucket: this.#bucket, Prefix: this.#prefix + prefix, ContinuationToken: continuationToken }),
          { abortSignal: options.signal },
        );
      } catch (error) {
        throw this.#translate("list", prefix, error);
      }
      for (const entry of response.Contents ?? []) {
        if (entry.Key === undefined) {
          continue;
        }
        yield { key: entry.Key.slice(this.#prefix.length), size: entry.Size ?? 0, lastModified: entry.LastModified ?? new Date(0) };
      }
      continuationToken = response.IsTruncated ? response.NextContinuationToken : undefined;
    } while (continuationToken !== undefined);
  }

  async *listFolders(prefix: string, options: RequestOptions = {}): AsyncIterable<string> {
    let continuationToken: string | undefined;
    do {
      let response;
      try {
        response = await this.#client.send(
          new ListObjectsV2Command({ Bucket: this.#bucket, Prefix: this.#prefix + prefix, Delimiter: "/", ContinuationToken: continuationToken }),
          { abortSignal: options.signal },
        );
      } catch (error) {
        throw this.#translate("list", prefix, error);
      }
      for (const entry of response.CommonPrefixes ?? []) {
        if (entry.Prefix !== undefined) {
          yield entry.Prefix.slice(this.#prefix.length);
        }
      }
      continuationToken = response.IsTruncated ? response.NextContinuationToken : undefined;
    } while (continuationToken !== undefined);
  }

  async delete(key: string, options: RequestOptions = {}): Promise<void> {
    try {
      await this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: this.#fullKey(key) }), { abortSignal: options.signal });
    } catch (error) {
      const translated = this.#translate("delete", key, error);
      if (!(translated instanceof ObjectNotFoundError)) {
        throw translated;
      }
    }
  }

  async abortIncompleteUploads(prefix: string, options: RequestOptions = {}): Promise<number> {
    let aborted = 0;
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    do {
      let listing;
      try {
        listing = await this.#client.send(
          new ListMultipartUploadsCommand({ Bucket: this.#bucket, Prefix: this.#prefix + prefix, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }),
          { abortSignal: options.signal },
        );
      } catch (error) {
        throw this.#translate("list uploads", prefix, error);
      }
      for (const upload of listing.Uploads ?? []) {
        if (upload.Key === undefined || upload.UploadId === undefined) {
          continue;
        }
        try {
          await this.#client.send(new AbortMultipartUploadCommand({ Bucket: this.#bucket, Key: upload.Key, UploadId: upload.UploadId }), { abortSignal: options.signal });
          aborted++;
        } catch (error) {
          const translated = this.#translate("abort upload", upload.Key.slice(this.#prefix.length), error);
          if (!(translated instanceof ObjectNotFoundError)) {
            throw translated;
          }
        }
      }
      keyMarker = listing.IsTruncated ? listing.NextKeyMarker : undefined;
      uploadIdMarker = listing.IsTruncated ? listing.NextUploadIdMarker : undefined;
    } while (keyMarker !== undefined);
    return aborted;
  }

  async close(): Promise<void> {
    this.#client.destroy();
  }

  /**
   * Aborts unfinished multipart uploads of one key. lib-storage aborts its own
   * upload on failure only once it has the upload id, so a source
   * that fails while the upload is being created would leave stored parts behind.
   * Keys are unique per backup, so no other writer's upload is affected.
   */
  async #abortPendingUploads(fullKey: string): Promise<void> {
    try {
      const listing = await this.#client.send(new ListMultipartUploadsCommand({ Bucket: this.#bucket, Prefix: fullKey }));
      for (const upload of listing.Uploads ?? []) {
        if (upload.Key === fullKey && upload.UploadId !== undefined) {
          await this.#client.send(new AbortMultipartUploadCommand({ Bucket: this.#bucket, Key: fullKey, UploadId: upload.UploadId }));
        }
      }
    } catch {
      // The put already failed with its own error, which matters more; a bucket
      // lifecycle rule for incomplete uploads is the backstop for what stays.
    }
  }

  #fullKey(key: string): string {
    assertValidKey(key);
    return this.#prefix + key;
  }

  #translate(operation: string, key: string, error: unknown): ObjectStoreError {
    if (error instanceof ObjectStoreError) {
      return error;
    }
    if (error instanceof S3ServiceException) {
      if (error.name === "NoSuchKey" || error.name === "NotFound" || (error.$metadata.httpStatusCode === 404 && error.name !== "NoSuchBucket")) {
        return new ObjectNotFoundError(key, this.location, error);
      }
    }
    return new ObjectStoreError(`${operation} ${key} in ${this.location} failed: ${describe(error)}`, { cause: error, permanent: isPermanent(error) });
  }
}

function isPermanent(error: unknown): boolean {
  if (error instanceof S3ServiceException) {
    return PERMANENT_STATUS.has(error.$metadata.httpStatusCode ?? 0);
  }
  return false;
}

function describe(error: unknown): string {
  if (error instanceof S3ServiceException) {
    const status = error.$metadata.httpStatusCode;
    let hint = "";
    if (error.name === "NoSuchBucket") {
      hint = " (create the bucket first, or check S3_BUCKET)";
    } else if (status === 403) {
      hint = " (check the access key, secret and the clock)";
    }
    return `${error.name}${status ? ` (HTTP ${status})` : ""}: ${error.message}${hint}`;
  }
  return (error as Error).message ?? String(error);
}
