import { z } from "zod";
import { HOST_ID_PATTERN } from "./ids.js";

/**
 * The backup manifest, version 1. It is the commit point of a backup: an agent
 * uploads it after every artifact, and only backups with a manifest are listed
 * or restored. Readers reject a newer version instead of guessing at it.
 */
export const MANIFEST_FORMAT = "cargohold.backup";
export const MANIFEST_SCHEMA_VERSION = 1;

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, "expected a lowercase hex sha256");
const stringMap = z.record(z.string(), z.string());
/** Docker's own JSON objects are kept whole, so fields this version does not model survive. */
const dockerObject = z.record(z.string(), z.unknown());

export const artifactKindSchema = z.enum(["images", "container-export", "volume", "bind"]);
export type ArtifactKind = z.infer<typeof artifactKindSchema>;

export const artifactSchema = z.object({
  id: z.string(),
  kind: artifactKindSchema,
  key: z.string(),
  /** Bytes of the stored object. */
  size: z.number().int().nonnegative(),
  sha256: sha256Hex,
});
export type Artifact = z.infer<typeof artifactSchema>;

export const pathAttributesSchema = z.object({
  /** Permission bits, such as 493 for 0755. */
  mode: z.number().int().min(0).max(0o7777),
  uid: z.number().int().nonnegative(),
  gid: z.number().int().nonnegative(),
});

export const volumeRecordSchema = z.object({
  name: z.string(),
  /** True for a volume Docker named itself, as for a VOLUME line of an image. */
  anonymous: z.boolean(),
  driver: z.string(),
  driverOptions: stringMap,
  labels: stringMap,
  /** Owner and mode of the volume's top folder, which the archive's "./" entry cannot restore. */
  root: pathAttributesSchema,
  artifactId: z.string(),
});
export type VolumeRecord = z.infer<typeof volumeRecordSchema>;

export const bindRecordSchema = z.object({
  /** Absolute path on the source host. */
  source: z.string().startsWith("/"),
  type: z.enum(["directory", "file"]),
  artifactId: z.string(),
});
export type BindRecord = z.infer<typeof bindRecordSchema>;

export const imageRecordSchema = z.object({
  id: z.string(),
  tags: z.array(z.string()),
  /** Set when the image was made by `docker commit` of this container during the backup. */
  committedFrom: z.string().optional(),
});
export type ImageRecord = z.infer<typeof imageRecordSchema>;

export const mountRecordSchema = z.object({
  type: z.enum(["volume", "bind"]),
  /** Volume name, or host path for a bind. */
  source: z.string(),
  destination: z.string(),
  readOnly: z.boolean(),
  anonymous: z.boolean(),
});
export type MountRecord = z.infer<typeof mountRecordSchema>;

/** The image settings that `docker export` loses and `docker import --change` can apply again. */
export const imageConfigSchema = z.object({
  Cmd: z.array(z.string()).nullish(),
  Entrypoint: z.array(z.string()).nullish(),
  Env: z.array(z.string()).nullish(),
  WorkingDir: z.string().nullish(),
  User: z.string().nullish(),
  ExposedPorts: dockerObject.nullish(),
  Volumes: dockerObject.nullish(),
  Healthcheck: dockerObject.nullish(),
  StopSignal: z.string().nullish(),
  Labels: stringMap.nullish(),
});
export type ImageConfig = z.infer<typeof imageConfigSchema>;

export const containerRecordSchema = z.object({
  id: z.string(),
  /** Name without Docker's leading slash. */
  name: z.string(),
  running: z.boolean(),
  /** The image reference the container was created from, as `docker inspect` shows it in Config.Image. */
  image: z.string(),
  imageId: z.string(),
  /** The reference to create the restored container from: the original, a committed image, or an imported export. */
  restoreImage: z.string(),
  exportArtifactId: z.string().optional(),
  exportImageConfig: imageConfigSchema.optional(),
  mounts: z.array(mountRecordSchema),
  /** Names of containers that must start before this one. */
  dependsOn: z.array(z.string()),
  /** Full `docker inspect` output, for the record and for fields this version does not restore. */
  inspect: dockerObject,
});
export type ContainerRecord = z.infer<typeof containerRecordSchema>;

