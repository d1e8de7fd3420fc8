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
 * Resolves the requested containers (all of them when `selection` is
 * undefined) and collects the volumes, bind mounts and networks they use.
 * Unknown names fail the job, naming each one.
 */
export async function discoverScope(docker: DockerPort, hostId: string, selection: string[] | undefined): Promise<BackupScope> {
  const references = selection ?? (await docker.listContainers()).map((container) => container.id);
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
  return { containers, volumes, bindSources: [...bindSources].sort(), networks: [...networks].sort() };
}

/**
 * Docker 23 and later label anonymous volumes; older engines name them with
 * 64 hex digits and nothing else does by default.
 */
export function isAnonymousVolume(mount: MountDetails, labels: Record<string, string>): boolean {
  return labels[ANONYMOUS_LABEL] !== undefined || /^[0-9a-f]{64}$/.test(mount.name ?? "");
}
