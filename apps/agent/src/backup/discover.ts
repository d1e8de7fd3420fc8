import type { ContainerDetails, DockerPort, MountDetails } from "../docker/docker-port.js";
import { PermanentJobError } from "../job-context.js";

/** Networks every engine has or that cannot be recreated; containers keep their mode but nothing is backed up for them. */
export const BUILT_IN_NETWORKS = new Set(["none", "host", "bridge", "default"]);

const ANONYMOUS_LABEL = "com.docker.volume.anonymous";

export interface BackupScope {
  containers: ContainerDetails[];
  /** Volume name to whether it is anonymous. */
  volumes: Map<string, { anonymous: boolean }>;
  /** Host paths of bind mounts. */
  bindSources: string[];
  networks: string[];
}

/**
 * Resolves the selected containers and collects the volumes, bind mounts and
 * networks they use, plus the selected standalone volumes. A selection with no
 * containers and no volumes means every container. Unknown names fail the
 * job, naming each one.
 */
export interface ScopeSelection {
  containers?: string[];
  containerLabels?: Record<string, string>;
  volumes?: string[];
  volumeLabels?: Record<string, string>;
}

export async function discoverScope(docker: DockerPort, hostId: string, selection: ScopeSelection): Promise<BackupScope> {
  const byName = selection.containers ?? [];
  const byLabel = selection.containerLabels ? (await docker.listContainers(selection.containerLabels)).map((container) => container.id) : [];
  const nothingNamed = selection.containers === undefined && selection.containerLabels === undefined;
  const onlyVolumes = nothingNamed && (selection.volumes !== undefined || selection.volumeLabels !== undefined);
  let references = [...byName, ...byLabel];
  if (nothingNamed && !onlyVolumes) {
    references = (await docker.listContainers()).map((container) => container.id);
  }
  const containers: ContainerDetails[] = [];
  const unknown: string[] = [];
  for (const reference of references) {
    const details = await docker.inspectContainer(reference);
    if (details === undefined) {
      unknown.push(reference);
    } else if (!containers.some((known) => known.id === details.id)) {
      containers.push(details);
    }
  }
  if (unknown.length > 0) {
    const quoted = unknown.map((name) => JSON.stringify(name)).join(", ");
    throw new PermanentJobError(`container ${quoted} not found on host ${hostId}: check the names with docker ps -a on that host`);
  }

  const volumes = new Map<string, { anonymous: boolean }>();
  const bindSources = new Set<string>();
  const networks = new Set<string>();
  for (const container of containers) {
    for (const mount of container.mounts) {
      if (mount.type === "volume" && mount.name) {
        const volume = await docker.inspectVolume(mount.name);
        const anonymous = isAnonymousVolume(mount, volume?.labels ?? {});
        volumes.set(mount.name, { anonymous: (volumes.get(mount.name)?.anonymous ?? true) && anonymous });
      } else if (mount.type === "bind") {
        bindSources.add(mount.source);
      }
    }
    for (const network of Object.keys(container.networks)) {
      if (!BUILT_IN_NETWORKS.has(network)) {
        networks.add(network);
      }
    }
  }
  const standalone = [...(selection.volumes ?? [])];
  if (selection.volumeLabels) {
    standalone.push(...(await docker.listVolumes(selection.volumeLabels)).map((volume) => volume.name));
  }
  const unknownVolumes: string[] = [];
  for (const name of standalone) {
    const volume = await docker.inspectVolume(name);
    if (volume === undefined) {
      unknownVolumes.push(name);
    } else if (!volumes.has(name)) {
      volumes.set(name, { anonymous: isAnonymousVolume({ type: "volume", name, source: "", destination: "", readOnly: false }, volume.labels) });
    }
  }
  if (unknownVolumes.length > 0) {
    throw new PermanentJobError(`volume ${unknownVolumes.map((name) => JSON.stringify(name)).join(", ")} not found on host ${hostId}: check the names with docker volume ls on that host`);
  }
  if (containers.length === 0 && volumes.size === 0) {
    // An empty backup would count as complete and let retention prune the real ones.
    throw new PermanentJobError(`the selection ${JSON.stringify(selection)} matched no container or volume on host ${hostId}: check the names and labels with docker ps -a and docker volume ls`);
  }
  return { containers, volumes, bindSources: [...bindSources].sort(), networks: [...networks].sort() };
}

/**
 * Docker 23 and later label anonymous volumes; older engines name them with
 * 64 hex digits and nothing else does by default.
 */
export function isAnonymousVolume(mount: MountDetails, labels: Record<string, string>): boolean {
  return labels[ANONYMOUS_LABEL] !== undefined || /^[0-9a-f]{64}$/.test(mount.name ?? "");
}
