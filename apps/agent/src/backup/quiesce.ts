import type { BackupOptions } from "@cargohold/storage-layout";
import type { Logger } from "@cargohold/logging";
import { type ContainerDetails, DockerError, type DockerPort } from "../docker/docker-port.js";
import type { QuiesceLedger } from "./quiesce-ledger.js";
import type { JobContext } from "../job-context.js";

/** A container label that overrides the request's consistency mode for that container. */
export const CONSISTENCY_LABEL = "org.cargohold.consistency";

type Consistency = BackupOptions["consistency"];

/**
 * Pauses or stops each running container so its volumes and bind mounts are
 * read in a consistent state, and returns the function that resumes them.
 * Each container is registered for resumption the moment it is paused or
 * stopped, so a failure half-way resumes the ones already quiesced.
 *
 * `containers` is in start order; they are stopped in reverse, so a
 * container stops before the ones it depends on.
 */
export async function quiesceContainers(
  context: JobContext,
  containers: ContainerDetails[],
  requested: Consistency,
): Promise<() => Promise<Error[]>> {
  const undo: { name: string; resume: () => Promise<void> }[] = [];
  const resumeAll = async (): Promise<Error[]> => {
    const errors: Error[] = [];
    for (const step of undo.reverse()) {
      try {
        await step.resume();
        context.log.info({ container: step.name }, "container resumed");
      } catch (error) {
        context.log.error({ err: error, container: step.name }, "failed to resume container after backup");
        errors.push(new Error(`resume container ${step.name} after backup failed: ${(error as Error).message}`, { cause: error }));
      }
    }
    return errors;
  };

  try {
    for (const container of [...containers].reverse()) {
      const mode = consistencyOf(container, requested);
      if (!container.running || container.paused || mode === "none") {
        continue;
      }
      // The ledger entry goes first: a crash between the two steps then resumes a running container, which is harmless.
      await context.quiesceLedger.record(container.id, mode);
      if (mode === "pause") {
        try {
          await context.docker.pauseContainer(container.id);
        } catch (error) {
          // Someone else paused it since discovery; it is quiescent, and resuming it is not ours to do.
          if (error instanceof DockerError && error.statusCode === 409) {
            await context.quiesceLedger.clear(container.id);
            context.log.warn({ container: container.name }, "container was already paused; backing it up as it is");
            continue;
          }
          throw error;
        }
        undo.push({ name: container.name, resume: () => resume(context, container.id, context.docker.unpauseContainer(container.id)) });
      } else {
        await context.docker.stopContainer(container.id);
        undo.push({ name: container.name, resume: () => resume(context, container.id, context.docker.startContainer(container.id)) });
      }
      context.log.info({ container: container.name, mode }, "container quiesced for backup");
    }
  } catch (error) {
    const resumeErrors = await resumeAll();
    throw resumeErrors.length === 0 ? error : new AggregateError([error, ...resumeErrors], `quiesce failed: ${(error as Error).message}`);
  }
  return resumeAll;
}

export function consistencyOf(container: ContainerDetails, requested: Consistency): Consistency {
  const labels = (container.config.Labels ?? {}) as Record<string, string>;
  const override = labels[CONSISTENCY_LABEL];
  return override === "pause" || override === "stop" || override === "none" ? override : requested;
}

async function resume(context: JobContext, containerId: string, resumed: Promise<void>): Promise<void> {
  await resumed;
  await context.quiesceLedger.clear(containerId);
}

/**
 * Resumes containers that a backup paused or stopped before the agent died,
 * as recorded in the ledger. Called when the agent starts, before it takes jobs.
 */
export async function resumeAfterCrash(docker: DockerPort, ledger: QuiesceLedger, log: Logger): Promise<void> {
  for (const { containerId, mode } of await ledger.entries()) {
    const container = await docker.inspectContainer(containerId);
    try {
      if (container !== undefined && mode === "pause" && container.paused) {
        await docker.unpauseContainer(containerId);
      } else if (container !== undefined && mode === "stop" && !container.running) {
        await docker.startContainer(containerId);
      }
      await ledger.clear(containerId);
      log.warn({ container: container?.name ?? containerId, mode }, "resumed a container that an interrupted backup had quiesced");
    } catch (error) {
      log.error({ err: error, container: containerId, mode }, "failed to resume a container after an interrupted backup; resume it by hand");
    }
  }
}
