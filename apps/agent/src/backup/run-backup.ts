import type { BackupPayload, BackupResult } from "@cargohold/job-catalog";
import { ObjectStoreError } from "@cargohold/object-store";
import {
  type Artifact,
  type BindRecord,
  type ContainerRecord,
  type Manifest,
  MANIFEST_FORMAT,
  MANIFEST_SCHEMA_VERSION,
  type NetworkRecord,
  type Problem,
  type VolumeRecord,
  serializeManifest,
} from "@cargohold/storage-layout";
import { findDependencies, startOrder } from "../dependencies.js";
import { parseRootHeader } from "../docker/helper-images.js";
import { type JobContext, PermanentJobError } from "../job-context.js";
import { discoverScope, isAnonymousVolume } from "./discover.js";
import { type ContainerImagePlan, commitChangedContainers, exportContainers, saveImages } from "./images.js";
import { pruneBackups } from "./prune.js";
import { quiesceContainers } from "./quiesce.js";
import { uploadArtifact } from "./upload-artifact.js";

/** A backup that wrote its manifest but could not read everything. The job fails with this error. */
export class PartialBackupError extends PermanentJobError {
  constructor(
    readonly backupId: string,
    readonly problems: Problem[],
  ) {
    super(`backup ${backupId} is partial: ${problems.map((problem) => `${problem.subject}: ${problem.message}`).join("; ")}`);
  }
}

/**
 * Backs up the selected containers of this host: their volumes, bind mounts,
 * images and configuration. The manifest goes last; it is the commit point.
 */
export async function runBackup(context: JobContext, payload: BackupPayload): Promise<BackupResult> {
  const { backupId } = payload;
  const { docker, progress } = context;
  const startedAt = new Date().toISOString();
  const problems: Problem[] = [];
  const artifacts: Artifact[] = [];

  const manifestKey = context.keys.manifestKey(backupId);
  if ((await context.store.head(manifestKey, { signal: context.signal })) !== undefined) {
    throw new PermanentJobError(`backup ${backupId} already has a manifest at ${manifestKey}; start a new backup instead of repeating this one`);
  }

  // A retried job reuses its backup id; uploads of a killed earlier attempt are discarded.
  const stale = await context.store.abortIncompleteUploads(context.keys.backupPrefix(backupId), { signal: context.signal });
  if (stale > 0) {
    context.log.warn({ uploads: stale }, "discarded unfinished uploads of an interrupted attempt");
  }

  progress.phase("discover");
  const engine = await docker.engineInfo();
  const scope = await discoverScope(docker, context.hostId, payload);
  const dependsOn = findDependencies(scope.containers);
  const order = startOrder(
    scope.containers.map((container) => container.name),
    dependsOn,
  ).order;
  const containersInOrder = order.map((name) => scope.containers.find((container) => container.name === name)!);
  context.log.info({ containers: order, volumes: [...scope.volumes.keys()], binds: scope.bindSources }, "backup scope resolved");

  // Data is read while the containers are quiesced; they resume before the slower image work.
  progress.phase("quiesce");
  const resume = await quiesceContainers(context, containersInOrder, payload.consistency);
  let volumes: VolumeRecord[];
  let binds: BindRecord[];
  try {
    progress.phase("volumes");
    volumes = await archiveVolumes(context, backupId, scope.volumes, artifacts, problems);
    progress.phase("binds");
    binds = await archiveBinds(context, backupId, scope.bindSources, artifacts, problems);
  } finally {
    progress.phase("resume");
    const resumeErrors = await resume();
    for (const error of resumeErrors) {
      problems.push({ subject: "consistency", message: error.message });
    }
  }

  progress.phase("images");
  const committed = payload.commit ? await commitChangedContainers(context, backupId, containersInOrder) : new Map();
  let plans: Map<string, ContainerImagePlan>;
  let images: Manifest["images"] = [];
  let imagesArtifactId: string | undefined;
  if (payload.imageMode === "save") {
    const saved = await saveImages(context, backupId, containersInOrder, committed);
    plans = saved.plans;
    images = saved.images;
    imagesArtifactId = saved.artifact.id;
    artifacts.push(saved.artifact);
  } else {
    const exported = await exportContainers(context, backupId, containersInOrder);
    plans = exported.plans;
    artifacts.push(...exported.artifacts);
  }

  const networks: NetworkRecord[] = [];
  for (const name of scope.networks) {
    const network = await docker.inspectNetwork(name);
    if (network === undefined) {
      problems.push({ subject: `network ${name}`, message: "network not found while backing up its settings" });
    } else {
      networks.push(network);
    }
  }

  const containers: ContainerRecord[] = containersInOrder.map((container) => {
    const plan = plans.get(container.name);
    if (plan === undefined) {
      throw new Error(`no image plan for container ${container.name}`);
    }
    return {
      id: container.id,
      name: container.name,
      running: container.running,
      image: container.image,
      imageId: container.imageId,
      ...plan,
      mounts: container.mounts
        .filter((mount) => mount.type === "volume" || mount.type === "bind")
        .map((mount) => ({
          type: mount.type as "volume" | "bind",
          source: mount.type === "volume" ? (mount.name ?? "") : mount.source,
          destination: mount.destination,
          readOnly: mount.readOnly,
          anonymous: mount.type === "volume" && (scope.volumes.get(mount.name ?? "")?.anonymous ?? isAnonymousVolume(mount, {})),
        })),
      dependsOn: dependsOn.get(container.name) ?? [],
      inspect: container.raw,
    };
  });

  progress.phase("manifest");
  const manifest: Manifest = {
    format: MANIFEST_FORMAT,
    schemaVersion: MANIFEST_SCHEMA_VERSION,
    backupId,
    hostId: context.hostId,
    jobId: context.jobId,
    startedAt,
    completedAt: new Date().toISOString(),
    status: problems.length === 0 ? "complete" : "partial",
    problems,
    engine,
    options: { imageMode: payload.imageMode, commit: payload.commit, consistency: payload.consistency },
    series: payload.series,
    containers,
    volumes,
    binds,
    images,
    imagesArtifactId,
    networks,
    artifacts,
  };
  await context.store.put(manifestKey, Buffer.from(serializeManifest(manifest)), { contentType: "application/json", signal: context.signal });
  await progress.settle();
  context.log.info({ manifestKey, status: manifest.status, artifacts: artifacts.length }, "backup manifest written");

  if (manifest.status === "partial") {
    throw new PartialBackupError(backupId, problems);
  }

  // The backup is complete whatever retention does next, so a failed prune is reported, not raised.
  let pruned: string[] = [];
  let pruneError: string | undefined;
  if (payload.retention !== undefined && payload.series !== undefined) {
    progress.phase("prune");
    try {
      pruned = await pruneBackups(context, payload.series, payload.retention, payload.timezone ?? "UTC");
    } catch (error) {
      if (context.signal.aborted) {
        throw error;
      }
      pruneError = (error as Error).message;
      context.log.error({ err: error, series: payload.series }, "retention failed after a complete backup; older backups were kept");
    }
  }
  return {
    pruned,
    pruneError,
    backupId,
    manifestKey,
    status: manifest.status,
    artifactCount: artifacts.length,
    totalBytes: artifacts.reduce((sum, artifact) => sum + artifact.size, 0),
  };
}

