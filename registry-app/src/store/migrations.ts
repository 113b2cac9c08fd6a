import { createHash } from "node:crypto";
import { CLASSIFICATION_MIGRATION_SQL } from "./classification-migration";
import type { Database, Queryable } from "./db";
import { REGISTRY_PUBLISH_V3 } from "./publish-function";
import { READ_PATH_MIGRATION } from "./read-path-migration";
import { VERSION_COUNT_MIGRATION } from "./version-count-migration";

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/**
 * Versioned, append-only schema history. Never edit a shipped migration: its checksum is recorded and a
 * changed one stops `migrate` (add a new version instead).
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "server versions, latest invariant, search, remote URL ownership",
    sql: `
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- One row per published server version. Rows are never hard-deleted: "deleted" is a status, so
-- "count of versions with published_at <= T" is comparable between a database and its restore to T.
CREATE TABLE server_versions (
  id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name              text COLLATE "C" NOT NULL,
  version           text COLLATE "C" NOT NULL,
  document          jsonb NOT NULL,
  description       text NOT NULL,
  title             text,
  status            text NOT NULL DEFAULT 'active',
  status_message    text,
  status_changed_at timestamptz NOT NULL,
  published_at      timestamptz NOT NULL,
  updated_at        timestamptz NOT NULL,
  is_latest         boolean NOT NULL DEFAULT false,
  search_document   tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('english'::regconfig,
      regexp_replace(split_part(name, '/', 2), '[^[:alnum:]]+', ' ', 'g')), 'A') ||
    setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A') ||
    setweight(to_tsvector('english'::regconfig, description), 'B') ||
    setweight(to_tsvector('english'::regconfig,
      regexp_replace(split_part(name, '/', 1), '[^[:alnum:]]+', ' ', 'g')), 'C')
  ) STORED,
  CONSTRAINT server_versions_name_version_key UNIQUE (name, version),
  CONSTRAINT server_versions_status_check CHECK (status IN ('active', 'deprecated', 'deleted')),
  CONSTRAINT server_versions_status_message_check
    CHECK (status_message IS NULL OR (status <> 'active' AND char_length(status_message) <= 500)),
  CONSTRAINT server_versions_document_check
    CHECK (document->>'name' = name AND document->>'version' = version)
);

-- At most one latest row per name, enforced by the database itself.
CREATE UNIQUE INDEX server_versions_one_latest ON server_versions (name) WHERE is_latest;
CREATE INDEX server_versions_updated_at ON server_versions (updated_at);
CREATE INDEX server_versions_published_at ON server_versions (published_at);
CREATE INDEX server_versions_name_trgm ON server_versions USING gin (name gin_trgm_ops);
CREATE INDEX server_versions_search ON server_versions USING gin (search_document);

-- ...and at least one at commit, for every name that has versions: together, exactly one.
CREATE FUNCTION server_versions_require_latest() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM server_versions WHERE name = NEW.name AND is_latest) THEN
    RAISE EXCEPTION 'server % has no latest version', NEW.name USING ERRCODE = 'check_violation';
  END IF;
  RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER server_versions_latest_exists
  AFTER INSERT OR UPDATE OF is_latest ON server_versions
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION server_versions_require_latest();

CREATE FUNCTION server_versions_refuse_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'server versions are never deleted; set status = ''deleted'' instead'
    USING ERRCODE = 'restrict_violation';
END $$;
CREATE TRIGGER server_versions_no_delete BEFORE DELETE ON server_versions
  FOR EACH ROW EXECUTE FUNCTION server_versions_refuse_delete();
CREATE TRIGGER server_versions_no_truncate BEFORE TRUNCATE ON server_versions
  FOR EACH STATEMENT EXECUTE FUNCTION server_versions_refuse_delete();

-- A remote URL belongs to the first name that published it, so one name cannot impersonate another.
CREATE TABLE remote_urls (
  url        text PRIMARY KEY,
  name       text COLLATE "C" NOT NULL,
  claimed_at timestamptz NOT NULL DEFAULT now()
);

-- Watermarks of the sync command, per upstream registry.
CREATE TABLE sync_state (
  source     text PRIMARY KEY,
  watermark  timestamptz NOT NULL,
  synced_at  timestamptz NOT NULL DEFAULT now()
);
`,
  },
  {
    version: 2,
    name: "change generation of server versions (read caches of every replica check it)",
    sql: `
-- One row: bumped by every transaction that changes server_versions, so a replica knows whether
-- what it cached is still current with one cheap read.
CREATE TABLE registry_generation (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  value     bigint NOT NULL
);
INSERT INTO registry_generation (singleton, value) VALUES (true, 1);

-- At commit, once per transaction. The value is at least the clock in microseconds, so a database
-- restored to an earlier point never hands out a generation that meant other data before.
CREATE FUNCTION registry_generation_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('mcp_registry.generation_bumped', true) IS DISTINCT FROM 'on' THEN
    UPDATE registry_generation
      SET value = greatest(value + 1, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint);
    PERFORM set_config('mcp_registry.generation_bumped', 'on', true);
  END IF;
  RETURN NULL;
END $$;
-- Deferred: the single row is locked only while the transaction commits, not while it runs.
CREATE CONSTRAINT TRIGGER server_versions_bump_generation
  AFTER INSERT OR UPDATE OR DELETE ON server_versions
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION registry_generation_bump();
`,
  },
  {
    version: 3,
    name: "change generation in 16 shards; publish in one statement (one round trip, its own transaction)",
    sql: `
-- One generation row made every committing writer wait for the previous one's commit (its WAL flush)
-- at the row lock: commits ran one at a time. Each backend now bumps its own shard (pid mod 16), and
-- readers compare all shards, so the generation still moves exactly when committed data changes.
CREATE TABLE registry_generation_shards (
  shard smallint PRIMARY KEY CHECK (shard >= 0 AND shard < 16),
  value bigint NOT NULL
);
INSERT INTO registry_generation_shards (shard, value)
  SELECT shard, (SELECT value FROM registry_generation) FROM generate_series(0, 15) AS shard;
DROP TABLE registry_generation;
-- For replicas of the previous build during a rolling update: the sum grows with every bump.
CREATE VIEW registry_generation AS
  SELECT true AS singleton, sum(value)::bigint AS value FROM registry_generation_shards;
CREATE OR REPLACE FUNCTION registry_generation_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('mcp_registry.generation_bumped', true) IS DISTINCT FROM 'on' THEN
    UPDATE registry_generation_shards
      SET value = greatest(value + 1, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint)
      WHERE shard = pg_backend_pid() % 16;
    PERFORM set_config('mcp_registry.generation_bumped', 'on', true);
  END IF;
  RETURN NULL;
END $$;

-- Publishes one version under the name's advisory lock, all or nothing, as one statement: the caller
-- needs no BEGIN/COMMIT and no reads of its own. Outcomes: 'stored' (the row, timestamps as RFC 3339),
-- 'cap' and 'duplicate' (nothing written), 'decide' (nothing written: the current latest is not plain
-- semver, so the caller orders the versions itself and calls again with p_versus_id/p_versus_order).
-- A remote URL another name owns raises SQLSTATE MR409 with the owners as JSON in DETAIL (rolled back).
${REGISTRY_PUBLISH_V3}
`,
  },
  READ_PATH_MIGRATION,
  {
    version: 5,
    name: "categories, tags, administrator overrides with their audit, filter columns",
    sql: CLASSIFICATION_MIGRATION_SQL,
  },
  VERSION_COUNT_MIGRATION,
];

/** Advisory lock key of `migrate`, so replicas and Jobs starting together never race on DDL. */
const MIGRATION_LOCK_KEY = 0x6d6370_7265_67; // "mcpreg"

