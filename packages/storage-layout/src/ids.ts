import { randomBytes } from "node:crypto";

/**
 * Host ids are DNS-label-like so that they fit unchanged into object keys,
 * BullMQ queue names and job ids. They never contain a dot, which lets ids
 * built from them use the dot as a separator.
 */
export const HOST_ID_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

const STAMP_PATTERN = /^\d{8}T\d{9}Z$/;
const SUFFIX_PATTERN = /^[a-z0-9]{6}$/;
const SUFFIX_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";

export class InvalidIdError extends Error {
  override readonly name = "InvalidIdError";
}

export function assertHostId(hostId: string): string {
  if (!HOST_ID_PATTERN.test(hostId)) {
    throw new InvalidIdError(
      `invalid host id ${JSON.stringify(hostId)}: use 1 to 63 lowercase letters, digits and inner hyphens, such as "web-01"`,
    );
  }
  return hostId;
}

/** Formats a UTC time as 20261204T201500123Z, which sorts in time order as text. */
export function formatStamp(at: Date): string {
  const iso = at.toISOString(); // 2026-12-04T20:15:00.123Z
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}T${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}${iso.slice(20, 23)}Z`;
}

export function parseStamp(stamp: string): Date {
  if (!STAMP_PATTERN.test(stamp)) {
    throw new InvalidIdError(`invalid time stamp ${JSON.stringify(stamp)}: expected the form 20261204T201500123Z`);
  }
  const iso = `${stamp.slice(0, 4)}-${stamp.slice(4, 6)}-${stamp.slice(6, 8)}T${stamp.slice(9, 11)}:${stamp.slice(11, 13)}:${stamp.slice(13, 15)}.${stamp.slice(15, 18)}Z`;
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) {
    throw new InvalidIdError(`invalid time stamp ${JSON.stringify(stamp)}: not a real date`);
  }
  return at;
}

function randomSuffix(): string {
  const bytes = randomBytes(6);
  let suffix = "";
  for (const byte of bytes) {
    suffix += SUFFIX_ALPHABET[byte % SUFFIX_ALPHABET.length];
  }
  return suffix;
}

/**
 * A backup id names its source host and its start time, for example
 * `web-01.20261204T201500123Z.k3j9x2`, so the catalog can find its manifest
 * from the id alone and ids of one host sort oldest first.
 */
export interface BackupIdParts {
  hostId: string;
  startedAt: Date;
  suffix: string;
}

export function newBackupId(hostId: string, at: Date = new Date()): string {
  return `${assertHostId(hostId)}.${formatStamp(at)}.${randomSuffix()}`;
}

export function parseBackupId(backupId: string): BackupIdParts {
  const parts = backupId.split(".");
  const [hostId, stamp, suffix] = parts;
  if (parts.length !== 3 || hostId === undefined || stamp === undefined || suffix === undefined || !SUFFIX_PATTERN.test(suffix)) {
    throw new InvalidIdError(
      `invalid backup id ${JSON.stringify(backupId)}: expected HOST.STAMP.SUFFIX, such as "web-01.20261204T201500123Z.k3j9x2"; list backups with GET /v1/backups`,
    );
  }
  return { hostId: assertHostId(hostId), startedAt: parseStamp(stamp), suffix };
}

/** Restore ids have the same shape as backup ids, with the target host first. */
export function newRestoreId(targetHostId: string, at: Date = new Date()): string {
  return newBackupId(targetHostId, at);
}
