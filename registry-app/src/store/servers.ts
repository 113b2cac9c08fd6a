import { attributeFilterConditions, type AttributeFilter } from "./attributes";
import type { Database, Queryable } from "./db";
import { countFacets, facetRows, type FacetCounts, type FacetRequest, type FacetRow } from "./facets";

export type ServerStatus = "active" | "deprecated" | "deleted";

/**
 * One stored server version. The document stays JSON text and the timestamps come as RFC 3339 text in
 * UTC with milliseconds (as the API shows them), so reads never parse and re-format either.
 */
export interface StoredVersion {
  id: string;
  name: string;
  version: string;
  documentJson: string;
  status: ServerStatus;
  statusMessage: string | null;
  statusChangedAt: string;
  publishedAt: string;
  updatedAt: string;
  isLatest: boolean;
  /** Absent only on the row registry_publish returns (it predates migration 5's columns). */
  classification?: VersionClassification;
}

/** Effective categories and tags of a version (an administrator's override, else the publisher's). */
export interface VersionClassification {
  /** Every well-formed id; readers keep to the taxonomy's. */
  categories: string[];
  tags: string[];
  /** Set by an administrator for the whole server name, not by the publisher. */
  categoriesCurated: boolean;
  tagsCurated: boolean;
}

/** What the latest-version rules need to know about each version of a name. */
export interface RankingRow {
  id: string;
  version: string;
  status: ServerStatus;
  publishedAt: Date;
  isLatest: boolean;
}

export interface ListFilter {
  /** Rows to return (callers ask for one more than a page to learn whether more follow). */
  limit: number;
  includeDeleted: boolean;
  updatedSince?: Date;
  latestOnly: boolean;
  version?: string;
  /** Keyset position: rows strictly after (name, version). */
  after?: { name: string; version: string };
  /** Categories, tags, package types, transports, remotes, statuses (migration 5). */
  attributes?: AttributeFilter;
}

export interface SearchFilter extends Omit<ListFilter, "after"> {
  text: string;
  /** Keyset position in (score desc, name, version) order. */
  after?: { score: number; name: string; version: string };
}

export interface NewVersion {
  name: string;
  version: string;
  document: unknown;
  description: string;
  title: string | null;
  at: Date;
}

interface VersionRecord {
  id: string;
  name: string;
  version: string;
  document_json: string;
  status: ServerStatus;
  status_message: string | null;
  status_changed_at: string;
  published_at: string;
  updated_at: string;
  is_latest: boolean;
  categories: string[];
  tags: string[];
  categories_curated: boolean;
  tags_curated: boolean;
}

/** A timestamptz of `v` as JavaScript's toISOString() writes it (UTC, milliseconds, Z). */
const iso = (column: string) =>
  `to_char(v.${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS ${column}`;

/** Migration 5's classification of a version. */
export const CLASSIFICATION_COLUMNS = "v.categories, v.tags, v.categories_curated, v.tags_curated";

/** The columns of a StoredVersion; every query using them names server_versions `v`. */
const COLUMNS = `v.id::text AS id, v.name, v.version, v.document::text AS document_json, v.status,
  v.status_message, ${iso("status_changed_at")}, ${iso("published_at")}, ${iso("updated_at")}, v.is_latest,
  ${CLASSIFICATION_COLUMNS}`;

/** What a publish needs stored, plus what lets the database order it against the current latest. */
export interface PublishRequest {
  name: string;
  version: string;
  document: unknown;
  description: string;
  title: string | null;
  /** Normalised remote URLs the version claims. */
  remoteUrls: string[];
  maxVersions: number;
  /** [major, minor, patch] when the version is semver without a prerelease, else undefined. */
  candidateMain?: readonly number[];
  /** The caller's ordering against a latest the database reported ('decide'): sign of new vs that one. */
  versus?: { id: string; order: number };
}

export type PublishOutcome =
  | { outcome: "stored"; stored: StoredVersion }
  | { outcome: "cap" }
  | { outcome: "duplicate" }
  | { outcome: "remote-taken"; owners: Map<string, string> }
  | { outcome: "decide"; latest: { id: string; version: string } };

interface PublishRecord {
  outcome: "stored" | "cap" | "duplicate" | "decide";
  r_id: string | null;
  r_version: string | null;
  r_document_json: string | null;
  r_status: ServerStatus | null;
  r_status_message: string | null;
  r_status_changed_at: string | null;
  r_published_at: string | null;
  r_updated_at: string | null;
  r_is_latest: boolean | null;
}

