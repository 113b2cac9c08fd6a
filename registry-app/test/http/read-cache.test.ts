import assert from "node:assert/strict";
import type { PoolClient } from "pg";
import { bodyWithEtag, ifNoneMatchHits, ReadCache, type ProducedAnswer } from "../../src/http/read-cache";
import { GenerationReader } from "../../src/service";
import { Database, migrate, ServerStore, type Freshness } from "../../src/store";
import { freshDatabaseUrl } from "../support/postgres";

/** A read whose answer the test decides, recording when each read started and which names it asked for. */
class ControlledRead {
  readonly started: Array<{
    names: readonly string[];
    resolve: (value: Freshness) => void;
    reject: (error: Error) => void;
  }> = [];

  read = (names: readonly string[]): Promise<Freshness> =>
    new Promise<Freshness>((resolve, reject) => {
      this.started.push({ names, resolve, reject });
    });

  answer(index: number, global: string): void {
    this.started[index]?.resolve({ global, names: new Map(), replayed: null });
  }
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe("http: generation reads shared by concurrent requests", () => {
  it("never answers a caller with a read that started before its call", async () => {
    const source = new ControlledRead();
    const reader = new GenerationReader(source.read);
    const first = reader.current("com.example/a");
    assert.equal(source.started.length, 1);
    assert.deepEqual(source.started[0]?.names, ["com.example/a"]);
    // Arrive while read 0 is in flight: they must wait for a read that starts after them.
    const second = reader.current("com.example/b");
    const third = reader.current();
    const fourth = reader.current("com.example/c");
    assert.equal(source.started.length, 1, "no second read while the first is in flight");
    let secondValue: Freshness | undefined;
    void second.then((value) => {
      secondValue = value;
    });
    source.answer(0, "g1");
    assert.equal((await first).global, "g1");
    await tick();
    assert.equal(secondValue, undefined, "read 0's answer is not given to a later caller");
    assert.equal(source.started.length, 2, "one queued read for every caller that waited");
    assert.deepEqual(source.started[1]?.names, ["com.example/b", "com.example/c"], "their names in one read");
    source.answer(1, "g2");
    assert.equal((await second).global, "g2");
    assert.equal((await third).global, "g2");
    assert.equal((await fourth).global, "g2");
  });

  it("passes a failed read to its callers and starts afresh on the next call", async () => {
    const source = new ControlledRead();
    const reader = new GenerationReader(source.read);
    const failing = reader.current();
    source.started[0]?.reject(new Error("database down"));
    await assert.rejects(failing, /database down/);
    const next = reader.current();
    assert.equal(source.started.length, 2);
    source.answer(1, "g3");
    assert.equal((await next).global, "g3");
  });
});

/** Generations the test moves by hand: the global one and one per name. */
class Generations {
  global = "1";
  readonly names = new Map<string, string>();
  replayed: string | null = null;

