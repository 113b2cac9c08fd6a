import { attributeFilterConditions, type AttributeFilter } from "./attributes";
import { DatabaseUnavailableError, isConnectionError, type Database, type Queryable } from "./db";
import { countFacets, facetChanges, type FacetCounts, type FacetRequest, type FacetRow } from "./facets";
import { narrowedListQuery } from "./narrowed";

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
  /** The API entry (`{"server":…,"_meta":{…}}`) as stored with the row (migration 4). */
  entryJson: string;
  /** Absent only on rows registry_publish_many returns (it predates migration 5's columns). */
  classification?: VersionClassification;
}

/**
 * One entry of a read answer: its keys (cursors, the deleted check), its stored API entry and its
 * classification (spliced into the entry's _meta when served).
 */
export interface EntryRow {
  name: string;
  version: string;
  status: ServerStatus;
  entryJson: string;
  classification: VersionClassification;
}

/** An entry read by id, with the transaction that last wrote it (migration 5's facet_xid). */
export interface WrittenEntryRow {
  id: string;
  writtenBy: bigint;
  entry: EntryRow;
}

/**
 * Rows of one read plus, when asked for, the change generation they were read under: taken by the
 * same statement, so the same snapshot, whichever server of a read pool answered. Undefined when
 * not asked for, or when no row came back (nothing to tag).
 */
export interface Tagged<T> {
  rows: T[];
  generation?: string;
}

/** Change generations as of one moment of one server, and how far that server has replayed. */
export interface Freshness {
  /** Of everything: lists and searches depend on every name. */
  global: string;
  /** Of each asked-for name that has ever had a version. */
  names: Map<string, string>;
  /**
   * WAL replayed by a standby ("0/3000148"); null on a primary. Read after the statement's snapshot
   * was taken, so it may be past what the generations show: never proof that they include a write.
   */
  replayed: string | null;
}

/**
 * Effective categories and tags of a version (an administrator's override, else the publisher's).
 * Read ones are shared between rows and frozen (toClassification).
 */
export interface VersionClassification {
  /** Every well-formed id; readers keep to the taxonomy's. */
  readonly categories: readonly string[];
  readonly tags: readonly string[];
  /** Set by an administrator for the whole server name, not by the publisher. */
  readonly categoriesCurated: boolean;
  readonly tagsCurated: boolean;
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

export interface VersionRecord {
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
  entry_json: string;
  categories: string;
  tags: string;
  categories_curated: boolean;
  tags_curated: boolean;
}

interface EntryRecord {
  name: string;
  version: string;
  status: ServerStatus;
  entry_json: string;
  categories: string;
  tags: string;
  categories_curated: boolean;
  tags_curated: boolean;
  generation?: string | null;
}

/** A timestamptz of `v` as JavaScript's toISOString() writes it (UTC, milliseconds, Z). */
const iso = (column: string) =>
  `to_char(v.${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS ${column}`;

/**
 * Migration 5's classification of a version; the lists comma-joined (labels are [a-z0-9-]), which
 * splits several times faster than the driver parses array literals.
 */
export const CLASSIFICATION_COLUMNS = `array_to_string(v.categories, ',') AS categories,
  array_to_string(v.tags, ',') AS tags, v.categories_curated, v.tags_curated`;

/** The columns of a StoredVersion; every query using them names server_versions `v`. */
export const COLUMNS = `v.id::text AS id, v.name, v.version, v.document::text AS document_json, v.status,
  v.status_message, ${iso("status_changed_at")}, ${iso("published_at")}, ${iso("updated_at")}, v.is_latest,
  v.entry_json, ${CLASSIFICATION_COLUMNS}`;

/** What a read answer needs of each row; every query using them names server_versions `v`. */
const ENTRY_COLUMNS = `v.name, v.version, v.status, v.entry_json, ${CLASSIFICATION_COLUMNS}`;

/**
 * The generation of everything: sum and maximum of the 16 shards. The sum grows with every commit
 * that bumps one; the maximum is at least the clock of the last bump, so after a restore to an
 * earlier point the first bump yields a pair never seen before.
 */
const GLOBAL_GENERATION =
  "(SELECT sum(value)::text || '.' || max(value)::text FROM registry_generation_shards)";

/**
 * The freshness check of cached answers, one statement: the global generation, those of the names
 * asked for ($1, as one JSON object: cheaper than arrays, measured in bench/checks.ts), and how far
 * this server has replayed the WAL when it is a standby.
 */
export const FRESHNESS = `SELECT ${GLOBAL_GENERATION} AS global,
  (SELECT json_object_agg(name, value::text)::text FROM registry_name_generations WHERE name = ANY($1::text[])) AS names,
  CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()::text END AS replayed`;

/** The generation of one name (parameter `param`); its values only grow and are at least the clock. */
const nameGeneration = (param: string) =>
  `(SELECT value::text FROM registry_name_generations WHERE name = ${param})`;

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
}

