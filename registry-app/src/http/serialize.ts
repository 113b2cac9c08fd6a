import { OFFICIAL_META_KEY } from "../schema";
import type { StoredVersion } from "../store";

const META_KEY = JSON.stringify(OFFICIAL_META_KEY);

/**
 * One ServerResponse as JSON text. The stored document is spliced in verbatim (PostgreSQL already
 * produced it as JSON), so reads never parse and re-serialise documents.
 */
export function entryJson(entry: StoredVersion): string {
  // Status and timestamps never need escaping (an enum, RFC 3339 text); the message may.
  const message =
    entry.statusMessage === null ? "" : `,"statusMessage":${JSON.stringify(entry.statusMessage)}`;
  return (
    `{"server":${entry.documentJson},"_meta":{${META_KEY}:{"status":"${entry.status}"${message},` +
    `"statusChangedAt":"${entry.statusChangedAt}","publishedAt":"${entry.publishedAt}",` +
    `"updatedAt":"${entry.updatedAt}","isLatest":${entry.isLatest}}}}`
  );
}

export function listJson(entries: StoredVersion[], nextCursor: string | undefined): string {
  const metadata =
    nextCursor === undefined ? { count: entries.length } : { nextCursor, count: entries.length };
  return `{"servers":[${entries.map(entryJson).join(",")}],"metadata":${JSON.stringify(metadata)}}`;
}

export function bulkStatusJson(updatedCount: number, servers: StoredVersion[]): string {
  return `{"updatedCount":${updatedCount},"servers":[${servers.map(entryJson).join(",")}]}`;
}