  freshness = async (): Promise<Freshness> => ({
    global: this.global,
    names: new Map(this.names),
    replayed: this.replayed,
  });
}

describe("http: the read cache", () => {
  function cacheOn(generations: Generations, maxBytes = 1_000_000) {
    const lookups: string[] = [];
    const cache = new ReadCache({
      maxBytes,
      freshness: generations.freshness,
      onLookup: (outcome) => lookups.push(outcome),
    });
    return { cache, lookups };
  }
  /** An answer read under the generation `of()` returns when it is produced. */
  const producer = (of: () => string | undefined) => {
    let produced = 0;
    const produce = async (): Promise<ProducedAnswer> => ({
      json: `{"n":${++produced}}`,
      generation: of(),
    });
    return { produce, count: () => produced };
  };

  it("keeps an answer about one name while that name's generation stays, whatever other names do", async () => {
    const generations = new Generations();
    generations.names.set("a", "10");
    generations.names.set("b", "20");
    const { cache, lookups } = cacheOn(generations);
    const a = producer(() => generations.names.get("a"));
    assert.equal((await cache.get("A", "a", a.produce)).body.toString(), '{"n":1}');
    assert.equal((await cache.get("A", "a", a.produce)).body.toString(), '{"n":1}');
    // A write to b (and so to the global generation) leaves a's answer in place.
    generations.names.set("b", "21");
    generations.global = "2";
    assert.equal((await cache.get("A", "a", a.produce)).body.toString(), '{"n":1}');
    assert.deepEqual(lookups, ["miss", "hit", "hit"]);
    // A write to a does not.
    generations.names.set("a", "11");
    assert.equal((await cache.get("A", "a", a.produce)).body.toString(), '{"n":2}');
    assert.equal(a.count(), 2);
    assert.ok(cache.size > 0);
  });

  it("keeps list answers for one global generation: a write to any name moves it", async () => {
    const generations = new Generations();
    const { cache } = cacheOn(generations);
    const list = producer(() => generations.global);
    await cache.get("L", undefined, list.produce);
    await cache.get("L", undefined, list.produce);
    assert.equal(list.count(), 1);
    generations.names.set("z", "5");
    generations.global = "2";
    assert.equal((await cache.get("L", undefined, list.produce)).body.toString(), '{"n":2}');
  });

  it("tags an answer with the generation its own query read, not the one checked before it", async () => {
    const generations = new Generations();
    generations.names.set("a", "10");
    const { cache } = cacheOn(generations);
    // A query answered by a server behind the one that reported "10" (another standby of a pool).
    const lagging = producer(() => "9");
    await cache.get("A", "a", lagging.produce);
    await cache.get("A", "a", lagging.produce);
    assert.equal(lagging.count(), 2, "an answer read under 9 is never served for 10");
    // A query that saw a newer commit than the check is kept under that newer generation.
    const ahead = producer(() => "11");
    await cache.get("B", "a", ahead.produce);
    generations.names.set("a", "11");
    await cache.get("B", "a", ahead.produce);
    assert.equal(ahead.count(), 1);
  });

  it("never keeps an untagged answer, nor one about a name that has no generation yet", async () => {
    const generations = new Generations();
    const { cache } = cacheOn(generations);
    const untagged = producer(() => undefined);
    await cache.get("A", "new", untagged.produce);
    await cache.get("A", "new", untagged.produce);
    assert.equal(untagged.count(), 2);
  });

  it("uses a kept answer for a client's own write only when a primary reported the generations", async () => {
    const generations = new Generations();
    generations.names.set("a", "10");
    const { cache, lookups } = cacheOn(generations);
    const a = producer(() => generations.names.get("a"));
    await cache.get("A", "a", a.produce);
    await cache.get("A", "a", a.produce, "FF/0");
    assert.deepEqual(lookups, ["miss", "hit"], "a primary has every acknowledged write");
    // A standby's replay position is read after the snapshot its generations come from: the name's
    // generation may predate the client's write even though the position is past it.
    generations.replayed = "0/3000000";
    await cache.get("A", "a", a.produce, "0/2FFFFFF");
    assert.equal(a.count(), 2, "checked on a standby: produced again (by a server that has replayed it)");
    await cache.get("A", "a", a.produce);
    assert.deepEqual(lookups.slice(2), ["miss", "hit"], "a read without a position still uses it");
  });

  it("runs one query for concurrent misses of the same key and generation", async () => {
    const generations = new Generations();
    generations.names.set("a", "1");
    const { cache } = cacheOn(generations);
    let produced = 0;
    const produce = async (): Promise<ProducedAnswer> => {
      produced += 1;
      await tick();
      return { json: '{"same":true}', generation: "1" };
    };
    const answers = await Promise.all([
      cache.get("k", "a", produce),
      cache.get("k", "a", produce),
      cache.get("k", "a", produce),
    ]);
    assert.equal(produced, 1);
    assert.ok(answers.every((answer) => answer.etag === answers[0]?.etag));
    // A client waiting for its own write starts its own query.
    await Promise.all([cache.get("j", "a", produce), cache.get("j", "a", produce, "0/1")]);
    assert.equal(produced, 3);
  });

  it("keeps within its byte budget, evicting the least recently used, and never keeps failures", async () => {
    const generations = new Generations();
    const { cache } = cacheOn(generations, 800);
    const body = (n: number) => async () => ({
      json: JSON.stringify({ n, pad: "x".repeat(70) }),
      generation: "1",
    });
    for (const key of ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"])
      await cache.get(key, undefined, body(1));
    assert.ok(cache.size <= 800, `size ${cache.size}`);
    let produced = 0;
    const counted = async () => {
      produced += 1;
      return { json: "{}", generation: "1" };
    };
    await cache.get("j", undefined, counted);
    await cache.get("a", undefined, counted);
    assert.equal(produced, 1, "the newest entry stayed, the oldest was evicted");
    await assert.rejects(
      cache.get("x", undefined, async () => Promise.reject(new Error("boom"))),
      /boom/,
    );
    assert.equal((await cache.get("x", undefined, counted)).body.toString(), "{}");
  });

  it("serves but never keeps an answer larger than an eighth of the budget", async () => {
    const { cache, lookups } = cacheOn(new Generations(), 800);
    const large = async () => ({ json: JSON.stringify({ pad: "y".repeat(200) }), generation: "1" });
    await cache.get("big", undefined, large);
    await cache.get("big", undefined, large);
    assert.deepEqual(lookups, ["miss", "miss"]);
  });

  it("with a budget of 0 asks the database every time and never reads the generations", async () => {
    let generationReads = 0;
    const cache = new ReadCache({
      maxBytes: 0,
      freshness: async () => {
        generationReads += 1;
        return { global: "1", names: new Map(), replayed: null };
      },
    });
    let produced = 0;
    await cache.get("k", undefined, async () => ({ json: `{"n":${++produced}}`, generation: "1" }));
    await cache.get("k", undefined, async () => ({ json: `{"n":${++produced}}`, generation: "1" }));
    assert.equal(produced, 2);
    assert.equal(generationReads, 0);
  });
});

describe("http: entity tags", () => {
  it("are a hash of the bytes: equal bodies, equal tags; different bodies, different tags", () => {
    assert.equal(bodyWithEtag('{"a":1}').etag, bodyWithEtag('{"a":1}').etag);
    assert.notEqual(bodyWithEtag('{"a":1}').etag, bodyWithEtag('{"a":2}').etag);
    assert.match(bodyWithEtag("{}").etag, /^"[A-Za-z0-9_-]{22}"$/);
  });

  it("match If-None-Match by weak comparison, in lists and as *", () => {
    const tag = '"abc"';
    assert.equal(ifNoneMatchHits(undefined, tag), false);
    assert.equal(ifNoneMatchHits('"abc"', tag), true);
    assert.equal(ifNoneMatchHits('W/"abc"', tag), true);
    assert.equal(ifNoneMatchHits('"x", W/"abc" ,"y"', tag), true);
    assert.equal(ifNoneMatchHits("*", tag), true);
    assert.equal(ifNoneMatchHits('"abcd"', tag), false);
    assert.equal(ifNoneMatchHits("abc", tag), false);
    assert.equal(ifNoneMatchHits(['"x"', '"abc"'], tag), true);
  });
});

describe("store: the change generation", function () {
  this.timeout(60_000);
  let db: Database;
  const generation = async () => (await new ServerStore(db).freshness([])).global;
  const nameGenerations = async (...names: string[]) =>
    Object.fromEntries((await new ServerStore(db).freshness(names)).names);
  /** The sum the previous build reads through the registry_generation view. */
  const summed = async () =>
    BigInt(
      (await db.query<{ value: string }>("SELECT value::text AS value FROM registry_generation")).rows[0]
        ?.value ?? "0",
    );
  /** The highest shard, which the last bump set to at least the clock. */
  const highest = async () =>
    BigInt(
      (await db.query<{ value: string }>("SELECT max(value)::text AS value FROM registry_generation_shards"))
        .rows[0]?.value ?? "0",
    );

  before(async () => {
    db = new Database({
      url: await freshDatabaseUrl("generation"),
      poolSize: 3,
      connectTimeoutMs: 5_000,
      statementTimeoutMs: 10_000,
    });
    await migrate(db);
  });
  after(async () => db.close());

  const insert = (tx: { query: Database["query"] }, name: string, version: string, latest: boolean) =>
    tx.query(
      `INSERT INTO server_versions (name, version, document, description, status_changed_at, published_at,
         updated_at, is_latest) VALUES ($1, $2, $3, 'd', now(), now(), now(), $4)`,
      [name, version, JSON.stringify({ name, version, description: "d" }), latest],
    );

  it("moves at the commit of any change to server_versions, even one made by hand in SQL", async () => {
    const [before, sumBefore] = [await generation(), await summed()];
    await db.transaction(async (tx) => {
      await insert(tx, "com.example/a", "1.0.0", true);
      await insert(tx, "com.example/b", "1.0.0", true);
    });
    const [afterInsert, sumAfterInsert] = [await generation(), await summed()];
    assert.notEqual(afterInsert, before);
    assert.ok(sumAfterInsert > sumBefore);
    await db.query("UPDATE server_versions SET description = 'changed' WHERE name = 'com.example/a'");
    assert.notEqual(await generation(), afterInsert);
    assert.ok((await summed()) > sumAfterInsert);
  });

  it("lets concurrent writers on different connections commit without waiting for each other", async function () {
    const clients = [await db.pool.connect(), await db.pool.connect(), await db.pool.connect()];
    try {
      const shards = await Promise.all(
        clients.map(
          async (client) =>
            (await client.query<{ shard: number }>("SELECT pg_backend_pid() % 16 AS shard")).rows[0]?.shard,
        ),
      );
      // Only backends on different shards are independent; two of three clients almost always are.
      const other = shards.findIndex((shard) => shard !== shards[0]);
      if (other < 0) this.skip();
      const [first, second] = [clients[0], clients[other]] as [PoolClient, PoolClient];
      await first.query("BEGIN");
      await second.query("BEGIN");
      await first.query("UPDATE server_versions SET description = 'one' WHERE name = 'com.example/a'");
      await second.query("UPDATE server_versions SET description = 'two' WHERE name = 'com.example/b'");
      await first.query("SET CONSTRAINTS server_versions_bump_generation IMMEDIATE");
      // With one generation row this would block until the first transaction ended.
      await second.query("SET LOCAL lock_timeout = 2000");
      await second.query("SET CONSTRAINTS server_versions_bump_generation IMMEDIATE");
      await second.query("COMMIT");
      await first.query("COMMIT");
    } finally {
      for (const client of clients) client.release();
    }
  });

  it("stays put when a transaction rolls back or changes no version", async () => {
    const before = await generation();
    await assert.rejects(
      db.transaction(async (tx) => {
        await insert(tx, "com.example/c", "1.0.0", true);
        throw new Error("abandon");
      }),
      /abandon/,
    );
    await db.query("UPDATE server_versions SET description = 'x' WHERE name = 'com.example/none'");
    await db.query("SELECT count(*) FROM server_versions");
    assert.equal(await generation(), before);
  });

  it("moves once per transaction however many rows it changes, to at least the clock in microseconds", async () => {
    const clock = BigInt(Date.now()) * 1000n;
    await db.transaction(async (tx) => {
      // This backend's not yet flushed counts may include earlier transactions: compare before and after.
      const updates = async () =>
        Number(
          (
            await tx.query<{ updates: string }>(
              "SELECT n_tup_upd::text AS updates FROM pg_stat_xact_user_tables WHERE relname = 'registry_generation_shards'",
            )
          ).rows[0]?.updates ?? NaN,
        );
      const before = await updates();
      await tx.query("UPDATE server_versions SET description = 'once' WHERE name LIKE 'com.example/%'");
      await tx.query("UPDATE server_versions SET description = 'twice' WHERE name LIKE 'com.example/%'");
      // Fire the deferred triggers now, so this transaction can count its own updates of the row.
      await tx.query("SET CONSTRAINTS server_versions_bump_generation IMMEDIATE");
      assert.equal((await updates()) - before, 1, "four changed rows, one bump");
    });
    // A database restored to an earlier point never reuses a generation that stood for other data.
    const after = await highest();
    assert.ok(after >= clock - 5_000_000n, `${after} is below the clock ${clock}`);
  });

  it("moves a name's generation only when that name changes, once per transaction, at least the clock", async () => {
    const before = await nameGenerations("com.example/a", "com.example/b", "com.example/none");
    assert.deepEqual(
      Object.keys(before).sort(),
      ["com.example/a", "com.example/b"],
      "names without versions have none",
    );
    const clock = BigInt(Date.now()) * 1000n;
    await db.transaction(async (tx) => {
      await tx.query("UPDATE server_versions SET description = 'a1' WHERE name = 'com.example/a'");
      await tx.query("UPDATE server_versions SET description = 'a2' WHERE name = 'com.example/a'");
    });
    const afterA = await nameGenerations("com.example/a", "com.example/b");
    assert.equal(afterA["com.example/b"], before["com.example/b"], "b did not change");
    assert.notEqual(afterA["com.example/a"], before["com.example/a"]);
    assert.ok(BigInt(afterA["com.example/a"] ?? "0") >= clock - 5_000_000n, "at least the clock");
    // Both names in one transaction: both move; a new name gets its first generation.
    await db.transaction(async (tx) => {
      await tx.query(
        "UPDATE server_versions SET description = 'both' WHERE name IN ('com.example/a', 'com.example/b')",
      );
      await insert(tx, "com.example/new", "1.0.0", true);
    });
    const afterBoth = await nameGenerations("com.example/a", "com.example/b", "com.example/new");
    assert.notEqual(afterBoth["com.example/a"], afterA["com.example/a"]);
    assert.notEqual(afterBoth["com.example/b"], afterA["com.example/b"]);
    assert.ok(afterBoth["com.example/new"] !== undefined);
    // A rolled-back change moves nothing.
    await assert.rejects(
      db.transaction(async (tx) => {
        await tx.query("UPDATE server_versions SET description = 'x' WHERE name = 'com.example/a'");
        throw new Error("abandon");
      }),
      /abandon/,
    );
    assert.deepEqual(await nameGenerations("com.example/a", "com.example/b", "com.example/new"), afterBoth);
  });

  it("reports no replay position on a primary", async () => {
    assert.equal((await new ServerStore(db).freshness([])).replayed, null);
  });
});
