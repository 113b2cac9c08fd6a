import assert from "node:assert/strict";
import { checksum, Database, migrate, MIGRATIONS, schemaVersion, ServerStore } from "../../src/store";
import { freshDatabaseUrl } from "../support/postgres";

async function freshDb(label: string): Promise<Database> {
  return new Database({
    url: await freshDatabaseUrl(label),
    poolSize: 4,
    connectTimeoutMs: 5_000,
    statementTimeoutMs: 10_000,
  });
}

const LATEST = Math.max(...MIGRATIONS.map((m) => m.version));

describe("store: migrations", () => {
  it("migrates an empty database, and a re-run applies nothing", async () => {
    const db = await freshDb("migrate");
    try {
      assert.equal(await schemaVersion(db), 0);
      const first = await migrate(db);
      assert.deepEqual(
        first.applied,
        MIGRATIONS.map((m) => m.version),
      );
      assert.equal(await schemaVersion(db), LATEST);
      const again = await migrate(db);
      assert.deepEqual(again.applied, []);
      assert.equal(again.current, LATEST);
      const { rows } = await db.query<{ count: number }>(
        "SELECT count(*)::int AS count FROM schema_migrations",
      );
      assert.equal(rows[0]?.count, MIGRATIONS.length);
    } finally {
      await db.close();
    }
  });

  it("runs safely when several replicas migrate at once (advisory lock)", async () => {
    const db = await freshDb("migrate_race");
    try {
      const results = await Promise.all([migrate(db), migrate(db), migrate(db)]);
      // Each migration runs exactly once, whichever replica gets to it first.
      assert.deepEqual(
        results.flatMap((r) => r.applied).sort((a, b) => a - b),
        MIGRATIONS.map((m) => m.version),
      );
    } finally {
      await db.close();
    }
  });

  it("refuses an edited migration and a schema newer than the build", async () => {
    const db = await freshDb("migrate_guard");
    try {
      await migrate(db);
      const edited = MIGRATIONS.map((m) => (m.version === 1 ? { ...m, sql: `${m.sql}\n-- edited` } : m));
      await assert.rejects(migrate(db, edited), /migration 1 .* differs from the one applied/);
      await db.query("INSERT INTO schema_migrations (version, name, checksum) VALUES (999, 'future', 'x')");
      await assert.rejects(migrate(db), /schema version 999 is newer than this build knows/);
    } finally {
      await db.close();
    }
  });

  it("keeps every shipped migration's text: the checksums databases recorded when they applied it", () => {
    // `migrate` refuses a database whose recorded checksum differs; a fresh test database would not notice.
    const shipped: Record<number, string> = {
      1: "27a458db92c156816044120b34a4811e6548967d0c2a90b3d35d7164254aa059",
      2: "6d38f21899cff072a79e14757268adeac098cc96f487991ae2c47049a15063a6",
      3: "f6830c30d4240c2f154407ecd2d6d4ffda7a498afe576b925d3713cd811f7876",
      4: "fe083dd5c882c75f728d5346dd019295fb68a0792bab650441007e7e6d7cf9e6",
      5: "20e2b10ea389675165f8bf6f166ed4abb44dc20665fb8a5e095fc59671b1aee4",
      6: "42ff36bc91a9137bb29b94cf827bccb6d27f4926668b876962a65478b5e58cb6",
    };
    for (const [version, sum] of Object.entries(shipped)) {
      const migration = MIGRATIONS.find((m) => m.version === Number(version));
      assert.ok(migration !== undefined, `migration ${version} is gone`);
      assert.equal(checksum(migration), sum, `migration ${version} (${migration.name}) was edited`);
    }
  });

  it("upgrades a database that holds round 1's data (schema 3) to this build's schema, every row kept", async () => {
    const db = await freshDb("migrate_upgrade");
    try {
      const ROUND_1 = 3;
      await migrate(
        db,
        MIGRATIONS.filter((m) => m.version <= ROUND_1),
      );
      // Rows as round 1's publish left them: three names, one with two versions, a deprecated one.
      await db.query(`
        INSERT INTO server_versions (name, version, document, description, title, status, status_message,
          status_changed_at, published_at, updated_at, is_latest)
        SELECT d->>'name', d->>'version', d, d->>'description', NULL, s, m,
          '2025-05-01T00:00:00Z', '2025-05-01T00:00:00Z', '2025-05-02T00:00:00Z', l
        FROM (VALUES
          ('{"name":"com.example/a","version":"1.0.0","description":"a db server","_meta":{"io.modelcontextprotocol.registry/publisher-provided":{"categories":["databases"],"tags":["SQL"]}}}'::jsonb, 'active', NULL, false),
          ('{"name":"com.example/a","version":"1.1.0","description":"a db server","packages":[{"registryType":"npm","identifier":"a","version":"1.1.0","transport":{"type":"stdio"}}]}'::jsonb, 'active', NULL, true),
          ('{"name":"com.example/b","version":"2.0.0","description":"b","remotes":[{"type":"streamable-http","url":"https://b.example.com/mcp"}]}'::jsonb, 'deprecated', 'use c', true),
          ('{"name":"com.example/c","version":"0.1.0","description":"c"}'::jsonb, 'active', NULL, true)
        ) AS v(d, s, m, l)`);
      const upgrade = await migrate(db);
      assert.deepEqual(
        upgrade.applied,
        MIGRATIONS.filter((m) => m.version > ROUND_1).map((m) => m.version),
      );
      assert.equal(await schemaVersion(db), LATEST);
      const { rows } = await db.query<{
        name: string;
        version: string;
        status: string;
        is_latest: boolean;
        updated_at: string;
      }>(
        `SELECT name, version, status, is_latest, to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS updated_at
         FROM server_versions ORDER BY name, version`,
      );
      assert.deepEqual(
        rows.map((r) => `${r.name}@${r.version} ${r.status} latest=${r.is_latest} ${r.updated_at}`),
        [
          "com.example/a@1.0.0 active latest=false 2025-05-02",
          "com.example/a@1.1.0 active latest=true 2025-05-02",
          "com.example/b@2.0.0 deprecated latest=true 2025-05-02",
          "com.example/c@0.1.0 active latest=true 2025-05-02",
        ],
      );
      // Migration 5 classified the existing versions: declared labels (normalised), package types, transports.
      const classified = await db.query<{ v: string }>(
        `SELECT version || ' ' || array_to_string(categories, ',') || ' ' || array_to_string(tags, ',') || ' ' ||
           array_to_string(registry_types, ',') || ' ' || array_to_string(transports, ',') || ' ' || has_remote AS v
         FROM server_versions ORDER BY name, version`,
      );
      assert.deepEqual(
        classified.rows.map((r) => r.v),
        [
          "1.0.0 databases sql   false",
          "1.1.0   npm stdio false",
          "2.0.0    streamable-http true",
          "0.1.0     false",
        ],
      );
      // Migration 6 counted the versions each name already held.
      const counts = await db.query<{ c: string }>(
        "SELECT name || '=' || versions AS c FROM server_version_counts ORDER BY name",
      );
      assert.deepEqual(
        counts.rows.map((r) => r.c),
        ["com.example/a=2", "com.example/b=1", "com.example/c=1"],
      );
      // The service reads the upgraded rows like its own.
      const store = new ServerStore(db);
      const latest = await store.getLatest("com.example/b");
      assert.equal(latest?.version, "2.0.0");
    } finally {
      await db.close();
    }
  });

  it("keeps a timestamptz published_at column and indexes for lookups, search and the latest invariant", async () => {
    const db = await freshDb("migrate_shape");
    try {
      await migrate(db);
      const column = await db.query<{ data_type: string }>(
        "SELECT data_type FROM information_schema.columns WHERE table_name = 'server_versions' AND column_name = 'published_at'",
      );
      assert.equal(column.rows[0]?.data_type, "timestamp with time zone");
      const indexes = await db.query<{ indexname: string; indexdef: string }>(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'server_versions'",
      );
      const byName = new Map(indexes.rows.map((row) => [row.indexname, row.indexdef]));
      assert.match(
        byName.get("server_versions_one_latest") ?? "",
        /UNIQUE INDEX .* \(name\) WHERE is_latest/,
      );
      assert.match(byName.get("server_versions_name_trgm") ?? "", /gin \(name gin_trgm_ops\)/);
      assert.match(byName.get("server_versions_search") ?? "", /gin \(search_document\)/);
      assert.ok(byName.has("server_versions_name_version_key"));
    } finally {
      await db.close();
    }
  });
});

