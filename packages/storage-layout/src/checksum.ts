import { createHash, type Hash } from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";

/**
 * A pass-through stream that counts bytes and computes their sha256 on the way,
 * so an archive is hashed while it streams and never needs a second read.
 */
export class DigestStream extends Transform {
  #hash: Hash = createHash("sha256");
  #bytes = 0;
  #digest: string | undefined;

  constructor(private readonly onBytes?: (bytes: number) => void) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#hash.update(chunk);
    this.#bytes += chunk.length;
    this.onBytes?.(this.#bytes);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    this.#digest = this.#hash.digest("hex");
    callback();
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** The hex sha256 of every byte that passed; throws if the stream has not ended. */
  get sha256(): string {
    if (this.#digest === undefined) {
      throw new Error("sha256 read before the stream ended");
    }
    return this.#digest;
  }
}

export function sha256Hex(data: string | Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}
