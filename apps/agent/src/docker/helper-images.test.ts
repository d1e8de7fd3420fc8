import { describe, expect, it } from "vitest";
import { pack } from "tar-stream";
import { parseRootHeader, rootTag } from "./helper-images.js";

async function firstHeader(name: string, type: "directory" | "file", mode: number, uid: number, gid: number): Promise<Buffer> {
  const archive = pack();
  archive.entry({ name, type, mode, uid, gid, size: 0 });
  archive.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of archive) {
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).subarray(0, 512);
}

describe("parseRootHeader", () => {
  it("reads owner and mode of the root entry", async () => {
    expect(parseRootHeader(await firstHeader("./", "directory", 0o711, 999, 998))).toEqual({ mode: 0o711, uid: 999, gid: 998 });
  });

  it("ignores an archive that starts elsewhere", async () => {
    expect(parseRootHeader(await firstHeader("data/", "directory", 0o755, 0, 0))).toBeUndefined();
  });

  it("ignores a short block", () => {
    expect(parseRootHeader(Buffer.alloc(100))).toBeUndefined();
  });
});

describe("rootTag", () => {
  it("names owner and octal mode", () => {
    expect(rootTag({ mode: 0o2775, uid: 999, gid: 100 })).toBe("root-999-100-2775");
  });
});
