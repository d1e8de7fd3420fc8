import { randomBytes } from "node:crypto";
import path from "node:path";
import type { Readable } from "node:stream";
import Docker from "dockerode";
import type { Logger } from "@cargohold/logging";
import {
  type ContainerDetails,
  type ContainerSpec,
  DockerError,
  type DockerPort,
  type EngineInfo,
  type ImageDetails,
  type MountDetails,
  type NetworkDetails,
  type PathAttributes,
  type VolumeDetails,
} from "./docker-port.js";
import {
  HELPER_COMMAND,
  HELPER_LABEL,
  HELPER_REPOSITORY,
  HOST_MOUNT_POINT,
  READER_TAG,
  VOLUME_MOUNT_POINT,
  helperRootfs,
  rootTag,
} from "./helper-images.js";

/** The DockerPort over the engine API, through dockerode. */
export class DockerodeAdapter implements DockerPort {
  readonly #docker: Docker;
  readonly #log: Logger;

  /** `socketPath` is the engine's unix socket, such as /var/run/docker.sock. */
  constructor(socketPath: string, log: Logger) {
    this.#docker = new Docker({ socketPath });
    this.#log = log;
  }

  async ping(): Promise<void> {
    await this.#call("ping the engine", () => this.#docker.ping());
  }

  async engineInfo(): Promise<EngineInfo> {
    const version = await this.#call("read the engine version", () => this.#docker.version());
    return { version: version.Version, apiVersion: version.ApiVersion, os: version.Os, architecture: version.Arch };
  }

