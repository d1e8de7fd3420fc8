import { pack } from "tar-stream";
import { Readable } from "node:stream";
import type { PathAttributes } from "./docker-port.js";

/**
 * Helper containers give the engine's archive API a place to mount a volume
 * or host folder. They are created, used for one archive call and removed,
 * and never started, so their image needs no files: only the mount points.
 */
export const HELPER_REPOSITORY = "cargohold-helper";
export const HELPER_LABEL = "org.cargohold.helper";
export const VOLUME_MOUNT_POINT = "/mnt/volume";
export const HOST_MOUNT_POINT = "/mnt/host";
/** The command of a helper container; Docker requires one, but it never runs. */
export const HELPER_COMMAND = ["/cargohold-helper-never-runs"];

export const READER_TAG = "reader-v1";

/**
 * Returns the tag of the image whose /mnt/volume folder carries `root`. When Docker
 * mounts an empty volume over a folder of the image, it copies that folder's
 * owner and mode to the volume root, which an archive upload cannot change.
 */
export function rootTag(root: PathAttributes): string {
  return `root-${root.uid}-${root.gid}-${root.mode.toString(8)}`;
}

/** Builds a tar with just the mount-point folders, for `docker import`. */
export function helperRootfs(volumeRoot: PathAttributes = { mode: 0o755, uid: 0, gid: 0 }): Readable {
  const archive = pack();
  const folder = (name: string, attributes: PathAttributes) =>
    archive.entry({ name, type: "directory", mode: attributes.mode, uid: attributes.uid, gid: attributes.gid, mtime: new Date(0) });
  folder("mnt/", { mode: 0o755, uid: 0, gid: 0 });
  folder("mnt/volume/", volumeRoot);
  folder("mnt/host/", { mode: 0o755, uid: 0, gid: 0 });
  archive.finalize();
  return Readable.from(archive);
}

/** Reads owner and mode from the first tar header, which for a volume archive is its root "./". */
export function parseRootHeader(header: Buffer): PathAttributes | undefined {
  if (header.length < 512) {
    return undefined;
  }
  const field = (offset: number, length: number) => {
    const text = header.subarray(offset, offset + length).toString("ascii").replace(/\0.*$/s, "").trim();
    return text === "" ? Number.NaN : Number.parseInt(text, 8);
  };
  const name = header.subarray(0, 100).toString("utf8").replace(/\0.*$/s, "");
  const mode = field(100, 8);
  const uid = field(108, 8);
  const gid = field(116, 8);
  if (name !== "./" || [mode, uid, gid].some(Number.isNaN)) {
    return undefined;
  }
  return { mode: mode & 0o7777, uid, gid };
}
