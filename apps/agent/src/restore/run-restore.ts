import type { RestorePayload, RestoreResult } from "@cargohold/job-catalog";
import { ObjectNotFoundError, readAll } from "@cargohold/object-store";
import { type Artifact, type Manifest, parseManifest } from "@cargohold/storage-layout";
import path from "node:path";
import { startOrder } from "../dependencies.js";
import { type JobContext, PermanentJobError } from "../job-context.js";
import { buildContainerSpec } from "./container-spec.js";
import { applyArtifact } from "./download-artifact.js";
import { findConflicts } from "./preflight.js";

/** Resources a restore created, so a failure can remove them again. */
interface Created {
  containers: { name: string; id: string }[];
  volumes: string[];
  networks: string[];
}

/**
 * Restores a backup onto this host: images, volumes, bind paths, then the
 * containers, started dependencies first. Nothing that exists is replaced:
 * conflicts stop the restore before it changes anything, and a failure
 * later removes the containers, volumes and networks it created.
 */
export async function runRestore(context: JobContext, payload: RestorePayload): Promise<RestoreResult> {
  const { docker, progress } = context;

  progress.phase("manifest");
  const manifest = await readManifest(context, payload.backupId);
  if (manifest.status !== "complete") {
    context.log.warn({ backupId: manifest.backupId, problems: manifest.problems }, "restoring a partial backup: the listed data is missing from it");
  }
  const artifacts = new Map(manifest.artifacts.map((artifact) => [artifact.id, artifact]));
  const artifactOf = (id: string): Artifact => {
    const artifact = artifacts.get(id);
    if (artifact === undefined) {
      throw new PermanentJobError(`manifest of backup ${manifest.backupId} names artifact ${id} but does not list it`);
    }
    return artifact;
  };
  const bindTargets = new Map(manifest.binds.map((bind) => [bind.source, payload.bindPathPrefix ? path.posix.join(payload.bindPathPrefix, bind.source) : bind.source]));

  progress.phase("preflight");
  const conflicts = await findConflicts(docker, manifest, bindTargets, context.hostRoot);
  if (conflicts.length > 0) {
    throw new PermanentJobError(`restore of backup ${manifest.backupId} onto host ${context.hostId} stopped before any change: ${conflicts.join("; ")}`);
  }

  const created: Created = { containers: [], volumes: [], networks: [] };
  try {
    return await applyBackup(context, payload, manifest, artifactOf, bindTargets, created);
  } catch (error) {
    const cleanupErrors = await undo(context, created);
    throw cleanupErrors.length === 0 ? error : new AggregateError([error, ...cleanupErrors], `${(error as Error).message} (and the cleanup failed too)`);
  }
}

async function applyBackup(
  context: JobContext,
  payload: RestorePayload,
  manifest: Manifest,
  artifactOf: (id: string) => Artifact,
  bindTargets: Map<string, string>,
  created: Created,
): Promise<RestoreResult> {
  const { docker, progress, log } = context;

  progress.phase("networks");
  for (const network of manifest.networks) {
    if ((await docker.inspectNetwork(network.name)) !== undefined) {
      log.info({ network: network.name }, "network exists on the target; the restored containers join it");
      continue;
    }
    await docker.createNetwork(network);
    created.networks.push(network.name);
  }

  progress.phase("volumes");
  const volumeMapping: Record<string, string> = {};
  for (const volume of manifest.volumes) {
    const name = await docker.createVolume({
      name: volume.anonymous ? undefined : volume.name,
      driver: volume.driver,
      driverOptions: volume.driverOptions,
      labels: volume.labels,
    });
    created.volumes.push(name);
    volumeMapping[volume.name] = name;
    await applyArtifact(context, artifactOf(volume.artifactId), (stream) => docker.writeVolume(name, stream, volume.root, context.signal));
    log.info({ volume: volume.name, restoredAs: name }, "volume restored");
  }

  progress.phase("binds");
  const bindMapping: Record<string, string> = {};
  for (const bind of manifest.binds) {
    const target = bindTargets.get(bind.source) ?? bind.source;
    // NOTE: a failed restore leaves the host paths it wrote; only containers, volumes and networks are removed.
    await applyArtifact(context, artifactOf(bind.artifactId), (stream) => docker.writeHostPath(target, stream, context.signal));
    bindMapping[bind.source] = target;
    log.info({ bind: bind.source, restoredAs: target }, "bind path restored");
  }

  progress.phase("images");
  if (manifest.imagesArtifactId !== undefined) {
    await applyArtifact(context, artifactOf(manifest.imagesArtifactId), (stream) => docker.loadImages(stream, context.signal));
  }
  for (const container of manifest.containers) {
    if (container.exportArtifactId === undefined) {
      continue;
    }
    const [repository = "", tag = "latest"] = splitReference(container.restoreImage);
    const changes = importChanges(container.exportImageConfig ?? {});
    await applyArtifact(context, artifactOf(container.exportArtifactId), async (stream) => {
      await docker.importImage(stream, repository, tag, changes, context.signal);
    });
  }

  progress.phase("containers");
  const dependsOn = new Map(manifest.containers.map((container) => [container.name, container.dependsOn]));
  const { order, cycle } = startOrder(
    manifest.containers.map((container) => container.name),
    dependsOn,
  );
  if (cycle.length > 0) {
    log.warn({ containers: cycle }, "containers depend on each other in a cycle; they start in name order");
  }
  const containerNames = new Map(manifest.containers.map((container) => [container.id, container.name]));
  const mappings = { volumes: new Map(Object.entries(volumeMapping)), binds: new Map(Object.entries(bindMapping)), containerNames };
  const results: RestoreResult["containers"] = [];
  for (const name of order) {
    const record = manifest.containers.find((container) => container.name === name)!;
    const { spec, extraNetworks } = buildContainerSpec(record, mappings);
    const id = await docker.createContainer(spec);
    created.containers.push({ name, id });
    for (const [network, endpoint] of extraNetworks) {
      await docker.connectNetwork(network, id, endpoint);
    }
    results.push({ name, id, started: false });
  }

  if (payload.start) {
    progress.phase("start");
    for (const result of results) {
      const record = manifest.containers.find((container) => container.name === result.name)!;
      if (!record.running) {
        continue;
      }
      await docker.startContainer(result.id);
      result.started = true;
      log.info({ container: result.name }, "container started");
    }
  }

  await progress.settle();
  return { restoreId: payload.restoreId, backupId: manifest.backupId, volumeMapping, bindMapping, containers: results };
}

