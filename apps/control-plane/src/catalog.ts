import { ObjectNotFoundError, type ObjectStore, readAll } from "@cargohold/object-store";
import { type BackupSummary, KeyScheme, type Manifest, parseManifest, summarizeManifest } from "@cargohold/storage-layout";

/**
 * The backup catalog, read from the object store alone: a backup exists when
 * its manifest does. A fresh control plane with an empty Redis lists the same backups.
 */
export class BackupCatalog {
  readonly #keys = new KeyScheme();

  constructor(private readonly store: ObjectStore) {}

  /** Lists complete and partial backups, oldest first per host; `hostId` narrows to one host. */
  async list(hostId?: string): Promise<BackupSummary[]> {
    const hostIds = hostId !== undefined ? [hostId] : await this.hostIds();
    const summaries: BackupSummary[] = [];
    for (const host of hostIds) {
      // One folder per backup: listing folders skips the artifacts, and a folder without a manifest is an unfinished backup.
      for await (const folder of this.store.listFolders(this.#keys.backupsPrefix(host))) {
        const backupId = this.#keys.backupIdOfManifestKey(`${folder}manifest.json`);
        if (backupId === undefined) {
          continue;
        }
        const manifest = await this.get(backupId);
        if (manifest !== undefined) {
          summaries.push(summarizeManifest(manifest));
        }
      }
    }
    return summaries;
  }

  /** Returns the manifest, or undefined when the backup does not exist or never finished. */
  async get(backupId: string): Promise<Manifest | undefined> {
    const key = this.#keys.manifestKey(backupId);
    try {
      const text = (await readAll(await this.store.get(key))).toString("utf8");
      return parseManifest(text, key);
    } catch (error) {
      if (error instanceof ObjectNotFoundError) {
        return undefined;
      }
      throw error;
    }
  }

  async hostIds(): Promise<string[]> {
    const ids: string[] = [];
    for await (const folder of this.store.listFolders(this.#keys.hostsPrefix())) {
      const hostId = this.#keys.hostIdOfPrefix(folder);
      if (hostId !== undefined) {
        ids.push(hostId);
      }
    }
    return ids;
  }
}
