import type { Readable } from "node:stream";

/** Reads a small object body, such as a manifest, into memory; `limitBytes` guards against a huge object. */
export async function readAll(stream: Readable, limitBytes = 64 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    total += buffer.length;
    if (total > limitBytes) {
      stream.destroy();
      throw new Error(`object is larger than ${limitBytes} bytes, the limit for reading it into memory`);
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}