/** SQLSTATE registry_publish raises when another name owns a remote URL (DETAIL: JSON of the owners). */
const REMOTE_TAKEN_SQLSTATE = "MR409";

/** First key of the two-key advisory locks that serialise writes to one server name. */
const NAME_LOCK_CLASS = 0x6d637072; // "mcpr"

/**
 * Second key of a name's advisory lock: FNV-1a as a signed 32-bit integer. Computed here (not with
 * hashtext) so the lock can travel with BEGIN as constant SQL; collisions only serialise two names.
 */
export function nameLockKey(name: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(name, "utf8")) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193);
  }
  return hash | 0;
}

/** Constant SQL that takes the write lock of `name` until the transaction ends. */
export function nameLockPrelude(name: string): string {
  return `SELECT pg_advisory_xact_lock(${NAME_LOCK_CLASS}, ${nameLockKey(name)})`;
}

/** Most words of a search query that reach the full-text query. */
const MAX_SEARCH_WORDS = 10;

function toStored(row: VersionRecord): StoredVersion {
  return {
    id: row.id,
    name: row.name,
    version: row.version,
    documentJson: row.document_json,
    status: row.status,
    statusMessage: row.status_message,
    statusChangedAt: row.status_changed_at,
    publishedAt: row.published_at,
    updatedAt: row.updated_at,
    isLatest: row.is_latest,
    classification: toClassification(row),
  };
}

export function toClassification(row: {
  categories: string[];
  tags: string[];
  categories_curated: boolean;
  tags_curated: boolean;
}): VersionClassification {
  return {
    categories: row.categories,
    tags: row.tags,
    categoriesCurated: row.categories_curated,
    tagsCurated: row.tags_curated,
  };
}

/**
 * The words of a search as two tsqueries: any word (to match) and every word (to rank documents that
 * have them all higher); the last word also matches as a prefix, for search-as-you-type. Only letters
 * and digits pass, so no tsquery syntax can be injected.
 */
export function searchTsquery(text: string): { any: string; all: string } | null {
  const words = (text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [])
    .slice(0, MAX_SEARCH_WORDS)
    .map((word) => word.slice(0, 64));
  if (words.length === 0) return null;
  const terms = words.map((word, index) => (index === words.length - 1 ? `${word}:*` : word));
  return { any: terms.join(" | "), all: terms.join(" & ") };
}

