/**
 * Start order of containers: a container starts after every container it
 * links to, takes volumes from, shares a network namespace with, or, in a
 * Compose project, depends on.
 */

export interface DependencySource {
  id: string;
  name: string;
  config: Record<string, unknown>;
  hostConfig: Record<string, unknown>;
}

const COMPOSE_PROJECT = "com.docker.compose.project";
const COMPOSE_SERVICE = "com.docker.compose.service";
const COMPOSE_DEPENDS_ON = "com.docker.compose.depends_on";

/** Returns, for each container name, the names of the containers in `containers` it depends on. */
export function findDependencies(containers: DependencySource[]): Map<string, string[]> {
  const byIdOrName = new Map<string, DependencySource>();
  for (const container of containers) {
    byIdOrName.set(container.id, container);
    byIdOrName.set(container.name, container);
  }
  const resolve = (reference: string): string | undefined => {
    const trimmed = reference.replace(/^\//, "");
    const exact = byIdOrName.get(trimmed);
    if (exact) {
      return exact.name;
    }
    // Docker accepts a unique id prefix, and inspect output often carries one.
    const byPrefix = containers.filter((container) => trimmed.length >= 12 && container.id.startsWith(trimmed));
    return byPrefix.length === 1 ? byPrefix[0]?.name : undefined;
  };

  const result = new Map<string, string[]>();
  for (const container of containers) {
    const found = new Set<string>();
    const add = (name: string | undefined) => {
      if (name !== undefined && name !== container.name) {
        found.add(name);
      }
    };

    for (const link of stringArray(container.hostConfig.Links)) {
      add(resolve(link.split(":")[0] ?? ""));
    }
    for (const source of stringArray(container.hostConfig.VolumesFrom)) {
      add(resolve(source.split(":")[0] ?? ""));
    }
    const networkMode = container.hostConfig.NetworkMode;
    if (typeof networkMode === "string" && networkMode.startsWith("container:")) {
      add(resolve(networkMode.slice("container:".length)));
    }

    const labels = (container.config.Labels ?? {}) as Record<string, string>;
    const project = labels[COMPOSE_PROJECT];
    for (const entry of (labels[COMPOSE_DEPENDS_ON] ?? "").split(",")) {
      const service = entry.split(":")[0]?.trim();
      if (!service || project === undefined) {
        continue;
      }
      for (const other of containers) {
        const otherLabels = (other.config.Labels ?? {}) as Record<string, string>;
        if (otherLabels[COMPOSE_PROJECT] === project && otherLabels[COMPOSE_SERVICE] === service) {
          add(other.name);
        }
      }
    }
    result.set(container.name, [...found].sort());
  }
  return result;
}

/**
 * Orders names so that each comes after its dependencies. Dependencies
 * outside `names` are ignored. A cycle cannot be ordered, so its members
 * follow in name order and are returned in `cycle`.
 */
export function startOrder(names: string[], dependsOn: Map<string, string[]>): { order: string[]; cycle: string[] } {
  const wanted = new Set(names);
  const order: string[] = [];
  const placed = new Set<string>();
  let remaining = [...names].sort();
  while (remaining.length > 0) {
    const ready = remaining.filter((name) => (dependsOn.get(name) ?? []).every((dependency) => placed.has(dependency) || !wanted.has(dependency)));
    if (ready.length === 0) {
      order.push(...remaining);
      return { order, cycle: remaining };
    }
    for (const name of ready) {
      order.push(name);
      placed.add(name);
    }
    remaining = remaining.filter((name) => !placed.has(name));
  }
  return { order, cycle: [] };
}

function stringArray(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === "string") : [];
}