describe("store: invariants enforced by PostgreSQL", () => {
  let db: Database;
  let store: ServerStore;

  before(async () => {
    db = await freshDb("invariants");
    await migrate(db);
    store = new ServerStore(db);
  });
  after(async () => db.close());

  async function insert(name: string, version: string, latest: boolean): Promise<string> {
    return store.withNameLock(name, async (writer) => {
      const at = await writer.now();
      const row = await writer.insert({
        name,
        version,
        document: { name, version, description: "d" },
        description: "d",
        title: null,
        at,
        isLatest: false,
      });
      if (latest) await writer.setLatest(row.id, at);
      return row.id;
    });
  }

  it("refuses a second latest row for a name (partial unique index)", async () => {
    await insert("com.example/one", "1.0.0", true);
    await insert("com.example/one", "2.0.0", false);
    await assert.rejects(
      db.query(
        "UPDATE server_versions SET is_latest = true WHERE name = 'com.example/one' AND version = '2.0.0'",
      ),
      /server_versions_one_latest/,
    );
  });

  it("refuses, at commit, a name whose versions have no latest row", async () => {
    await assert.rejects(insert("com.example/none", "1.0.0", false), /has no latest version/);
    const { rows } = await db.query("SELECT 1 FROM server_versions WHERE name = 'com.example/none'");
    assert.equal(rows.length, 0, "the failed transaction left nothing behind");
    await insert("com.example/two", "1.0.0", true);
    await assert.rejects(
      db.query("UPDATE server_versions SET is_latest = false WHERE name = 'com.example/two'"),
      /has no latest version/,
    );
  });

  it("never hard-deletes a version (DELETE and TRUNCATE are refused)", async () => {
    await insert("com.example/keep", "1.0.0", true);
    await assert.rejects(
      db.query("DELETE FROM server_versions WHERE name = 'com.example/keep'"),
      /never deleted/,
    );
    await assert.rejects(db.query("TRUNCATE server_versions"), /never deleted/);
  });

  it("keeps every name's number of versions in server_version_counts, as count(*) would give it", async () => {
    await insert("com.example/counted", "1.0.0", true);
    await insert("com.example/counted", "1.1.0", false);
    await insert("com.example/moved", "1.0.0", true);
    await assert.rejects(insert("com.example/rolled-back", "1.0.0", false), /has no latest version/);
    await db.query("UPDATE server_versions SET status = 'deprecated' WHERE name = 'com.example/counted'");
    await db.query(
      `UPDATE server_versions SET name = 'com.example/renamed',
         document = jsonb_set(document, '{name}', '"com.example/renamed"') WHERE name = 'com.example/moved'`,
    );
    assert.equal(await store.countVersions("com.example/counted"), 2);
    assert.equal(await store.countVersions("com.example/moved"), 0);
    assert.equal(await store.countVersions("com.example/renamed"), 1);
    assert.equal(await store.countVersions("com.example/rolled-back"), 0);
    assert.equal(await store.countVersions("com.example/never"), 0);
    // Every name of this database, whatever the other tests wrote.
    const { rows } = await db.query<{ name: string }>(
      `SELECT coalesce(c.name, v.name) AS name FROM server_version_counts c
       FULL JOIN (SELECT name, count(*)::int AS versions FROM server_versions GROUP BY name) v USING (name)
       WHERE coalesce(c.versions, 0) <> coalesce(v.versions, 0)`,
    );
    assert.deepEqual(rows, []);
  });

  it("refuses a status message on an active version and a document that disagrees with its columns", async () => {
    await insert("com.example/msg", "1.0.0", true);
    await assert.rejects(
      db.query("UPDATE server_versions SET status_message = 'x' WHERE name = 'com.example/msg'"),
      /server_versions_status_message_check/,
    );
    await assert.rejects(
      db.query(
        `UPDATE server_versions SET document = jsonb_set(document, '{name}', '"com.example/other"') WHERE name = 'com.example/msg'`,
      ),
      /server_versions_document_check/,
    );
  });
});