/** One version's outcome in registry_publish_many, by its position in the batch. */
export type BatchItemOutcome =
  | { item: number; outcome: "stored"; stored: StoredVersion }
  | { item: number; outcome: "cap" | "duplicate" }
  /** The current latest is not plain semver: the caller orders against it and calls again from this item. */
  | { item: number; outcome: "decide"; latest: { id: string; version: string } };

/** A batch's outcomes, or the owners of remote URLs its versions claimed (then nothing was stored). */
export type BatchOutcome =
  { kind: "outcomes"; outcomes: BatchItemOutcome[] } | { kind: "remote-taken"; owners: Map<string, string> };

interface PublishRecord {
  item: number;
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
  r_entry_json: string | null;
}

function batchItem(name: string, row: PublishRecord): BatchItemOutcome {
  switch (row.outcome) {
    case "cap":
    case "duplicate":
      return { item: row.item, outcome: row.outcome };
    case "decide":
      return {
        item: row.item,
        outcome: "decide",
        latest: { id: row.r_id ?? "", version: row.r_version ?? "" },
      };
    case "stored":
      return {
        item: row.item,
        outcome: "stored",
        stored: {
          id: row.r_id ?? "",
          name,
          version: row.r_version ?? "",
          documentJson: row.r_document_json ?? "",
          status: row.r_status ?? "active",
          statusMessage: row.r_status_message,
          statusChangedAt: row.r_status_changed_at ?? "",
          publishedAt: row.r_published_at ?? "",
          updatedAt: row.r_updated_at ?? "",
          isLatest: row.r_is_latest ?? false,
          entryJson: row.r_entry_json ?? "",
        },
      };
  }
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

export function toStored(row: VersionRecord): StoredVersion {
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
    entryJson: row.entry_json,
    classification: toClassification(row),
  };
}

function toEntryRow(row: EntryRecord): EntryRow {
  return {
    name: row.name,
    version: row.version,
    status: row.status,
    entryJson: row.entry_json,
    classification: toClassification(row),
  };
}

function toTagged(rows: EntryRecord[]): Tagged<EntryRow> {
  return { rows: rows.map(toEntryRow), generation: rows[0]?.generation ?? undefined };
}

const labelList = (joined: string): readonly string[] =>
  Object.freeze(joined === "" ? [] : joined.split(","));

/** How many distinct (categories, tags) pairs `toClassification` keeps before it starts over. */
export const SHARED_CLASSIFICATIONS = 4096;

/**
 * Read classifications by their columns: comma-joined categories, then tags, then one per pair of
 * curated flags. Versions repeat a few classifications (every version of a name, and names of one
 * kind), so a page's rows share them instead of each splitting its lists into new arrays, and an
 * answer's rendering of one is kept with it (serialize.ts). Bounded: emptied when it reaches
 * SHARED_CLASSIFICATIONS pairs, as the next read fills it again.
 */
