import type { Taxonomy } from "../classification";
import type { ValidationIssue } from "../schema";
import type { FacetCounts } from "../service";
import type { VersionClassification } from "../store";
import { CLASSIFICATION_META_KEY } from "./classification-schemas";

const CLASSIFICATION_KEY = JSON.stringify(CLASSIFICATION_META_KEY);
/** How a stored entry ends: the closing braces of its _meta and of itself (ASCII, one byte each). */
const CLOSE_META = "}}";

/** What an answer needs of each entry: its API entry as stored (migration 4) and its classification (5). */
interface Rendered {
  entryJson: string;
  classification?: VersionClassification;
}

/** Labels are [a-z0-9-] (normalised by the database or validated), so they need no escaping. */
const labels = (values: readonly string[]) => (values.length === 0 ? "[]" : `["${values.join('","')}"]`);

/**
 * The registry-owned classification key of an entry's _meta, or "" when there is nothing to show:
 * effective categories (the taxonomy's only) and tags, which parts an administrator set, and (publish
 * and edit answers only) what was not indexed as written.
 */
function classificationMeta(
  c: VersionClassification | undefined,
  taxonomy: Taxonomy,
  warnings?: ValidationIssue[],
): string {
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
 * Renderings of read classifications, which are frozen and shared between rows (toClassification),
 * so a page renders each once while it is in use, not once per entry and answer.
 */
const rendered = new WeakMap<Taxonomy, WeakMap<VersionClassification, string>>();

/** classificationMeta without warnings; kept with the classification when it is a frozen one. */
function keptMeta(c: VersionClassification | undefined, taxonomy: Taxonomy): string {
  if (c === undefined || !Object.isFrozen(c)) return classificationMeta(c, taxonomy);
  let byClassification = rendered.get(taxonomy);
  if (byClassification === undefined) {
    byClassification = new WeakMap();
    rendered.set(taxonomy, byClassification);
  }
  let meta = byClassification.get(c);
  if (meta === undefined) {
    meta = classificationMeta(c, taxonomy);
    byClassification.set(c, meta);
  }
  return meta;
}

/**
 * One ServerResponse as JSON text: the stored entry verbatim (never parsed or re-serialised), with the
 * classification spliced in as the last key of its _meta. The taxonomy is the operator's (a file the
 * database does not know), so it is applied here, not when the row is written. The stored entry ends
 * with the official object's, _meta's and the entry's closing braces.
 */
export function entryJson(entry: Rendered, taxonomy: Taxonomy, warnings?: ValidationIssue[]): string {
  const meta =
    warnings === undefined
      ? keptMeta(entry.classification, taxonomy)
      : classificationMeta(entry.classification, taxonomy, warnings);
  return meta === ""
    ? entry.entryJson
    : `${entry.entryJson.slice(0, -CLOSE_META.length)}${meta}${CLOSE_META}`;
}

const LIST_OPEN = Buffer.from('{"servers":[');
const COMMA = 0x2c;
const CLOSE_META_BYTES = Buffer.from(CLOSE_META);

/**
 * A list answer as UTF-8 bytes, each entry written on its own into one buffer of the exact size.
 * Joining the entries into one string first costs several times as much: one entry with a character
 * outside Latin-1 makes the whole joined string two-byte, which V8 flattens and encodes slowly (a
 * 100-entry page of the bench dataset: 1,040-1,270 µs joined, 140-150 µs written entry by entry; see
 * BENCHMARKS.md). An entry with classification is not spliced into a new string either (as entryJson
 * does): the stored entry is written, its last two bytes (the closing braces of _meta and the entry,
 * ASCII) are written over by the classification, and the braces follow it.
 */
export function listBody(
  entries: readonly Rendered[],
  nextCursor: string | undefined,
  taxonomy: Taxonomy,
  counted?: FacetCounts,
): Buffer {
  const metadata = {
    ...(nextCursor === undefined ? {} : { nextCursor }),
    count: entries.length,
    ...(counted === undefined ? {} : { totalCount: counted.total, facets: counted.facets }),
  };
  const metas = entries.map((entry) => keptMeta(entry.classification, taxonomy));
  const tail = `],"metadata":${JSON.stringify(metadata)}}`;
  let size = LIST_OPEN.length + Math.max(0, entries.length - 1) + Buffer.byteLength(tail, "utf8");
  for (let index = 0; index < entries.length; index += 1) {
    const meta = metas[index] as string;
    size += Buffer.byteLength((entries[index] as Rendered).entryJson, "utf8");
    if (meta !== "") size += Buffer.byteLength(meta, "utf8");
  }
  const body = Buffer.allocUnsafe(size);
  let at = LIST_OPEN.copy(body, 0);
  for (let index = 0; index < entries.length; index += 1) {
    const meta = metas[index] as string;
    if (index > 0) at = body.writeUInt8(COMMA, at);
    at += body.write((entries[index] as Rendered).entryJson, at, "utf8");
    if (meta === "") continue;
    at -= CLOSE_META_BYTES.length;
    if (body.compare(CLOSE_META_BYTES, 0, CLOSE_META_BYTES.length, at, at + CLOSE_META_BYTES.length) !== 0)
      throw new Error(
        `stored entry of ${(entries[index] as Rendered).entryJson.slice(0, 80)} does not end with "${CLOSE_META}"`,
      );
    at += body.write(meta, at, "utf8");
    at += CLOSE_META_BYTES.copy(body, at);
  }
  at += body.write(tail, at, "utf8");
  // Every byte of the uninitialised buffer is written, or the answer is not sent.
  if (at !== size) throw new Error(`list answer of ${at} bytes, ${size} expected`);
  return body;
}

export function bulkStatusJson(
  updatedCount: number,
  servers: readonly Rendered[],
  taxonomy: Taxonomy,
): string {
  return `{"updatedCount":${updatedCount},"servers":[${servers.map((entry) => entryJson(entry, taxonomy)).join(",")}]}`;
}
