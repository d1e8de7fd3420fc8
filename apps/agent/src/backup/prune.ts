import { ObjectNotFoundError, readAll } from "@cargohold/object-store";
import { applyRetention, parseManifest, type RetentionPolicy } from "@cargohold/storage-layout";
import type { JobContext } from "../job-context.js";

/**
 * Deletes this host's backups of one series that fall outside `policy`,
 * after a backup of that series succeeded. Backups of other series, such as
 * manual ones or another schedule's, are never candidates. Only backups with a manifest are candidates, so a backup still
 * being written (no manifest yet) is never touched, and the newest complete
 * backup always stays. Each deletion removes the manifest first, so a backup
 * stops being listed before its archives go.
 */
export async function pruneBackups(
  context: Pick<JobContext, "hostId" | "store" | "keys" | "log" | "signal">,
  series: string,
  policy: RetentionPolicy,
  timeZone: string,
): Promise<string[]> {
  const { store, keys, log } = context;
  const candidates: { backupId: string; time: Date; complete: boolean }[] = [];
  for await (const folder of store.listFolders(keys.backupsPrefix(context.hostId), { signal: context.signal })) {
    const backupId = keys.backupIdOfManifestKey(`${folder}manifest.json`);
    if (backupId === undefined) {
      continue;
    }
    try {
      const key = keys.manifestKey(backupId);
      const manifest = parseManifest((await readAll(await store.get(key, { signal: context.signal }))).toString("utf8"), key);
      if (manifest.series === series) {
        candidates.push({ backupId, time: new Date(manifest.startedAt), complete: manifest.status === "complete" });
      }
    } catch (error) {
      if (!(error instanceof ObjectNotFoundError)) {
        throw error;
      }
    }
  }

  const { remove } = applyRetention(candidates, policy, timeZone);
  const newestComplete = candidates.filter((candidate) => candidate.complete).sort((a, b) => b.time.getTime() - a.time.getTime())[0];
  const doomed = remove.filter((backupId) => backupId !== newestComplete?.backupId);

  for (const backupId of doomed) {
    await store.delete(keys.manifestKey(backupId), { signal: context.signal });
    for await (const info of store.list(keys.backupPrefix(backupId), { signal: context.signal })) {
      await store.delete(info.key, { signal: context.signal });
    }
    log.info({ backupId }, "pruned backup outside the retention policy");
  }
  return doomed;
}
