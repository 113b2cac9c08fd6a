import { attributeConditions, type AttributeFilter, type FacetName } from "./attributes";
import type { Database, Queryable } from "./db";
import { filterConditions, likePattern, searchTsquery, type ListFilter, type ServerStatus } from "./servers";

export interface FacetCount {
  value: string;
  count: number;
}

export interface FacetResult {
  /** Over the result set under every filter; values without versions left out. */
  counts: FacetCount[];
  /** Over the result set without this facet's own filter; present only when that filter is given. */
  unfiltered?: FacetCount[];
}

export interface FacetRequest extends Omit<ListFilter, "after" | "limit" | "attributes"> {
  attributes?: AttributeFilter;
  /** Ranked search text: the facets cover the versions the search matches. */
  search?: string;
  facets: readonly FacetName[];
  /** Category ids the category facet reports (the taxonomy's). */
  knownCategories: readonly string[];
}

export interface FacetCounts {
  /** Versions in the whole result set (every page). */
  total: number;
  facets: Partial<Record<FacetName, FacetResult>>;
}

/** How each facet's values come out of one base row. */
const FACET_VALUES: Record<FacetName, { from: string; value: string }> = {
  category: { from: "unnest(base.categories) AS value", value: "value" },
  tag: { from: "unnest(base.tags) AS value", value: "value" },
  registry_type: { from: "unnest(base.registry_types) AS value", value: "value" },
  transport: { from: "unnest(base.transports) AS value", value: "value" },
  status: { from: "(SELECT base.status AS value) AS one", value: "value" },
  remote: { from: "(SELECT base.has_remote::text AS value) AS one", value: "value" },
};

interface FacetCountRow {
  facet: number;
  value: string | null;
  n: string;
  u: string;
}

/** Most first, then by value (labels and enums are ASCII: code-unit order is byte order). */
export function byCount(a: FacetCount, b: FacetCount): number {
  return b.count - a.count || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0);
}

/**
 * Facet counts in one statement: the versions in scope are read once (a materialised CTE with one
 * boolean per given filter), then each facet groups its values over the rows that pass every filter
 * (counts) and every filter but its own (unfiltered).
 */
export async function countFacets(db: Queryable, request: FacetRequest): Promise<FacetCounts> {
  const params: unknown[] = [];
  const conditions = filterConditions({ ...request, attributes: undefined }, params);
  const search = request.search?.trim().slice(0, 200);
  if (search) {
    // The same three matches as ServerStore.search (full text, substring, word similarity of the name).
    const tsquery = searchTsquery(search);
    params.push(search, tsquery?.any ?? null, likePattern(search));
    const [text, any, like] = [params.length - 2, params.length - 1, params.length];
    conditions.push(
      `(v.search_document @@ to_tsquery('english', $${any}::text) OR v.name ILIKE $${like} OR $${text}::text <% v.name)`,
    );
  }
  const attributes = attributeConditions(request.attributes, params);
  const flags = [...attributes.entries()];
  const flagOf = new Map(flags.map(([facet], index) => [facet, `f${index}`]));
  const passes = (except?: FacetName) =>
    flags
      .filter(([facet]) => facet !== except)
      .map(([facet]) => `base.${flagOf.get(facet) as string}`)
      .join(" AND ") || "true";
  params.push(request.knownCategories);
  const known = `$${params.length}::text[]`;
  const selects = [
    `SELECT 0 AS facet, NULL AS value, count(*) FILTER (WHERE ${passes()}) AS n, 0 AS u FROM base`,
  ];
  request.facets.forEach((facet, index) => {
    const { from, value } = FACET_VALUES[facet];
    const own = attributes.has(facet);
    const where = own ? passes(facet) : passes();
    const onlyKnown = facet === "category" ? ` AND ${value} = ANY(${known})` : "";
    selects.push(
      `SELECT ${index + 1}, ${value}, count(*) FILTER (WHERE ${passes()}), ${own ? "count(*)" : "0"}
       FROM base CROSS JOIN LATERAL ${from} WHERE ${where}${onlyKnown} GROUP BY ${value}`,
    );
  });
  const columns = flags.map(([facet, sql]) => `${sql} AS ${flagOf.get(facet) as string}`);
  const { rows } = await db.query<FacetCountRow>(
    `WITH base AS MATERIALIZED (
       SELECT v.categories, v.tags, v.registry_types, v.transports, v.status, v.has_remote
         ${columns.map((column) => `, ${column}`).join("")}
       FROM server_versions v ${conditions.length === 0 ? "" : `WHERE ${conditions.join(" AND ")}`}
     )
     ${selects.join("\nUNION ALL\n")}`,
    params,
  );
  const result: FacetCounts = { total: 0, facets: {} };
  const counts = request.facets.map(() => ({ counts: [] as FacetCount[], unfiltered: [] as FacetCount[] }));
  for (const row of rows) {
    if (row.facet === 0) {
      result.total = Number(row.n);
      continue;
    }
    const target = counts[row.facet - 1];
    if (target === undefined || row.value === null) continue;
    const n = Number(row.n);
    if (n > 0) target.counts.push({ value: row.value, count: n });
    target.unfiltered.push({ value: row.value, count: Number(row.u) });
  }
  request.facets.forEach((facet, index) => {
    const target = counts[index] as { counts: FacetCount[]; unfiltered: FacetCount[] };
    result.facets[facet] = attributes.has(facet)
      ? { counts: target.counts.sort(byCount), unfiltered: target.unfiltered.sort(byCount) }
      : { counts: target.counts.sort(byCount) };
  });
  return result;
}