export const networkRecordSchema = z.object({
  name: z.string(),
  driver: z.string(),
  options: stringMap,
  labels: stringMap,
  internal: z.boolean(),
  attachable: z.boolean(),
  enableIPv6: z.boolean(),
  ipam: dockerObject,
});
export type NetworkRecord = z.infer<typeof networkRecordSchema>;

export const problemSchema = z.object({
  /** The thing that could not be read, such as `volume mysql-data` or `bind /srv/app`. */
  subject: z.string(),
  message: z.string(),
});
export type Problem = z.infer<typeof problemSchema>;

export const backupOptionsSchema = z.object({
  imageMode: z.enum(["save", "export"]),
  commit: z.boolean(),
  consistency: z.enum(["pause", "stop", "none"]),
});
export type BackupOptions = z.infer<typeof backupOptionsSchema>;

export const manifestSchema = z.object({
  format: z.literal(MANIFEST_FORMAT),
  schemaVersion: z.literal(MANIFEST_SCHEMA_VERSION),
  backupId: z.string(),
  hostId: z.string().regex(HOST_ID_PATTERN),
  jobId: z.string(),
  startedAt: z.string().datetime(),
  completedAt: z.string().datetime(),
  /** "partial" means some data could not be read, and `problems` lists it. Its job fails, so it never counts as a success. */
  status: z.enum(["complete", "partial"]),
  problems: z.array(problemSchema),
  engine: z.object({
    version: z.string(),
    apiVersion: z.string(),
    os: z.string(),
    architecture: z.string(),
  }),
  options: backupOptionsSchema,
  /**
   * The series this backup belongs to, such as a schedule; retention prunes
   * only within one series. Absent for backups made outside any series.
   */
  series: z.string().optional(),
  containers: z.array(containerRecordSchema),
  volumes: z.array(volumeRecordSchema),
  binds: z.array(bindRecordSchema),
  images: z.array(imageRecordSchema),
  imagesArtifactId: z.string().optional(),
  networks: z.array(networkRecordSchema),
  artifacts: z.array(artifactSchema),
});
export type Manifest = z.infer<typeof manifestSchema>;

export class ManifestError extends Error {
  override readonly name = "ManifestError";
}

/** Parses manifest JSON text, naming the problem and the source when it is not a manifest this version can read. */
export function parseManifest(text: string, source: string): Manifest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ManifestError(`manifest ${source} is not valid JSON: ${(error as Error).message}`);
  }

  const header = z.object({ format: z.string(), schemaVersion: z.number() }).safeParse(value);
  if (!header.success || header.data.format !== MANIFEST_FORMAT) {
    throw new ManifestError(`object ${source} is not a Cargohold manifest: the "format" field is missing or is not "${MANIFEST_FORMAT}"`);
  }
  if (header.data.schemaVersion > MANIFEST_SCHEMA_VERSION) {
    throw new ManifestError(
      `manifest ${source} has schema version ${header.data.schemaVersion}, newer than this Cargohold reads (${MANIFEST_SCHEMA_VERSION}): upgrade the control plane and agents`,
    );
  }

  const parsed = manifestSchema.safeParse(value);
  if (!parsed.success) {
    const details = parsed.error.issues.map((issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`).join("; ");
    throw new ManifestError(`manifest ${source} is invalid: ${details}`);
  }
  return parsed.data;
}

export function serializeManifest(manifest: Manifest): string {
  return `${JSON.stringify(manifestSchema.parse(manifest), null, 2)}\n`;
}

/** The summary the catalog lists for one backup. */
export interface BackupSummary {
  backupId: string;
  hostId: string;
  startedAt: string;
  completedAt: string;
  status: Manifest["status"];
  series: string | undefined;
  problemCount: number;
  containers: string[];
  volumes: string[];
  totalBytes: number;
}

export function summarizeManifest(manifest: Manifest): BackupSummary {
  return {
    backupId: manifest.backupId,
    hostId: manifest.hostId,
    startedAt: manifest.startedAt,
    completedAt: manifest.completedAt,
    status: manifest.status,
    series: manifest.series,
    problemCount: manifest.problems.length,
    containers: manifest.containers.map((container) => container.name),
    volumes: manifest.volumes.map((volume) => volume.name),
    totalBytes: manifest.artifacts.reduce((sum, artifact) => sum + artifact.size, 0),
  };
}
