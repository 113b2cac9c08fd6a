import type { Taxonomy } from "../classification";
import { OFFICIAL_META_KEY, type ValidationIssue } from "../schema";
import type { FacetCounts } from "../service";
import type { StoredVersion } from "../store";
import { CLASSIFICATION_META_KEY } from "./classification-schemas";

const META_KEY = JSON.stringify(OFFICIAL_META_KEY);
const CLASSIFICATION_KEY = JSON.stringify(CLASSIFICATION_META_KEY);

/** Labels are [a-z0-9-] (normalised by the database or validated), so they need no escaping. */
const labels = (values: readonly string[]) => (values.length === 0 ? "[]" : `["${values.join('","')}"]`);

/**
 * The registry-owned classification key of an entry's _meta, or "" when there is nothing to show:
 * effective categories (the taxonomy's only) and tags, which parts an administrator set, and (publish
 * and edit answers only) what was not indexed as written.
 */
function classificationMeta(entry: StoredVersion, taxonomy: Taxonomy, warnings?: ValidationIssue[]): string {
  const c = entry.classification;
  const categories = c === undefined ? [] : c.categories.filter((id) => taxonomy.has(id));
  const tags = c?.tags ?? [];
  const curated = [c?.categoriesCurated ? "categories" : "", c?.tagsCurated ? "tags" : ""].filter(Boolean);
  const noted = warnings ?? [];
  if (categories.length === 0 && tags.length === 0 && curated.length === 0 && noted.length === 0) return "";
  return (
    `,${CLASSIFICATION_KEY}:{"categories":${labels(categories)},"tags":${labels(tags)}` +
    (curated.length === 0 ? "" : `,"curated":${labels(curated)}`) +
    (noted.length === 0
      ? ""
      : `,"warnings":${JSON.stringify(noted.map(({ path, message, reference }) => ({ path, message, reference })))}`) +
    "}"
  );
}

/**
 * One ServerResponse as JSON text. The stored document is spliced in verbatim (PostgreSQL already
 * produced it as JSON), so reads never parse and re-serialise documents.
 */
export function entryJson(entry: StoredVersion, taxonomy: Taxonomy, warnings?: ValidationIssue[]): string {
  // Status and timestamps never need escaping (an enum, RFC 3339 text); the message may.
  const message =
    entry.statusMessage === null ? "" : `,"statusMessage":${JSON.stringify(entry.statusMessage)}`;
  return (
    `{"server":${entry.documentJson},"_meta":{${META_KEY}:{"status":"${entry.status}"${message},` +
    `"statusChangedAt":"${entry.statusChangedAt}","publishedAt":"${entry.publishedAt}",` +
    `"updatedAt":"${entry.updatedAt}","isLatest":${entry.isLatest}}` +
    `${classificationMeta(entry, taxonomy, warnings)}}}`
  );
}

export function listJson(
  entries: StoredVersion[],
  nextCursor: string | undefined,
  taxonomy: Taxonomy,
  counted?: FacetCounts,
): string {
  const metadata = {
    ...(nextCursor === undefined ? {} : { nextCursor }),
    count: entries.length,
    ...(counted === undefined ? {} : { totalCount: counted.total, facets: counted.facets }),
  };
  const servers = entries.map((entry) => entryJson(entry, taxonomy)).join(",");
  return `{"servers":[${servers}],"metadata":${JSON.stringify(metadata)}}`;
}

export function bulkStatusJson(updatedCount: number, servers: StoredVersion[], taxonomy: Taxonomy): string {
  return `{"updatedCount":${updatedCount},"servers":[${servers.map((entry) => entryJson(entry, taxonomy)).join(",")}]}`;
}
