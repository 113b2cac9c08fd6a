/** What a list answer needs of each entry: its API entry as stored (migration 4's entry_json). */
interface Rendered {
  entryJson: string;
}

/** A list answer as JSON text: the stored entries spliced in verbatim, never parsed or re-serialised. */
export function listJson(entries: readonly Rendered[], nextCursor: string | undefined): string {
  const metadata =
    nextCursor === undefined ? { count: entries.length } : { nextCursor, count: entries.length };
  return `{"servers":[${entries.map((entry) => entry.entryJson).join(",")}],"metadata":${JSON.stringify(metadata)}}`;
}

export function bulkStatusJson(updatedCount: number, servers: readonly Rendered[]): string {
  return `{"updatedCount":${updatedCount},"servers":[${servers.map((entry) => entry.entryJson).join(",")}]}`;
}