  async listContainers(labels?: Record<string, string>): Promise<{ id: string; name: string }[]> {
    const filters = labels ? { label: labelFilters(labels) } : undefined;
    const containers = await this.#call("list containers", () => this.#docker.listContainers({ all: true, filters }));
    return containers
      .filter((container) => container.Labels?.[HELPER_LABEL] === undefined)
      .map((container) => ({ id: container.Id, name: (container.Names[0] ?? container.Id).replace(/^\//, "") }));
  }

  async inspectContainer(idOrName: string): Promise<ContainerDetails | undefined> {
    const info = await this.#lookup(`inspect container ${idOrName}`, () => this.#docker.getContainer(idOrName).inspect());
    if (info === undefined) {
      return undefined;
    }
    const raw = info as unknown as Record<string, unknown>;
    const mounts: MountDetails[] = (info.Mounts ?? []).map((mount) => ({
      type: mount.Type as MountDetails["type"],
      name: mount.Name,
      source: mount.Source,
      destination: mount.Destination,
      readOnly: !mount.RW,
    }));
    return {
      id: info.Id,
      name: info.Name.replace(/^\//, ""),
      running: info.State.Running,
      paused: info.State.Paused,
      image: info.Config.Image,
      imageId: info.Image,
      mounts,
      config: info.Config as unknown as Record<string, unknown>,
      hostConfig: info.HostConfig as unknown as Record<string, unknown>,
      networks: (info.NetworkSettings?.Networks ?? {}) as unknown as Record<string, Record<string, unknown>>,
      raw,
    };
  }

  async hasFilesystemChanges(containerId: string): Promise<boolean> {
    const changes = await this.#call(`list changes of container ${containerId}`, () => this.#docker.getContainer(containerId).changes());
    return Array.isArray(changes) && changes.length > 0;
  }

  async pauseContainer(containerId: string): Promise<void> {
    await this.#call(`pause container ${containerId}`, () => this.#docker.getContainer(containerId).pause());
  }

  async unpauseContainer(containerId: string): Promise<void> {
    await this.#call(`unpause container ${containerId}`, () => this.#docker.getContainer(containerId).unpause());
  }

  async stopContainer(containerId: string): Promise<void> {
    await this.#call(`stop container ${containerId}`, () => this.#docker.getContainer(containerId).stop());
  }

  async startContainer(containerId: string): Promise<void> {
    await this.#call(`start container ${containerId}`, () => this.#docker.getContainer(containerId).start());
  }

  async createContainer(spec: ContainerSpec): Promise<string> {
    const options = {
      ...spec.config,
      name: spec.name,
      HostConfig: spec.hostConfig,
      NetworkingConfig: spec.networkingConfig,
    } as Docker.ContainerCreateOptions;
    const container = await this.#call(`create container ${spec.name}`, () => this.#docker.createContainer(options));
    return container.id;
  }

  async removeContainer(containerId: string): Promise<void> {
    await this.#call(`remove container ${containerId}`, () => this.#docker.getContainer(containerId).remove({ force: true, v: false }));
  }

  async commitContainer(containerId: string, repository: string, tag: string): Promise<string> {
    const result = (await this.#call(`commit container ${containerId}`, () =>
      this.#docker.getContainer(containerId).commit({ repo: repository, tag, pause: true }),
    )) as { Id: string };
    return result.Id;
  }

  async exportContainer(containerId: string, signal?: AbortSignal): Promise<Readable> {
    const stream = await this.#call(`export container ${containerId}`, () =>
      this.#docker.getContainer(containerId).export({ abortSignal: signal } as object),
    );
    return stream as unknown as Readable;
  }

  async inspectImage(reference: string): Promise<ImageDetails | undefined> {
    const info = await this.#lookup(`inspect image ${reference}`, () => this.#docker.getImage(reference).inspect());
    if (info === undefined) {
      return undefined;
    }
    return { id: info.Id, tags: info.RepoTags ?? [], config: (info.Config ?? {}) as unknown as Record<string, unknown> };
  }

  async saveImages(references: string[], signal?: AbortSignal): Promise<Readable> {
    return this.#call(`save images ${references.join(", ")}`, () =>
      this.#dial<Readable>({ path: "/images/get?", method: "GET", options: { names: references }, isStream: true, abortSignal: signal }),
    );
  }

  async loadImages(archive: Readable, signal?: AbortSignal): Promise<void> {
    const response = await this.#call("load images", () => this.#docker.loadImage(archive, { quiet: true, abortSignal: signal } as object));
    await this.#followProgress("load images", response);
  }

  async importImage(archive: Readable, repository: string, tag: string, changes: string[], signal?: AbortSignal): Promise<string> {
    const reference = `${repository}:${tag}`;
    const response = await this.#call(`import image ${reference}`, () =>
      this.#docker.importImage(archive, { repo: repository, tag, changes, abortSignal: signal } as object),
    );
    await this.#followProgress(`import image ${reference}`, response);
    const image = await this.inspectImage(reference);
    if (image === undefined) {
      throw new DockerError(`import image ${reference} finished but the image is missing`);
    }
    return image.id;
  }

  async inspectVolume(name: string): Promise<VolumeDetails | undefined> {
    const info = await this.#lookup(`inspect volume ${name}`, () => this.#docker.getVolume(name).inspect());
    if (info === undefined) {
      return undefined;
    }
    return { name: info.Name, driver: info.Driver, options: info.Options ?? {}, labels: info.Labels ?? {} };
  }

  async listVolumes(labels?: Record<string, string>): Promise<VolumeDetails[]> {
    const filters = labels ? { label: labelFilters(labels) } : undefined;
    const response = await this.#call("list volumes", () => this.#docker.listVolumes({ filters }));
    return (response.Volumes ?? []).map((volume) => ({ name: volume.Name, driver: volume.Driver, options: volume.Options ?? {}, labels: volume.Labels ?? {} }));
  }

  async createVolume(spec: { name?: string; driver: string; driverOptions: Record<string, string>; labels: Record<string, string> }): Promise<string> {
    const volume = (await this.#call(`create volume ${spec.name ?? "(anonymous)"}`, () =>
      this.#docker.createVolume({ Name: spec.name, Driver: spec.driver, DriverOpts: spec.driverOptions, Labels: spec.labels }),
    )) as unknown as { Name?: string; name?: string };
    const name = volume.Name ?? volume.name;
    if (name === undefined) {
      throw new DockerError("create volume returned no name");
    }
    return name;
  }

