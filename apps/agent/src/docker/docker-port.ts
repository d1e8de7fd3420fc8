import type { Readable } from "node:stream";

/**
 * The narrow view of a Docker engine that backup and restore need. The
 * dockerode adapter implements it; nothing else in the agent imports dockerode.
 *
 * Methods that look something up return undefined when it does not exist and
 * throw DockerError for every other failure.
 */
export interface DockerPort {
  engineInfo(): Promise<EngineInfo>;
  ping(): Promise<void>;

  /** Lists containers (helpers excluded), only those whose labels include all of `labels` when given. */
  listContainers(labels?: Record<string, string>): Promise<{ id: string; name: string }[]>;
  inspectContainer(idOrName: string): Promise<ContainerDetails | undefined>;
  hasFilesystemChanges(containerId: string): Promise<boolean>;
  pauseContainer(containerId: string): Promise<void>;
  unpauseContainer(containerId: string): Promise<void>;
  stopContainer(containerId: string): Promise<void>;
  startContainer(containerId: string): Promise<void>;
  createContainer(spec: ContainerSpec): Promise<string>;
  removeContainer(containerId: string): Promise<void>;
  /** Runs `docker commit` and returns the new image id. */
  commitContainer(containerId: string, repository: string, tag: string): Promise<string>;
  /** The flat filesystem of a container, as `docker export` writes it. */
  exportContainer(containerId: string, signal?: AbortSignal): Promise<Readable>;

  inspectImage(reference: string): Promise<ImageDetails | undefined>;
  /** One `docker save` archive of several images; shared layers are stored once. */
  saveImages(references: string[], signal?: AbortSignal): Promise<Readable>;
  loadImages(archive: Readable, signal?: AbortSignal): Promise<void>;
  /** Runs `docker import` with Dockerfile `changes`, tags the result and returns its id. */
  importImage(archive: Readable, repository: string, tag: string, changes: string[], signal?: AbortSignal): Promise<string>;

  inspectVolume(name: string): Promise<VolumeDetails | undefined>;
  /** Lists volumes, only those whose labels include all of `labels` when given. */
  listVolumes(labels?: Record<string, string>): Promise<VolumeDetails[]>;
  /** Creates a volume; without a name Docker generates one. Returns the name. */
  createVolume(spec: { name?: string; driver: string; driverOptions: Record<string, string>; labels: Record<string, string> }): Promise<string>;
  removeVolume(name: string): Promise<void>;

  inspectNetwork(name: string): Promise<NetworkDetails | undefined>;
  createNetwork(spec: NetworkDetails): Promise<void>;
  removeNetwork(name: string): Promise<void>;
  connectNetwork(network: string, containerId: string, endpoint: Record<string, unknown>): Promise<void>;

  /** A tar of the volume's contents, entries relative to its root ("./", "./file"). */
  readVolume(name: string, signal?: AbortSignal): Promise<Readable>;
  /** Extracts a tar from readVolume into an empty volume; `root` sets the owner and mode of the volume's top folder. */
  writeVolume(name: string, archive: Readable, root: PathAttributes, signal?: AbortSignal): Promise<void>;
  /** A tar of one host file or folder, with entries under its base name. */
  readHostPath(hostPath: string, signal?: AbortSignal): Promise<Readable>;
  /** Extracts a tar from readHostPath into the parent folder of `hostPath`, creating missing parents. */
  writeHostPath(hostPath: string, archive: Readable, signal?: AbortSignal): Promise<void>;
}

export interface EngineInfo {
  version: string;
  apiVersion: string;
  os: string;
  architecture: string;
}

export interface PathAttributes {
  /** Permission bits, such as 0o755. */
  mode: number;
  uid: number;
  gid: number;
}

export interface MountDetails {
  type: "volume" | "bind" | "tmpfs" | "npipe" | "cluster";
  /** Volume name for volumes. */
  name?: string;
  /** Host path for binds; the volume's folder on the host for volumes. */
  source: string;
  destination: string;
  readOnly: boolean;
}

export interface ContainerDetails {
  id: string;
  name: string;
  running: boolean;
  paused: boolean;
  /** Config.Image: the reference the container was created from. */
  image: string;
  /** The image id, sha256:... */
  imageId: string;
  mounts: MountDetails[];
  config: Record<string, unknown>;
  hostConfig: Record<string, unknown>;
  /** NetworkSettings.Networks: network name to endpoint settings. */
  networks: Record<string, Record<string, unknown>>;
  /** The whole `docker inspect` object. */
  raw: Record<string, unknown>;
}

export interface ContainerSpec {
  name: string;
  /** Docker's container Config, Image included. */
  config: Record<string, unknown>;
  hostConfig: Record<string, unknown>;
  networkingConfig?: { EndpointsConfig: Record<string, Record<string, unknown>> };
}

export interface ImageDetails {
  id: string;
  tags: string[];
  config: Record<string, unknown>;
}

export interface VolumeDetails {
  name: string;
  driver: string;
  options: Record<string, string>;
  labels: Record<string, string>;
}

export interface NetworkDetails {
  name: string;
  driver: string;
  options: Record<string, string>;
  labels: Record<string, string>;
  internal: boolean;
  attachable: boolean;
  enableIPv6: boolean;
  ipam: Record<string, unknown>;
}

/** A failed engine call, naming the operation and object; `statusCode` is the engine's HTTP status when there was one. */
export class DockerError extends Error {
  override readonly name = "DockerError";

  constructor(
    message: string,
    readonly statusCode?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
