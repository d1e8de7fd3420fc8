import type { ContainerRecord } from "@cargohold/storage-layout";
import path from "node:path";
import type { ContainerSpec } from "../docker/docker-port.js";
import { BUILT_IN_NETWORKS } from "../backup/discover.js";

export interface SpecMappings {
  /** Source volume name to target volume name. */
  volumes: Map<string, string>;
  /** Source bind path to target bind path. */
  binds: Map<string, string>;
  /** Source container id to restored container name, for references by id. */
  containerNames: Map<string, string>;
}

/** Endpoint fields that the engine assigns; sending them back would pin stale addresses and ids. */
const ASSIGNED_ENDPOINT_FIELDS = ["NetworkID", "EndpointID", "Gateway", "IPAddress", "IPPrefixLen", "IPv6Gateway", "GlobalIPv6Address", "GlobalIPv6PrefixLen", "MacAddress", "DriverOpts"];

/**
 * Builds the create request for a restored container from its recorded
 * `docker inspect` output: same configuration and name, with volume names,
 * bind paths and container references mapped to what exists on the target.
 * The first user-defined network goes into the create request; the rest are
 * returned for `docker network connect`, since older engines accept only one.
 */
export function buildContainerSpec(record: ContainerRecord, mappings: SpecMappings): { spec: ContainerSpec; extraNetworks: [string, Record<string, unknown>][] } {
  const inspect = record.inspect as { Config?: Record<string, unknown>; HostConfig?: Record<string, unknown>; NetworkSettings?: { Networks?: Record<string, Record<string, unknown>> } };
  const config: Record<string, unknown> = { ...(inspect.Config ?? {}), Image: record.restoreImage };
  const hostConfig: Record<string, unknown> = { ...(inspect.HostConfig ?? {}) };
  const mapBind = (source: string) => mappings.binds.get(source) ?? source;
  const mapVolume = (name: string) => mappings.volumes.get(name) ?? name;
  const mapContainer = (reference: string) => mappings.containerNames.get(reference) ?? reference;

  hostConfig.Binds = stringArray(hostConfig.Binds).map((bind) => {
    const [source = "", ...rest] = bind.split(":");
    const target = source.startsWith("/") ? mapBind(source) : mapVolume(source);
    return [target, ...rest].join(":");
  });

  const mounts = (Array.isArray(hostConfig.Mounts) ? hostConfig.Mounts : []).map((mount: Record<string, unknown>) => ({ ...mount }));
  const coveredTargets = new Set<string>([
    ...stringArray(hostConfig.Binds).map((bind) => bind.split(":")[1] ?? ""),
    ...mounts.map((mount) => String(mount.Target)),
  ]);
  for (const mount of mounts) {
    if (mount.Type === "bind" && typeof mount.Source === "string") {
      mount.Source = mapBind(mount.Source);
    }
    if (mount.Type === "volume") {
      const recorded = record.mounts.find((candidate) => candidate.type === "volume" && candidate.destination === mount.Target);
      mount.Source = recorded ? mapVolume(recorded.source) : mount.Source;
    }
  }
  // Anonymous volumes from an image VOLUME line appear in no Binds or Mounts entry.
  for (const recorded of record.mounts) {
    if (recorded.type === "volume" && !coveredTargets.has(recorded.destination)) {
      mounts.push({ Type: "volume", Source: mapVolume(recorded.source), Target: recorded.destination, ReadOnly: recorded.readOnly });
    }
  }
  hostConfig.Mounts = mounts;

  hostConfig.VolumesFrom = stringArray(hostConfig.VolumesFrom).map((entry) => {
    const [reference = "", mode] = entry.split(":");
    return mode ? `${mapContainer(reference)}:${mode}` : mapContainer(reference);
  });
  hostConfig.Links = stringArray(hostConfig.Links).map((link) => {
    // Inspect shows "/db:/app/db"; create expects "db:alias".
    const [target = "", alias = ""] = link.split(":");
    return `${target.replace(/^\//, "")}:${path.posix.basename(alias)}`;
  });
  const networkMode = hostConfig.NetworkMode;
  if (typeof networkMode === "string" && networkMode.startsWith("container:")) {
    hostConfig.NetworkMode = `container:${mapContainer(networkMode.slice("container:".length))}`;
  }

  const endpoints = Object.entries(inspect.NetworkSettings?.Networks ?? {})
    .filter(([name]) => !BUILT_IN_NETWORKS.has(name))
    .map(([name, endpoint]) => [name, cleanEndpoint(endpoint, record.id)] as [string, Record<string, unknown>]);
  const primaryName = typeof hostConfig.NetworkMode === "string" ? hostConfig.NetworkMode : undefined;
  const primary = endpoints.find(([name]) => name === primaryName) ?? endpoints[0];
  const spec: ContainerSpec = { name: record.name, config, hostConfig };
  if (primary) {
    spec.networkingConfig = { EndpointsConfig: { [primary[0]]: primary[1] } };
  }
  return { spec, extraNetworks: endpoints.filter((entry) => entry !== primary) };
}

function cleanEndpoint(endpoint: Record<string, unknown>, containerId: string): Record<string, unknown> {
  const cleaned: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(endpoint)) {
    if (!ASSIGNED_ENDPOINT_FIELDS.includes(field)) {
      cleaned[field] = value;
    }
  }
  // The engine adds the short container id as an alias; the new container has a new id.
  cleaned.Aliases = stringArray(endpoint.Aliases).filter((alias) => !containerId.startsWith(alias));
  return cleaned;
}

function stringArray(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === "string") : [];
}
