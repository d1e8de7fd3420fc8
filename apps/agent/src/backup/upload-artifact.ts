import { type Artifact, type ArtifactKind, DigestStream } from "@cargohold/storage-layout";
import { Transform, type Readable, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { JobContext } from "../job-context.js";

const TAR_BLOCK = 512;

/** A pass-through that keeps a copy of the first tar header, to read the archive root's type, owner and mode. */
class FirstBlockTap extends Transform {
  #block = Buffer.alloc(0);

  get block(): Buffer {
    return this.#block;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.#block.length < TAR_BLOCK) {
      this.#block = Buffer.concat([this.#block, chunk.subarray(0, TAR_BLOCK - this.#block.length)]);
    }
    callback(null, chunk);
  }
}

export interface UploadedArtifact {
  artifact: Artifact;
  /** The first 512 bytes of the archive: its first tar header. */
  firstBlock: Buffer;
}

/**
 * Streams one archive into the store under the backup's key for `artifactId`,
 * hashing and counting it on the way. Memory stays bounded by the store's
 * part buffers; nothing is staged on disk.
 */
export async function uploadArtifact(
  context: JobContext,
  backupId: string,
  artifactId: string,
  kind: ArtifactKind,
  source: Readable,
): Promise<UploadedArtifact> {
  const key = context.keys.artifactKey(backupId, artifactId);
  let release: () => Promise<void>;
  try {
    release = await context.uploadSlots.acquire(context.signal);
  } catch (error) {
    // Closing the unread source also removes the helper container behind it.
    source.destroy();
    throw error;
  }
  try {
    return await streamInto(context, key, artifactId, kind, source);
  } finally {
    await release();
  }
}

async function streamInto(context: JobContext, key: string, artifactId: string, kind: ArtifactKind, source: Readable): Promise<UploadedArtifact> {
  const digest = new DigestStream((bytes) => context.progress.bytes(artifactId, bytes));
  const tap = new FirstBlockTap();
  const log = context.log.child({ artifactId, key });
  log.info({ kind }, "artifact upload started");

  const stored = context.store.put(key, digest, { contentType: "application/x-tar", signal: context.signal });
  // A failed upload stops reading the source, and a failed source fails the
  // upload (the store aborts it), so neither side is left waiting.
  stored.catch((error: Error) => digest.destroy(error));
  const [streamed, put] = await Promise.allSettled([pipeline(source, tap, digest, { signal: context.signal }), stored]);
  if (streamed.status === "rejected") {
    throw streamed.reason;
  }
  if (put.status === "rejected") {
    throw put.reason;
  }

  context.progress.done(artifactId, digest.bytes);
  log.info({ bytes: digest.bytes, sha256: digest.sha256 }, "artifact upload finished");
  return { artifact: { id: artifactId, kind, key, size: digest.bytes, sha256: digest.sha256 }, firstBlock: tap.block };
}
