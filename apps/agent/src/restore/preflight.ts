import type { Manifest } from "@cargohold/storage-layout";
import { lstat, readdir } from "node:fs/promises";
import path from "node:path";
import type { DockerPort } from "../docker/docker-port.js";

/**
 * Lists everything on the target that a restore would replace. The restore
 * runs only when this list is empty, so it never overwrites a container,
 * volume, host path or image tag that exists.
 */
export async function findConflicts(docker: DockerPort, manifest: Manifest, bindTargets: Map<string, string>, hostRoot: string): Promise<string[]> {
  const conflicts: string[] = [];

  for (const container of manifest.containers) {
    if ((await docker.inspectContainer(container.name)) !== undefined) {
      conflicts.push(`container ${container.name} already exists: remove or rename it (docker rename) first`);
    }
  }
  for (const volume of manifest.volumes) {
    if (!volume.anonymous && (await docker.inspectVolume(volume.name)) !== undefined) {
      conflicts.push(`volume ${volume.name} already exists: remove it (docker volume rm) or restore onto another host`);
    }
  }
  for (const [source, target] of bindTargets) {
    if (!(await isAbsentOrEmptyFolder(path.join(hostRoot, target)))) {
      const hint = source === target ? "move it away, or restore with bindPathPrefix" : "move it away or pick another bindPathPrefix";
      conflicts.push(`bind path ${target} already exists and is not an empty folder: ${hint}`);
    }
  }
  for (const image of manifest.images) {
    for (const tag of image.tags) {
      const existing = await docker.inspectImage(tag);
      if (existing !== undefined && existing.id !== image.id) {
        conflicts.push(`image tag ${tag} already names another image (${existing.id}): retag or remove it first`);
      }
    }
  }
  for (const container of manifest.containers) {
    if (container.exportArtifactId !== undefined && (await docker.inspectImage(container.restoreImage)) !== undefined) {
      conflicts.push(`image ${container.restoreImage} already exists: remove it first (docker image rm)`);
    }
  }
  return conflicts;
}

async function isAbsentOrEmptyFolder(target: string): Promise<boolean> {
  try {
    const info = await lstat(target);
    return info.isDirectory() && (await readdir(target)).length === 0;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") {
      return true;
    }
    throw error;
  }
}
