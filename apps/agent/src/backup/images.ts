import type { Artifact, ImageConfig, ImageRecord } from "@cargohold/storage-layout";
import { parseBackupId } from "@cargohold/storage-layout";
import type { ContainerDetails } from "../docker/docker-port.js";
import type { JobContext } from "../job-context.js";
import { uploadArtifact } from "./upload-artifact.js";

/** Repository for images that `docker commit` makes during a backup. */
export const COMMIT_REPOSITORY = "cargohold-commit";
/** Repository for images that a restore makes from `docker export` archives. */
export const IMPORT_REPOSITORY = "cargohold-import";

export interface ContainerImagePlan {
  /** The reference the restore creates the container from. */
  restoreImage: string;
  exportArtifactId?: string;
  exportImageConfig?: ImageConfig;
}

/** Returns the tag for images that one backup commits or imports: the backup's time stamp and suffix. */
export function backupImageTag(backupId: string): string {
  const { startedAt, suffix } = parseBackupId(backupId);
  return `${startedAt.toISOString().replace(/[-:.]/g, "").toLowerCase()}-${suffix}`;
}

/**
 * Runs `docker commit` on each container whose filesystem changed, and returns
 * container name to the committed image's reference.
 */
export async function commitChangedContainers(context: JobContext, backupId: string, containers: ContainerDetails[]): Promise<Map<string, { reference: string; id: string }>> {
  const committed = new Map<string, { reference: string; id: string }>();
  for (const container of containers) {
    if (!(await context.docker.hasFilesystemChanges(container.id))) {
      continue;
    }
    const repository = `${COMMIT_REPOSITORY}/${container.name.toLowerCase().replace(/[^a-z0-9._-]/g, "-")}`;
    const tag = backupImageTag(backupId);
    const id = await context.docker.commitContainer(container.id, repository, tag);
    committed.set(container.name, { reference: `${repository}:${tag}`, id });
    context.log.info({ container: container.name, image: `${repository}:${tag}` }, "committed container changes");
  }
  return committed;
}

/**
 * Saves every image the containers run, with all their tags, into one
 * `docker save` archive, and returns the image records and each container's
 * restore reference.
 */
export async function saveImages(
  context: JobContext,
  backupId: string,
  containers: ContainerDetails[],
  committed: Map<string, { reference: string; id: string }>,
): Promise<{ images: ImageRecord[]; plans: Map<string, ContainerImagePlan>; artifact: Artifact }> {
  const images = new Map<string, ImageRecord>();
  const plans = new Map<string, ContainerImagePlan>();

  for (const container of containers) {
    const commit = committed.get(container.name);
    if (commit) {
      images.set(commit.id, { id: commit.id, tags: [commit.reference], committedFrom: container.name });
      plans.set(container.name, { restoreImage: commit.reference });
    }
    const image = await context.docker.inspectImage(container.imageId);
    if (image === undefined) {
      throw new Error(`image ${container.imageId} of container ${container.name} not found on the engine`);
    }
    if (!images.has(image.id)) {
      images.set(image.id, { id: image.id, tags: image.tags });
    }
    if (!commit) {
      // Config.Image may name a tag that has since moved to another image; then only the id is right.
      const named = await context.docker.inspectImage(container.image);
      plans.set(container.name, { restoreImage: named?.id === container.imageId ? container.image : container.imageId });
    }
  }

  const references = [...images.values()].flatMap((image) => (image.tags.length > 0 ? image.tags : [image.id]));
  const archive = await context.docker.saveImages(references, context.signal);
  const { artifact } = await uploadArtifact(context, backupId, "images", "images", archive);
  return { images: [...images.values()], plans, artifact };
}

/** Fields of an image config that the restore applies again with `docker import --change`. */
const EXPORT_CONFIG_FIELDS = ["Cmd", "Entrypoint", "Env", "WorkingDir", "User", "ExposedPorts", "Volumes", "Healthcheck", "StopSignal", "Labels"] as const;

/**
 * Archives each container's flat filesystem with `docker export` and records
 * the image config that the flat archive loses.
 */
export async function exportContainers(
  context: JobContext,
  backupId: string,
  containers: ContainerDetails[],
): Promise<{ plans: Map<string, ContainerImagePlan>; artifacts: Artifact[] }> {
  const plans = new Map<string, ContainerImagePlan>();
  const artifacts: Artifact[] = [];
  let index = 0;
  for (const container of containers) {
    const image = await context.docker.inspectImage(container.imageId);
    const imageConfig: ImageConfig = {};
    for (const field of EXPORT_CONFIG_FIELDS) {
      const value = image?.config[field];
      if (value !== undefined && value !== null) {
        (imageConfig as Record<string, unknown>)[field] = value;
      }
    }
    const artifactId = `export-${String(++index).padStart(3, "0")}`;
    const archive = await context.docker.exportContainer(container.id, context.signal);
    const { artifact } = await uploadArtifact(context, backupId, artifactId, "container-export", archive);
    artifacts.push(artifact);
    const repository = `${IMPORT_REPOSITORY}/${container.name.toLowerCase().replace(/[^a-z0-9._-]/g, "-")}`;
    plans.set(container.name, {
      restoreImage: `${repository}:${backupImageTag(backupId)}`,
      exportArtifactId: artifactId,
      exportImageConfig: imageConfig,
    });
  }
  return { plans, artifacts };
}