async function archiveVolumes(
  context: JobContext,
  backupId: string,
  volumes: Map<string, { anonymous: boolean }>,
  artifacts: Artifact[],
  problems: Problem[],
): Promise<VolumeRecord[]> {
  const records: VolumeRecord[] = [];
  let index = 0;
  for (const [name, { anonymous }] of volumes) {
    const artifactId = `volume-${String(++index).padStart(3, "0")}`;
    try {
      const details = await context.docker.inspectVolume(name);
      if (details === undefined) {
        throw new Error("volume not found");
      }
      const archive = await context.docker.readVolume(name, context.signal);
      const { artifact, firstBlock } = await uploadArtifact(context, backupId, artifactId, "volume", archive);
      const root = parseRootHeader(firstBlock);
      if (root === undefined) {
        throw new Error('the archive does not start with the volume root "./"');
      }
      artifacts.push(artifact);
      records.push({ name, anonymous, driver: details.driver, driverOptions: details.options, labels: details.labels, root, artifactId });
    } catch (error) {
      recordReadFailure(context, error, `volume ${name}`, problems);
    }
  }
  return records;
}

async function archiveBinds(context: JobContext, backupId: string, sources: string[], artifacts: Artifact[], problems: Problem[]): Promise<BindRecord[]> {
  const records: BindRecord[] = [];
  let index = 0;
  for (const source of sources) {
    const artifactId = `bind-${String(++index).padStart(3, "0")}`;
    try {
      if (source === "/") {
        throw new Error("the host root folder cannot be archived as a bind mount");
      }
      const archive = await context.docker.readHostPath(source, context.signal);
      const { artifact, firstBlock } = await uploadArtifact(context, backupId, artifactId, "bind", archive);
      // Tar type flag "5" marks a folder; a bound file archives as a single regular entry.
      const type = firstBlock.length >= 512 && firstBlock[156] === 0x35 ? "directory" : "file";
      artifacts.push(artifact);
      records.push({ source, type, artifactId });
    } catch (error) {
      recordReadFailure(context, error, `bind ${source}`, problems);
    }
  }
  return records;
}

/**
 * Records a failure confined to one volume or path, so the backup goes on and
 * is marked partial. Store and cancellation errors stop the whole backup, so
 * they are raised again.
 */
function recordReadFailure(context: JobContext, error: unknown, subject: string, problems: Problem[]): void {
  if (error instanceof ObjectStoreError || context.signal.aborted) {
    throw error;
  }
  context.log.error({ err: error, subject }, `${subject} could not be read; the backup will be partial`);
  problems.push({ subject, message: (error as Error).message });
}
