import { assertHostId, parseBackupId } from "./ids.js";

/**
 * The bucket layout. Every key that Cargohold reads or writes comes from here:
 *
 *   v1/hosts/HOST/backups/BACKUP/manifest.json
 *   v1/hosts/HOST/backups/BACKUP/artifacts/ARTIFACT.tar
 *
 * The manifest is written last, so a backup folder without one is incomplete.
 * The "v1" segment is the layout version, so a later layout can live beside
 * it. A folder inside the bucket, if any, belongs to the object store's configuration.
 */
export const LAYOUT_VERSION = "v1";

const ARTIFACT_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,127}$/;

export class KeyScheme {
  readonly root = `${LAYOUT_VERSION}/`;

  hostsPrefix(): string {
    return `${this.root}hosts/`;
  }

  backupsPrefix(hostId: string): string {
    return `${this.hostsPrefix()}${assertHostId(hostId)}/backups/`;
  }

  backupPrefix(backupId: string): string {
    const { hostId } = parseBackupId(backupId);
    return `${this.backupsPrefix(hostId)}${backupId}/`;
  }

  manifestKey(backupId: string): string {
    return `${this.backupPrefix(backupId)}manifest.json`;
  }

  artifactKey(backupId: string, artifactId: string): string {
    if (!ARTIFACT_ID_PATTERN.test(artifactId)) {
      throw new Error(`invalid artifact id ${JSON.stringify(artifactId)}: use lowercase letters, digits and hyphens`);
    }
    return `${this.backupPrefix(backupId)}artifacts/${artifactId}.tar`;
  }

  /** Returns the backup id if `key` is a manifest key of this layout, else undefined. */
  backupIdOfManifestKey(key: string): string | undefined {
    if (!key.startsWith(this.hostsPrefix()) || !key.endsWith("/manifest.json")) {
      return undefined;
    }
    const segments = key.slice(this.hostsPrefix().length).split("/");
    if (segments.length !== 4 || segments[1] !== "backups") {
      return undefined;
    }
    const backupId = segments[2];
    if (backupId === undefined) {
      return undefined;
    }
    try {
      const { hostId } = parseBackupId(backupId);
      return hostId === segments[0] ? backupId : undefined;
    } catch {
      return undefined;
    }
  }

  /** Returns the host id if `prefix` is one host folder, as a delimiter listing returns it. */
  hostIdOfPrefix(prefix: string): string | undefined {
    if (!prefix.startsWith(this.hostsPrefix())) {
      return undefined;
    }
    const rest = prefix.slice(this.hostsPrefix().length).replace(/\/$/, "");
    try {
      return assertHostId(rest);
    } catch {
      return undefined;
    }
  }
}