async function readManifest(context: JobContext, backupId: string): Promise<Manifest> {
  const key = context.keys.manifestKey(backupId);
  try {
    const text = (await readAll(await context.store.get(key, { signal: context.signal }))).toString("utf8");
    return parseManifest(text, key);
  } catch (error) {
    if (error instanceof ObjectNotFoundError) {
      throw new PermanentJobError(`backup ${backupId} not found or incomplete: no manifest at ${key} in ${context.store.location}; list backups with GET /v1/backups`);
    }
    throw error;
  }
}

/** Removes what a failed restore created, newest first, and returns the errors instead of hiding them. */
async function undo(context: JobContext, created: Created): Promise<Error[]> {
  const errors: Error[] = [];
  const attempt = async (what: string, action: () => Promise<void>) => {
    try {
      await action();
      context.log.info({ removed: what }, "removed after the failed restore");
    } catch (error) {
      context.log.error({ err: error, resource: what }, "cleanup after the failed restore failed; remove it by hand");
      errors.push(new Error(`remove ${what} failed: ${(error as Error).message}`, { cause: error }));
    }
  };
  for (const container of created.containers.reverse()) {
    await attempt(`container ${container.name}`, () => context.docker.removeContainer(container.id));
  }
  for (const volume of created.volumes.reverse()) {
    await attempt(`volume ${volume}`, () => context.docker.removeVolume(volume));
  }
  for (const network of created.networks.reverse()) {
    await attempt(`network ${network}`, () => context.docker.removeNetwork(network));
  }
  return errors;
}

/** Splits "repo/name:tag" at the tag's colon, which comes after the last slash. */
function splitReference(reference: string): [string, string] {
  const slash = reference.lastIndexOf("/");
  const colon = reference.lastIndexOf(":");
  return colon > slash ? [reference.slice(0, colon), reference.slice(colon + 1)] : [reference, "latest"];
}

/** Dockerfile lines that give an imported flat filesystem its image config back. */
export function importChanges(config: NonNullable<Manifest["containers"][number]["exportImageConfig"]>): string[] {
  const changes: string[] = [];
  if (config.Entrypoint) changes.push(`ENTRYPOINT ${JSON.stringify(config.Entrypoint)}`);
  if (config.Cmd) changes.push(`CMD ${JSON.stringify(config.Cmd)}`);
  for (const variable of config.Env ?? []) {
    const equals = variable.indexOf("=");
    if (equals > 0) changes.push(`ENV ${variable.slice(0, equals)}=${JSON.stringify(variable.slice(equals + 1))}`);
  }
  if (config.WorkingDir) changes.push(`WORKDIR ${config.WorkingDir}`);
  if (config.User) changes.push(`USER ${config.User}`);
  for (const port of Object.keys(config.ExposedPorts ?? {})) changes.push(`EXPOSE ${port}`);
  const volumes = Object.keys(config.Volumes ?? {});
  if (volumes.length > 0) changes.push(`VOLUME ${JSON.stringify(volumes)}`);
  if (config.StopSignal) changes.push(`STOPSIGNAL ${config.StopSignal}`);
  for (const [name, value] of Object.entries(config.Labels ?? {})) changes.push(`LABEL ${JSON.stringify(name)}=${JSON.stringify(value)}`);
  const healthcheck = healthcheckChange(config.Healthcheck);
  if (healthcheck) changes.push(healthcheck);
  return changes;
}

function healthcheckChange(healthcheck: Record<string, unknown> | null | undefined): string | undefined {
  const test = healthcheck?.Test;
  if (!Array.isArray(test) || test.length === 0) {
    return undefined;
  }
  if (test[0] === "NONE") {
    return "HEALTHCHECK NONE";
  }
  const options: string[] = [];
  const duration = (field: string, flag: string) => {
    const nanoseconds = healthcheck?.[field];
    if (typeof nanoseconds === "number" && nanoseconds > 0) options.push(`--${flag}=${nanoseconds / 1e6}ms`);
  };
  duration("Interval", "interval");
  duration("Timeout", "timeout");
  duration("StartPeriod", "start-period");
  if (typeof healthcheck?.Retries === "number" && healthcheck.Retries > 0) options.push(`--retries=${healthcheck.Retries}`);
  const command = test[0] === "CMD-SHELL" ? String(test[1] ?? "") : JSON.stringify(test.slice(1));
  return `HEALTHCHECK ${[...options, "CMD", command].join(" ")}`;
}
