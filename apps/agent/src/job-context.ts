import type { ObjectStore } from "@cargohold/object-store";
import { KeyScheme } from "@cargohold/storage-layout";
import type { Logger } from "@cargohold/logging";
import type { QuiesceLedger } from "./backup/quiesce-ledger.js";
import type { DockerPort } from "./docker/docker-port.js";
import type { UploadSlots } from "./upload-slots.js";
import type { ProgressReporter } from "./progress.js";

/** The services and settings of one backup or restore run, passed down explicitly. */
export interface JobContext {
  hostId: string;
  jobId: string;
  docker: DockerPort;
  store: ObjectStore;
  keys: KeyScheme;
  log: Logger;
  progress: ProgressReporter;
  signal: AbortSignal;
  quiesceLedger: QuiesceLedger;
  uploadSlots: UploadSlots;
  /** Path at which the host's root folder is visible to the agent, for checks of host paths. */
  hostRoot: string;
}

/** A failure that retrying the same job cannot fix, such as an unknown container or a name conflict. */
export class PermanentJobError extends Error {
  override readonly name = "PermanentJobError";
}