export function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (char) => `\\${char}`)}%`;
}

/** SQL conditions shared by list, search and facet counts. */
export function filterConditions(filter: Omit<ListFilter, "after" | "limit">, params: unknown[]): string[] {
  const conditions: string[] = [];
  if (!filter.includeDeleted) conditions.push("v.status <> 'deleted'");
  if (filter.updatedSince !== undefined) {
    params.push(filter.updatedSince);
    conditions.push(`v.updated_at > $${params.length}`);
  }
  if (filter.latestOnly) conditions.push("v.is_latest");
  if (filter.version !== undefined) {
    params.push(filter.version);
    conditions.push(`v.version = $${params.length}`);
  }
  conditions.push(...attributeFilterConditions(filter.attributes, params));
  return conditions;
}

function where(conditions: string[]): string {
  return conditions.length === 0 ? "" : `WHERE ${conditions.join(" AND ")}`;
}

/** Reads shared by the store (pool) and the writer (inside its transaction). */
async function selectVersion(
  q: Queryable,
  name: string,
  version: string,
): Promise<StoredVersion | undefined> {
  const { rows } = await q.query<VersionRecord>(
    `SELECT ${COLUMNS} FROM server_versions v WHERE v.name = $1 AND v.version = $2`,
    [name, version],
  );
  return rows[0] === undefined ? undefined : toStored(rows[0]);
}

/** Versions of a name, newest publication first. */
async function selectVersions(q: Queryable, name: string, includeDeleted: boolean): Promise<StoredVersion[]> {
  const { rows } = await q.query<VersionRecord>(
    `SELECT ${COLUMNS} FROM server_versions v
     WHERE v.name = $1 ${includeDeleted ? "" : "AND v.status <> 'deleted'"}
     ORDER BY v.published_at DESC, v.id DESC`,
    [name],
  );
  return rows.map(toStored);
}

/** Reads of server versions, plus transactions holding a per-name lock for writes. */
export class ServerStore {
  constructor(private readonly db: Database) {}

  async list(filter: ListFilter): Promise<StoredVersion[]> {
    const params: unknown[] = [];
    const conditions = filterConditions(filter, params);
    if (filter.after !== undefined) {
      params.push(filter.after.name, filter.after.version);
      conditions.push(`(v.name, v.version) > ($${params.length - 1}, $${params.length})`);
    }
    params.push(filter.limit);
    const { rows } = await this.db.query<VersionRecord>(
      `SELECT ${COLUMNS} FROM server_versions v ${where(conditions)}
       ORDER BY v.name, v.version LIMIT $${params.length}`,
      params,
    );
    return rows.map(toStored);
  }

  /**
   * Ranked search over names, titles and descriptions: exact name hits first, then documents holding
   * every word, then trigram similarity of the name (typos, partial words) and full-text rank.
   */
  async search(filter: SearchFilter): Promise<Array<StoredVersion & { score: number }>> {
    const text = filter.text.trim().slice(0, 200);
    const tsquery = searchTsquery(text);
    const params: unknown[] = [text, tsquery?.any ?? null, likePattern(text), tsquery?.all ?? null];
    const conditions = filterConditions(filter, params);
    let cursor = "";
    if (filter.after !== undefined) {
      params.push(filter.after.score, filter.after.name, filter.after.version);
      const [s, n, ver] = [params.length - 2, params.length - 1, params.length];
      cursor = `WHERE ranked.score < $${s} OR (ranked.score = $${s} AND (ranked.name, ranked.version) > ($${n}, $${ver}))`;
    }
    params.push(filter.limit);
    // Three index-backed ways to match: full text (GIN tsvector), substring and word similarity (GIN
    // trgm), each its own index scan (an OR would let a broad word turn them into one scan that tests
    // word similarity on every row). The page is ranked and cut on keys alone; only its rows are then
    // read whole.
    const { rows } = await this.db.query<VersionRecord & { score: string }>(
      `WITH matched AS (
         SELECT id FROM server_versions WHERE search_document @@ to_tsquery('english', $2::text)
         UNION SELECT id FROM server_versions WHERE name ILIKE $3
         UNION SELECT id FROM server_versions WHERE $1::text <% name
       ), page AS (
         SELECT * FROM (
           SELECT v.id, v.name, v.version,
             round((
               CASE WHEN lower(v.name) = lower($1::text) OR lower(split_part(v.name, '/', 2)) = lower($1::text)
                 THEN 4 ELSE 0 END
               + 2 * word_similarity($1::text, v.name)
               + coalesce(ts_rank(v.search_document, to_tsquery('english', $2::text)), 0)
               + CASE WHEN v.search_document @@ to_tsquery('english', $4::text) THEN 1 ELSE 0 END
             ) * 1000000)::bigint AS score
           FROM matched JOIN server_versions v ON v.id = matched.id
           ${where(conditions)}
         ) ranked
         ${cursor}
         ORDER BY ranked.score DESC, ranked.name, ranked.version
         LIMIT $${params.length}
       )
       SELECT ${COLUMNS}, page.score FROM page JOIN server_versions v ON v.id = page.id
       ORDER BY page.score DESC, page.name, page.version`,
      params,
    );
    return rows.map((row) => ({ ...toStored(row), score: Number(row.score) }));
  }

  /** All versions of a name, newest publication first. */
  versions(name: string, includeDeleted: boolean): Promise<StoredVersion[]> {
    return selectVersions(this.db, name, includeDeleted);
  }

  get(name: string, version: string): Promise<StoredVersion | undefined> {
    return selectVersion(this.db, name, version);
  }

  async getLatest(name: string): Promise<StoredVersion | undefined> {
    const { rows } = await this.db.query<VersionRecord>(
      `SELECT ${COLUMNS} FROM server_versions v WHERE v.name = $1 AND v.is_latest`,
      [name],
    );
    return rows[0] === undefined ? undefined : toStored(rows[0]);
  }

  /**
   * The change generation: one of its shards is bumped at the commit of every transaction that changes
   * server_versions (migrations 2 and 3), so an equal value means nothing a read returns has changed.
   */
  async changeGeneration(): Promise<string> {
    const { rows } = await this.db.query<{ value: string | null }>(
      "SELECT string_agg(value::text, '.' ORDER BY shard) AS value FROM registry_generation_shards",
    );
    const value = rows[0]?.value;
    if (value == null) throw new Error("registry_generation_shards is empty; run the migrate command");
    return value;
  }

  /** The effective classification of one version (registry_publish returns rows without it). */
  async classificationOf(id: string): Promise<VersionClassification | undefined> {
    const { rows } = await this.db.query<Parameters<typeof toClassification>[0]>(
      `SELECT ${CLASSIFICATION_COLUMNS} FROM server_versions v WHERE v.id = $1`,
      [id],
    );
    return rows[0] === undefined ? undefined : toClassification(rows[0]);
  }

  /** Facet counts over the versions a list or search would return (every page). */
  facets(request: FacetRequest): Promise<FacetCounts> {
    return countFacets(this.db, request);
  }

  /** Every version's facet columns, for the service's in-memory facet index. */
  facetRows(): Promise<FacetRow[]> {
    return facetRows(this.db);
  }

  async countVersions(name: string): Promise<number> {
    const { rows } = await this.db.query<{ count: number }>(
      "SELECT count(*)::int AS count FROM server_versions WHERE name = $1",
      [name],
    );
    return rows[0]?.count ?? 0;
  }

  /** Owner names of remote URLs (read-only; used by /validate). */
  async remoteUrlOwners(urls: string[]): Promise<Map<string, string>> {
    if (urls.length === 0) return new Map();
    const { rows } = await this.db.query<{ url: string; name: string }>(
      "SELECT url, name FROM remote_urls WHERE url = ANY($1::text[])",
      [urls],
    );
    return new Map(rows.map((row) => [row.url, row.name]));
  }

  /**
   * After bulk ingestion: fresh planner statistics, GIN pending lists merged and the visibility map
   * set, so searches use their indexes at once instead of after autovacuum's next visit.
   */
  async refreshStatistics(): Promise<void> {
    await this.db.query("VACUUM (ANALYZE) server_versions");
  }

  async syncWatermark(source: string): Promise<Date | undefined> {
    const { rows } = await this.db.query<{ watermark: Date }>(
      "SELECT watermark FROM sync_state WHERE source = $1",
      [source],
    );
    return rows[0]?.watermark;
  }

  async setSyncWatermark(source: string, watermark: Date): Promise<void> {
    await this.db.query(
      `INSERT INTO sync_state (source, watermark, synced_at) VALUES ($1, $2, now())
       ON CONFLICT (source) DO UPDATE SET watermark = greatest(sync_state.watermark, EXCLUDED.watermark),
         synced_at = now()`,
      [source, watermark],
    );
  }

  /**
   * Publishes one version in one round trip (migration 3's registry_publish): its own transaction,
   * under the name's lock, all or nothing. Waiting for the lock is bounded by the statement timeout.
   */
  async publish(request: PublishRequest): Promise<PublishOutcome> {
    let record: PublishRecord;
    try {
      const { rows } = await this.db.query<PublishRecord>(
        `SELECT * FROM registry_publish($1, $2, $3, $4, $5, $6::text[], $7, $8, $9, $10, $11::numeric[], $12, $13)`,
        [
          request.name,
          request.version,
          JSON.stringify(request.document),
          request.description,
          request.title,
          request.remoteUrls,
          request.maxVersions,
          NAME_LOCK_CLASS,
          nameLockKey(request.name),
          this.db.statementTimeoutMs,
          request.candidateMain ?? null,
          request.versus?.id ?? null,
          request.versus?.order ?? null,
        ],
      );
      record = rows[0] as PublishRecord;
    } catch (error) {
      const { code, detail } = error as { code?: unknown; detail?: unknown };
      if (code !== REMOTE_TAKEN_SQLSTATE || typeof detail !== "string") throw error;
      const owners = JSON.parse(detail) as Array<{ url: string; name: string }>;
      return { outcome: "remote-taken", owners: new Map(owners.map((owner) => [owner.url, owner.name])) };
    }
    switch (record.outcome) {
      case "cap":
      case "duplicate":
        return { outcome: record.outcome };
      case "decide":
        return { outcome: "decide", latest: { id: record.r_id ?? "", version: record.r_version ?? "" } };
      case "stored":
        return {
          outcome: "stored",
          stored: {
            id: record.r_id ?? "",
            name: request.name,
            version: record.r_version ?? "",
            documentJson: record.r_document_json ?? "",
            status: record.r_status ?? "active",
            statusMessage: record.r_status_message,
            statusChangedAt: record.r_status_changed_at ?? "",
            publishedAt: record.r_published_at ?? "",
            updatedAt: record.r_updated_at ?? "",
            isLatest: record.r_is_latest ?? false,
          },
        };
    }
  }

  /** Runs fn in one transaction that holds the write lock of `name` until commit. */
  withNameLock<T>(name: string, fn: (tx: ServerWriter) => Promise<T>): Promise<T> {
    return this.db.transaction((tx) => fn(new ServerWriter(tx, name)), { prelude: nameLockPrelude(name) });
  }
}

/** Writes to the versions of one name, inside a transaction that holds that name's lock. */
export class ServerWriter {
  constructor(
    private readonly tx: Queryable,
    readonly name: string,
  ) {}

  /** The database clock, millisecond precision, read after the lock: monotonic per name. */
  async now(): Promise<Date> {
    const { rows } = await this.tx.query<{ now: Date }>(
      "SELECT date_trunc('milliseconds', clock_timestamp()) AS now",
    );
    return (rows[0] as { now: Date }).now;
  }

  find(version: string): Promise<StoredVersion | undefined> {
    return selectVersion(this.tx, this.name, version);
  }

  /** Every version of the name, deleted ones included, newest publication first. */
  all(): Promise<StoredVersion[]> {
    return selectVersions(this.tx, this.name, true);
  }

  async latest(): Promise<RankingRow | undefined> {
    const rows = await this.ranking("AND is_latest");
    return rows[0];
  }

  /** Every version of the name in publication order (oldest first). */
  async rankingRows(): Promise<RankingRow[]> {
    return this.ranking("");
  }

  private async ranking(extra: string): Promise<RankingRow[]> {
    const { rows } = await this.tx.query<{
      id: string;
      version: string;
      status: ServerStatus;
      published_at: Date;
      is_latest: boolean;
    }>(
      `SELECT id::text AS id, version, status, published_at, is_latest FROM server_versions
       WHERE name = $1 ${extra} ORDER BY published_at, id`,
      [this.name],
    );
    return rows.map((row) => ({
      id: row.id,
      version: row.version,
      status: row.status,
      publishedAt: row.published_at,
      isLatest: row.is_latest,
    }));
  }

  /**
   * Claims remote URLs for this name (first publisher owns a URL for good) and returns the URLs that
   * another name already owns.
   */
  async claimRemoteUrls(urls: string[]): Promise<Map<string, string>> {
    if (urls.length === 0) return new Map();
    await this.tx.query(
      `INSERT INTO remote_urls (url, name) SELECT DISTINCT unnest($1::text[]), $2
       ON CONFLICT (url) DO NOTHING`,
      [urls, this.name],
    );
    const { rows } = await this.tx.query<{ url: string; name: string }>(
      "SELECT url, name FROM remote_urls WHERE url = ANY($1::text[]) AND name <> $2",
      [urls, this.name],
    );
    return new Map(rows.map((row) => [row.url, row.name]));
  }

  /** Inserts an active version; a new latest goes in only after unsetLatest (the index checks each row). */
  async insert(row: NewVersion & { isLatest: boolean }): Promise<StoredVersion> {
    const { rows } = await this.tx.query<VersionRecord>(
      `INSERT INTO server_versions AS v (name, version, document, description, title, status,
         status_changed_at, published_at, updated_at, is_latest)
       VALUES ($1, $2, $3, $4, $5, 'active', $6, $6, $6, $7)
       RETURNING ${COLUMNS}`,
      [row.name, row.version, JSON.stringify(row.document), row.description, row.title, row.at, row.isLatest],
    );
    return toStored(rows[0] as VersionRecord);
  }

  async updateDocument(
    id: string,
    change: { document: unknown; description: string; title: string | null; at: Date },
  ): Promise<StoredVersion> {
    const { rows } = await this.tx.query<VersionRecord>(
      `UPDATE server_versions AS v SET document = $2, description = $3, title = $4, updated_at = $5
       WHERE v.id = $1 RETURNING ${COLUMNS}`,
      [id, JSON.stringify(change.document), change.description, change.title, change.at],
    );
    return toStored(rows[0] as VersionRecord);
  }

  async setStatus(
    ids: string[],
    change: { status: ServerStatus; statusMessage: string | null; at: Date },
  ): Promise<void> {
    if (ids.length === 0) return;
    await this.tx.query(
      `UPDATE server_versions SET status = $2, status_message = $3, status_changed_at = $4, updated_at = $4
       WHERE id = ANY($1::bigint[])`,
      [ids, change.status, change.statusMessage, change.at],
    );
  }

  /**
   * Makes `id` the only latest version of the name. Rows whose flag flips count as updated, so
   * `updated_since` readers (sync) learn that isLatest moved.
   */
  async setLatest(id: string, at: Date): Promise<void> {
    // Two statements: the partial unique index is checked row by row, so the old flag must go first.
    await this.tx.query(
      "UPDATE server_versions SET is_latest = false, updated_at = $3 WHERE name = $1 AND is_latest AND id <> $2",
      [this.name, id, at],
    );
    await this.tx.query(
      "UPDATE server_versions SET is_latest = true, updated_at = $2 WHERE id = $1 AND NOT is_latest",
      [id, at],
    );
  }
}
