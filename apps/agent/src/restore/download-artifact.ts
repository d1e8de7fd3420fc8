import { type Artifact, DigestStream } from "@cargohold/storage-layout";
import type { Readable } from "node:stream";
import { finished } from "node:stream/promises";
import type { JobContext } from "../job-context.js";
import { PermanentJobError } from "../job-context.js";

/**
 * Streams an artifact from the store into `consume`, checking its size and
 * sha256 against the manifest. A mismatch is found only at the end, after
 * the data went to the engine, so callers undo what they applied.
 */
export async function applyArtifact(context: JobContext, artifact: Artifact, consume: (stream: Readable) => Promise<void>): Promise<void> {
  const source = await context.store.get(artifact.key, { signal: context.signal });
  const digest = new DigestStream((bytes) => context.progress.bytes(artifact.id, bytes));
  source.once("error", (error) => digest.destroy(error));
  source.pipe(digest);
  try {
    await consume(digest);
    await drainRest(digest, artifact.id);
  } finally {
    source.destroy();
  }
  if (digest.bytes !== artifact.size || digest.sha256 !== artifact.sha256) {
    throw new PermanentJobError(
      `artifact ${artifact.key} is corrupt: expected ${artifact.size} bytes with sha256 ${artifact.sha256}, read ${digest.bytes} bytes with sha256 ${digest.sha256}`,
    );
  }
  context.progress.done(artifact.id, digest.bytes);
}

const DRAIN_TIMEOUT_MS = 60_000;

/**
 * Reads what the engine left unread, such as the zero padding after a tar's
 * last entry, so the checksum covers every byte of the artifact.
 */
async function drainRest(digest: DigestStream, artifactId: string): Promise<void> {
  if (digest.writableFinished) {
    return;
  }
  digest.on("data", () => undefined);
  digest.resume();
  const timeout = AbortSignal.timeout(DRAIN_TIMEOUT_MS);
  try {
    await finished(digest, { readable: false, signal: timeout });
  } catch (error) {
    if (timeout.aborted) {
      throw new Error(`reading the rest of artifact ${artifactId} timed out after ${DRAIN_TIMEOUT_MS / 1000} s`, { cause: error });
    }
    throw error;
  }
}