const sharedClassifications = new Map<string, Map<string, VersionClassification[]>>();
let sharedPairs = 0;

/** The classification of a read row: frozen, and the same object for the same columns. */
export function toClassification(row: {
  categories: string;
  tags: string;
  categories_curated: boolean;
  tags_curated: boolean;
}): VersionClassification {
  let byTags = sharedClassifications.get(row.categories);
  let curations = byTags?.get(row.tags);
  if (curations === undefined) {
    if (sharedPairs >= SHARED_CLASSIFICATIONS) {
      sharedClassifications.clear();
      sharedPairs = 0;
      byTags = undefined;
    }
    if (byTags === undefined) {
      byTags = new Map();
      sharedClassifications.set(row.categories, byTags);
    }
    curations = [];
    byTags.set(row.tags, curations);
    sharedPairs += 1;
  }
  const slot = (row.categories_curated ? 1 : 0) + (row.tags_curated ? 2 : 0);
  return (curations[slot] ??= Object.freeze({
    categories: labelList(row.categories),
    tags: labelList(row.tags),
    categoriesCurated: row.categories_curated,
    tagsCurated: row.tags_curated,
  }));
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

/**
 * The reads behind the API's GET routes, on one Queryable (a pool, or one connection of it). Each
 * answers entries and, when `tagged`, the generation they were read under: the global one for lists
 * and searches, the name's for reads of one name.
 */
export class EntryReader {
  constructor(
    private readonly q: Queryable,
    private readonly tagged: boolean,
  ) {}

  private tag(generation: string): string {
    return this.tagged ? `, ${generation} AS generation` : "";
  }

  async list(filter: ListFilter): Promise<Tagged<EntryRow>> {
    const params: unknown[] = [];
    const conditions = filterConditions(filter, params);
    if (filter.after !== undefined) {
      params.push(filter.after.name, filter.after.version);
      conditions.push(`(v.name, v.version) > ($${params.length - 1}, $${params.length})`);
    }
    params.push(filter.limit);
    const { rows } = await this.q.query<EntryRecord>(
      `SELECT ${ENTRY_COLUMNS}${this.tag(GLOBAL_GENERATION)} FROM server_versions v ${where(conditions)}
       ORDER BY v.name, v.version LIMIT $${params.length}`,
      params,
      { prepare: true },
    );
    return toTagged(rows);
  }

  /** A list page narrowed by attribute filters, found on the covering index first (see narrowedListQuery). */
  async narrowedList(filter: ListFilter): Promise<Tagged<EntryRow>> {
    const { text, params } = narrowedListQuery(filter, `${ENTRY_COLUMNS}${this.tag(GLOBAL_GENERATION)}`);
    const { rows } = await this.q.query<EntryRecord>(text, params, { prepare: true });
    return toTagged(rows);
  }

  /**
   * The versions of `ids` that exist, in no order, each with the transaction that last wrote it
   * (migration 5's facet_xid): pages the facet index found, read by primary key. Untagged: the index's
   * refresh sets a page's generation, and a version written since that refresh's snapshot is not used.
   */
  async byIds(ids: readonly string[]): Promise<WrittenEntryRow[]> {
    const { rows } = await this.q.query<EntryRecord & { id: string; written_by: string }>(
      `SELECT v.id::text AS id, v.facet_xid::text AS written_by, ${ENTRY_COLUMNS}
       FROM server_versions v WHERE v.id = ANY($1::bigint[])`,
      [ids],
      { prepare: true },
    );
    return rows.map((row) => ({ id: row.id, writtenBy: BigInt(row.written_by), entry: toEntryRow(row) }));
  }

  /** Facet counts over the versions a list or search would return (every page), in SQL. */
  facets(request: FacetRequest): Promise<FacetCounts> {
    return countFacets(this.q, request);
  }

  /**
   * Ranked search over names, titles and descriptions: exact name hits first, then documents holding
   * every word, then trigram similarity of the name (typos, partial words) and full-text rank.
   */
  async search(filter: SearchFilter): Promise<Tagged<EntryRow & { score: number }>> {
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
    const { rows } = await this.q.query<EntryRecord & { score: string }>(
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
       SELECT ${ENTRY_COLUMNS}, page.score${this.tag(GLOBAL_GENERATION)}
       FROM page JOIN server_versions v ON v.id = page.id
       ORDER BY page.score DESC, page.name, page.version`,
      params,
      { prepare: true },
    );
    const tagged = toTagged(rows);
    return {
      rows: tagged.rows.map((row, index) => ({ ...row, score: Number(rows[index]?.score) })),
      generation: tagged.generation,
    };
  }

  /** All versions of a name, newest publication first. */
  async versions(name: string, includeDeleted: boolean): Promise<Tagged<EntryRow>> {
    const { rows } = await this.q.query<EntryRecord>(
      `SELECT ${ENTRY_COLUMNS}${this.tag(nameGeneration("$1"))} FROM server_versions v
       WHERE v.name = $1 ${includeDeleted ? "" : "AND v.status <> 'deleted'"}
       ORDER BY v.published_at DESC, v.id DESC`,
      [name],
      { prepare: true },
    );
    return toTagged(rows);
  }

  async version(name: string, version: string): Promise<Tagged<EntryRow>> {
    const { rows } = await this.q.query<EntryRecord>(
      `SELECT ${ENTRY_COLUMNS}${this.tag(nameGeneration("$1"))} FROM server_versions v
       WHERE v.name = $1 AND v.version = $2`,
      [name, version],
      { prepare: true },
    );
    return toTagged(rows);
  }

  async latest(name: string): Promise<Tagged<EntryRow>> {
    const { rows } = await this.q.query<EntryRecord>(
      `SELECT ${ENTRY_COLUMNS}${this.tag(nameGeneration("$1"))} FROM server_versions v
       WHERE v.name = $1 AND v.is_latest`,
      [name],
      { prepare: true },
    );
    return toTagged(rows);
  }
}

/**
 * Server versions: writes on the primary under a per-name lock, the API's reads on the read pool
 * (a streaming standby when one is configured, else the primary itself).
 */
export class ServerStore {
  private readonly reads: Database;

  constructor(
    private readonly db: Database,
    reads?: Database,
  ) {
    this.reads = reads ?? db;
  }

  /** True when reads go to a pool of their own (a standby), which may lag behind the primary. */
  get hasReadPool(): boolean {
    return this.reads !== this.db;
  }

  /**
   * Runs fn with reads on the read pool; with `atLeast` (a WAL position a client's write ended at),
   * on one read connection whose server has replayed it, else on the primary.
   */
  reading<T>(
    options: { atLeast?: string; tagged: boolean },
    fn: (reader: EntryReader) => Promise<T>,
  ): Promise<T> {
    const on = (q: Queryable) => fn(new EntryReader(q, options.tagged));
    if (!this.hasReadPool) return on(this.db);
    const { atLeast } = options;
    return this.orPrimary(
      () => (atLeast === undefined ? on(this.reads) : this.reads.onConnectionAtLeast(atLeast, this.db, on)),
      () => on(this.db),
    );
  }

  /** A read on the read pool, or on the primary when no standby can be reached (reads stay up). */
  private async orPrimary<T>(onReads: () => Promise<T>, onPrimary: () => Promise<T>): Promise<T> {
    try {
      return await onReads();
    } catch (error) {
      if (!(error instanceof DatabaseUnavailableError) || !isConnectionError(error.cause)) throw error;
      return onPrimary();
    }
  }

  /**
   * Generations on the read pool as of one statement: the global one, those of `names`, and how far
   * the answering server has replayed (null on a primary).
   */
  freshness(names: readonly string[]): Promise<Freshness> {
    return this.orPrimary(
      () => this.freshnessOn(this.reads, names),
      () => this.freshnessOn(this.db, names),
    );
  }

  private async freshnessOn(q: Queryable, names: readonly string[]): Promise<Freshness> {
    const { rows } = await q.query<{ global: string | null; names: string | null; replayed: string | null }>(
      FRESHNESS,
      [names],
      { prepare: true },
    );
    const row = rows[0];
    if (row?.global == null) throw new Error("registry_generation_shards is empty; run the migrate command");
    const found = JSON.parse(row.names ?? "{}") as Record<string, string>;
    return { global: row.global, names: new Map(Object.entries(found)), replayed: row.replayed };
  }

  /** Where the primary's WAL is now: a read that reaches it sees every write acknowledged before. */
  writePosition(): Promise<string> {
    return this.db.currentWalLsn();
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
   * Generations on the primary as of one statement: what the facet index, which reads its changes on
   * the primary, compares itself with (a standby's may lag behind rows the index already holds).
   */
  primaryFreshness(names: readonly string[]): Promise<Freshness> {
    return this.freshnessOn(this.db, names);
  }

  /** The effective classification of one version (registry_publish_many returns rows without it). */
  async classificationOf(id: string): Promise<VersionClassification | undefined> {
    const { rows } = await this.db.query<Parameters<typeof toClassification>[0]>(
      `SELECT ${CLASSIFICATION_COLUMNS} FROM server_versions v WHERE v.id = $1`,
      [id],
    );
    return rows[0] === undefined ? undefined : toClassification(rows[0]);
  }

  /**
   * Facet columns of the versions written since a snapshot's xmin ("0": all, in parts), on the
   * primary, handed to `take`; resolves to the xmin of the snapshot read (see facetChanges).
   */
  facetChanges(
    since: string,
    take: (rows: FacetRow[]) => void | Promise<void>,
    part?: number,
  ): Promise<string> {
    return facetChanges(this.db, since, take, part);
  }

  /** Versions of `name`, deleted ones included: what the version cap counts (migration 6 keeps it). */
  async countVersions(name: string): Promise<number> {
    const { rows } = await this.db.query<{ count: number }>(
      "SELECT coalesce((SELECT versions FROM server_version_counts WHERE name = $1), 0) AS count",
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
   * Publishes versions of one name in one statement and one transaction (migration 4's
   * registry_publish_many: each version through migration 3's registry_publish, in order), waiting
   * for the name's lock at most the statement timeout. Stops after the first version whose ordering
   * needs node-semver ('decide'); `versus` answers that for the first request.
   */
  async publishMany(
    name: string,
    requests: readonly PublishRequest[],
    versus?: { id: string; order: number },
  ): Promise<BatchOutcome> {
    const items = requests.map((request) => ({
      version: request.version,
      document: request.document,
      description: request.description,
      title: request.title,
      remoteUrls: request.remoteUrls,
      candidateMain: request.candidateMain ?? null,
    }));
    try {
      const { rows } = await this.db.query<PublishRecord>(
        "SELECT * FROM registry_publish_many($1, $2::jsonb, $3, $4, $5, $6, $7, $8)",
        [
          name,
          JSON.stringify(items),
          requests[0]?.maxVersions ?? 0,
          NAME_LOCK_CLASS,
          nameLockKey(name),
          this.db.statementTimeoutMs,
          versus?.id ?? null,
          versus?.order ?? null,
        ],
        { prepare: true },
      );
      return { kind: "outcomes", outcomes: rows.map((row) => batchItem(name, row)) };
    } catch (error) {
      const { code, detail } = error as { code?: unknown; detail?: unknown };
      if (code !== REMOTE_TAKEN_SQLSTATE || typeof detail !== "string") throw error;
      const owners = JSON.parse(detail) as Array<{ url: string; name: string }>;
      return { kind: "remote-taken", owners: new Map(owners.map((owner) => [owner.url, owner.name])) };
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