/** What the in-memory facet index keeps of each version. */
export interface FacetRow {
  id: string;
  name: string;
  version: string;
  status: ServerStatus;
  is_latest: boolean;
  has_remote: boolean;
  categories: string[];
  tags: string[];
  registry_types: string[];
  transports: string[];
}

/**
 * Versions per statement of a full load: each part is parsed and applied before the next is read.
 * Measured at 143,413 versions (BENCHMARKS.md): peak RSS 163-166 MiB in parts of 5,000, 202-226 in parts of
 * 20,000, 250 in one statement; 2.6 s against 2.2 s in one.
 */
export const FACET_LOAD_PART = 5_000;

const FACET_ROW = `json_build_array(id::text, name, version, status, is_latest, has_remote, categories, tags,
  registry_types, transports)`;

type EncodedRow = [
  string,
  string,
  string,
  ServerStatus,
  boolean,
  boolean,
  string[],
  string[],
  string[],
  string[],
];

/** One part of a full load: $2 versions with ids above $1, as one JSON text, and the last id. */
export const FACET_LOAD_QUERY = `SELECT json_agg(${FACET_ROW})::text AS rows, max(id)::text AS last
  FROM (SELECT id, name, version, status, is_latest, has_remote, categories, tags, registry_types, transports
        FROM server_versions WHERE id > $1::bigint ORDER BY id LIMIT $2) v`;

/** One JSON text of rows (several times faster to parse than as many rows of arrays). */
function decodeRows(text: string | null | undefined): FacetRow[] {
  return (JSON.parse(text ?? "[]") as EncodedRow[]).map(
    ([id, name, version, status, isLatest, hasRemote, categories, tags, registryTypes, transports]) => ({
      id,
      name,
      version,
      status,
      is_latest: isLatest,
      has_remote: hasRemote,
      categories,
      tags,
      registry_types: registryTypes,
      transports,
    }),
  );
}

/**
 * The facet columns of every version written by a transaction with an id of at least `since`
 * (migration 5's facet_xid), handed to `take`, and the xmin of the snapshot they were read in: pass it
 * as `since` next time. What changed since an xmin comes in one statement. `since` "0" reads every
 * version, in parts of `part` versions by id, all in one REPEATABLE READ snapshot: no statement's
 * answer holds the whole catalogue (as one JSON text, 297,939 versions took 270 MiB of heap to parse).
 * `take` may return a promise; the next part is read once it settles.
 */
export async function facetChanges(
  db: Database,
  since: string,
  take: (rows: FacetRow[]) => void | Promise<void>,
  part = FACET_LOAD_PART,
): Promise<string> {
  if (since !== "0") {
    const { rows } = await db.query<{ xmin: string; rows: string | null }>(
      `SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin,
         (SELECT json_agg(${FACET_ROW})::text FROM server_versions WHERE facet_xid >= $1::xid8) AS rows`,
      [since],
    );
    await take(decodeRows(rows[0]?.rows));
    return rows[0]?.xmin ?? since;
  }
  return db.transaction(
    async (tx) => {
      const { rows } = await tx.query<{ xmin: string }>(
        "SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin",
      );
      let after = "0";
      for (;;) {
        const { rows: parts } = await tx.query<{ rows: string | null; last: string | null }>(
          FACET_LOAD_QUERY,
          [after, part],
        );
        const last = parts[0]?.last;
        if (last === null || last === undefined) break;
        await take(decodeRows(parts[0]?.rows));
        after = last;
      }
      return (rows[0] as { xmin: string }).xmin;
    },
    { prelude: "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY" },
  );
}
