// The server.json `$schema` URLs this registry knows: the one it validates against and the ones it tolerates.

export const CURRENT_SCHEMA_VERSION = "2025-12-11";

const schemaUrl = (version: string) =>
  `https://static.modelcontextprotocol.io/schemas/${version}/server.schema.json`;

export const CURRENT_SCHEMA_URL = schemaUrl(CURRENT_SCHEMA_VERSION);

/** Every earlier published server.json schema; documents citing them still get validated as 2025-12-11. */
export const OLDER_SCHEMA_VERSIONS: readonly string[] = Object.freeze([
  "2025-07-09",
  "2025-09-16",
  "2025-09-29",
  "2025-10-11",
  "2025-10-17",
]);

const olderUrls = new Map(OLDER_SCHEMA_VERSIONS.map((version) => [schemaUrl(version), version]));

export type SchemaUrlStatus = { kind: "current" } | { kind: "older"; version: string } | { kind: "unknown" };

export function schemaUrlStatus(url: string): SchemaUrlStatus {
  if (url === CURRENT_SCHEMA_URL) return { kind: "current" };
  const version = olderUrls.get(url);
  return version === undefined ? { kind: "unknown" } : { kind: "older", version };
}
