import { MANIFEST_FORMAT, MANIFEST_SCHEMA_VERSION, type Manifest } from "./manifest.js";
import { parseBackupId } from "./ids.js";

/** Builds a valid, empty manifest for tests; `changes` override any field. */
export function exampleManifest(backupId: string, changes: Partial<Manifest> = {}): Manifest {
  const { hostId, startedAt } = parseBackupId(backupId);
  return {
    format: MANIFEST_FORMAT,
    schemaVersion: MANIFEST_SCHEMA_VERSION,
    backupId,
    hostId,
    jobId: `${hostId}.backup.${backupId.split(".").slice(1).join(".")}`,
    startedAt: startedAt.toISOString(),
    completedAt: startedAt.toISOString(),
    status: "complete",
    problems: [],
    engine: { version: "20.10.24", apiVersion: "1.41", os: "linux", architecture: "amd64" },
    options: { imageMode: "save", commit: false, consistency: "pause" },
    containers: [],
    volumes: [],
    binds: [],
    images: [],
    networks: [],
    artifacts: [],
    ...changes,
  };
}