export function checksum(migration: Migration): string {
  return createHash("sha256").update(migration.sql).digest("hex");
}

export interface MigrationResult {
  applied: number[];
  current: number;
}

const CREATE_HISTORY = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version    integer PRIMARY KEY,
  name       text NOT NULL,
  checksum   text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
)`;

/**
 * Applies pending migrations in order, each in its own transaction under a transaction-scoped
 * advisory lock (session locks would leak through a transaction-pooling PgBouncer). A no-op when up
 * to date; refuses an edited migration or a schema newer than this build.
 */
export async function migrate(
  db: Database,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<MigrationResult> {
  const ordered = [...migrations].sort((a, b) => a.version - b.version);
  const locked = <T>(fn: (tx: Queryable) => Promise<T>) =>
    db.transaction(
      async (tx) => {
        await tx.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK_KEY]);
        await tx.query(CREATE_HISTORY);
        return fn(tx);
      },
      { statementTimeoutMs: 0 },
    );
  await locked(async (tx) => {
    const { rows } = await tx.query<{ version: number }>("SELECT version FROM schema_migrations");
    const known = new Set(ordered.map((migration) => migration.version));
    const unknown = rows.map((row) => row.version).find((version) => !known.has(version));
    if (unknown !== undefined) {
      throw new Error(
        `database schema version ${unknown} is newer than this build knows; deploy a newer registry`,
      );
    }
  });
  const applied: number[] = [];
  for (const migration of ordered) {
    const sum = checksum(migration);
    const ran = await locked(async (tx) => {
      const { rows } = await tx.query<{ checksum: string }>(
        "SELECT checksum FROM schema_migrations WHERE version = $1",
        [migration.version],
      );
      const existing = rows[0]?.checksum;
      if (existing !== undefined) {
        if (existing !== sum) {
          throw new Error(
            `migration ${migration.version} (${migration.name}) differs from the one applied; never edit a shipped migration`,
          );
        }
        return false;
      }
      await tx.query(migration.sql);
      await tx.query("INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)", [
        migration.version,
        migration.name,
        sum,
      ]);
      return true;
    });
    if (ran) applied.push(migration.version);
  }
  return { applied, current: Math.max(0, ...ordered.map((migration) => migration.version)) };
}

/** The highest applied migration, or 0 on an empty database (readiness and tests use it). */
export async function schemaVersion(db: Database): Promise<number> {
  const exists = await db.query<{ present: boolean }>(
    "SELECT to_regclass('schema_migrations') IS NOT NULL AS present",
  );
  if (!exists.rows[0]?.present) return 0;
  const { rows } = await db.query<{ version: number | null }>(
    "SELECT max(version) AS version FROM schema_migrations",
  );
  return rows[0]?.version ?? 0;
}