  async removeVolume(name: string): Promise<void> {
    await this.#call(`remove volume ${name}`, () => this.#docker.getVolume(name).remove());
  }

  async inspectNetwork(name: string): Promise<NetworkDetails | undefined> {
    const info = await this.#lookup(`inspect network ${name}`, () => this.#docker.getNetwork(name).inspect());
    if (info === undefined) {
      return undefined;
    }
    return {
      name: info.Name,
      driver: info.Driver,
      options: info.Options ?? {},
      labels: info.Labels ?? {},
      internal: info.Internal ?? false,
      attachable: info.Attachable ?? false,
      enableIPv6: info.EnableIPv6 ?? false,
      ipam: (info.IPAM ?? {}) as Record<string, unknown>,
    };
  }

  async createNetwork(spec: NetworkDetails): Promise<void> {
    await this.#call(`create network ${spec.name}`, () =>
      this.#docker.createNetwork({
        Name: spec.name,
        Driver: spec.driver,
        Options: spec.options,
        Labels: spec.labels,
        Internal: spec.internal,
        Attachable: spec.attachable,
        EnableIPv6: spec.enableIPv6,
        IPAM: spec.ipam as Docker.NetworkCreateOptions["IPAM"],
        CheckDuplicate: true,
      }),
    );
  }

  async removeNetwork(name: string): Promise<void> {
    await this.#call(`remove network ${name}`, () => this.#docker.getNetwork(name).remove());
  }

  async connectNetwork(network: string, containerId: string, endpoint: Record<string, unknown>): Promise<void> {
    await this.#call(`connect container ${containerId} to network ${network}`, () =>
      this.#docker.getNetwork(network).connect({ Container: containerId, EndpointConfig: endpoint }),
    );
  }

  async readVolume(name: string, signal?: AbortSignal): Promise<Readable> {
    const helper = await this.#createHelper(READER_TAG, undefined, [`${name}:${VOLUME_MOUNT_POINT}:ro,nocopy`]);
    return this.#readThroughHelper(helper, `${VOLUME_MOUNT_POINT}/.`, `read volume ${name}`, signal);
  }

  async writeVolume(name: string, archive: Readable, root: PathAttributes, signal?: AbortSignal): Promise<void> {
    // No "nocopy" here: the copy of the helper image's folder gives the empty volume its root owner and mode.
    const helper = await this.#createHelper(rootTag(root), root, [`${name}:${VOLUME_MOUNT_POINT}`]);
    await this.#writeThroughHelper(helper, VOLUME_MOUNT_POINT, archive, `write volume ${name}`, signal);
  }

  async readHostPath(hostPath: string, signal?: AbortSignal): Promise<Readable> {
    const parent = path.posix.dirname(hostPath);
    const helper = await this.#createHelper(READER_TAG, undefined, [`${parent}:${HOST_MOUNT_POINT}:ro`]);
    return this.#readThroughHelper(helper, `${HOST_MOUNT_POINT}/${path.posix.basename(hostPath)}`, `read host path ${hostPath}`, signal);
  }

  async writeHostPath(hostPath: string, archive: Readable, signal?: AbortSignal): Promise<void> {
    // With the Binds form the engine creates a missing source folder, parents included.
    const parent = path.posix.dirname(hostPath);
    const helper = await this.#createHelper(READER_TAG, undefined, [`${parent}:${HOST_MOUNT_POINT}`]);
    await this.#writeThroughHelper(helper, HOST_MOUNT_POINT, archive, `write host path ${hostPath}`, signal);
  }

  async #ensureHelperImage(tag: string, volumeRoot: PathAttributes | undefined): Promise<string> {
    const reference = `${HELPER_REPOSITORY}:${tag}`;
    if ((await this.inspectImage(reference)) !== undefined) {
      return reference;
    }
    await this.importImage(helperRootfs(volumeRoot), HELPER_REPOSITORY, tag, [`CMD ${JSON.stringify(HELPER_COMMAND)}`, `LABEL ${HELPER_LABEL}=true`]);
    return reference;
  }

  async #createHelper(tag: string, volumeRoot: PathAttributes | undefined, binds: string[]): Promise<Docker.Container> {
    const image = await this.#ensureHelperImage(tag, volumeRoot);
    const name = `cargohold-helper-${randomBytes(6).toString("hex")}`;
    return this.#call(`create helper container for ${binds.join(", ")}`, () =>
      this.#docker.createContainer({
        name,
        Image: image,
        Cmd: HELPER_COMMAND,
        Labels: { [HELPER_LABEL]: "true" },
        NetworkDisabled: true,
        HostConfig: { Binds: binds, NetworkMode: "none" },
      }),
    );
  }

  async #readThroughHelper(helper: Docker.Container, containerPath: string, operation: string, signal?: AbortSignal): Promise<Readable> {
    let stream: Readable;
    try {
      stream = (await this.#call(operation, () => helper.getArchive({ path: containerPath, abortSignal: signal } as { path: string }))) as unknown as Readable;
    } catch (error) {
      await this.#removeHelper(helper);
      throw error;
    }
    stream.once("close", () => {
      void this.#removeHelper(helper);
    });
    return stream;
  }

  async #writeThroughHelper(helper: Docker.Container, containerPath: string, archive: Readable, operation: string, signal?: AbortSignal): Promise<void> {
    try {
      await this.#call(operation, () => helper.putArchive(archive, { path: containerPath, abortSignal: signal } as { path: string }));
    } finally {
      await this.#removeHelper(helper);
    }
  }

  async #removeHelper(helper: Docker.Container): Promise<void> {
    try {
      await helper.remove({ force: true });
    } catch (error) {
      this.#log.warn({ err: error, container: helper.id }, "failed to remove a helper container; remove it with docker rm");
    }
  }

  #followProgress(operation: string, response: NodeJS.ReadableStream): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#docker.modem.followProgress(response, (error: Error | null) => {
        if (error) {
          reject(new DockerError(`${operation} failed: ${error.message}`, undefined, { cause: error }));
        } else {
          resolve();
        }
      });
    });
  }

  #dial<T>(options: { path: string; method: string; options?: object; isStream?: boolean; abortSignal?: AbortSignal }): Promise<T> {
    const dialOptions = { statusCodes: { 200: true, 400: "bad parameter", 404: "not found", 500: "server error" }, ...options };
    return new Promise((resolve, reject) => {
      this.#docker.modem.dial(dialOptions as Parameters<Docker["modem"]["dial"]>[0], (error, data) => {
        if (error) {
          reject(error);
        } else {
          resolve(data as T);
        }
      });
    });
  }

  /** Runs an engine call, turning its error into a DockerError that names the operation. */
  async #call<T>(operation: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (error instanceof DockerError) {
        throw error;
      }
      const statusCode = (error as { statusCode?: number }).statusCode;
      const engineMessage = extractEngineMessage(error);
      throw new DockerError(`${operation} failed: ${engineMessage}`, statusCode, { cause: error });
    }
  }

  /** Like #call, but a 404 from the engine becomes undefined. */
  async #lookup<T>(operation: string, run: () => Promise<T>): Promise<T | undefined> {
    try {
      return await this.#call(operation, run);
    } catch (error) {
      if (error instanceof DockerError && error.statusCode === 404) {
        return undefined;
      }
      throw error;
    }
  }
}

function extractEngineMessage(error: unknown): string {
  const json = (error as { json?: { message?: string } }).json;
  if (json && typeof json.message === "string") {
    return json.message;
  }
  return (error as Error).message ?? String(error);
}

/** Turns {a: "1"} into the engine's label filter ["a=1"]. */
function labelFilters(labels: Record<string, string>): string[] {
  return Object.entries(labels).map(([name, value]) => `${name}=${value}`);
}
