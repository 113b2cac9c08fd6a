import assert from "node:assert/strict";
import type { PoolClient } from "pg";
import { bodyWithEtag, ifNoneMatchHits, ReadCache } from "../../src/http/read-cache";
import { GenerationReader } from "../../src/service";
import { Database, migrate, ServerStore } from "../../src/store";
import { freshDatabaseUrl } from "../support/postgres";

/** A read whose answer the test decides, recording when each read started. */
class ControlledRead {
  readonly started: Array<{ resolve: (value: string) => void; reject: (error: Error) => void }> = [];

  read = (): Promise<string> =>
    new Promise<string>((resolve, reject) => {
      this.started.push({ resolve, reject });
    });

  answer(index: number, value: string): void {
    this.started[index]?.resolve(value);
  }
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe("http: generation reads shared by concurrent requests", () => {
  it("never answers a caller with a read that started before its call", async () => {
    const source = new ControlledRead();
    const reader = new GenerationReader(source.read);
    const first = reader.current();
    assert.equal(source.started.length, 1);
    // Arrives while read 0 is in flight: it must wait for a read that starts after it.
    const second = reader.current();
    const third = reader.current();
    assert.equal(source.started.length, 1, "no second read while the first is in flight");
    let secondValue: string | undefined;
    void second.then((value) => {
      secondValue = value;
    });
    source.answer(0, "g1");
    assert.equal(await first, "g1");
    await tick();
    assert.equal(secondValue, undefined, "read 0's answer is not given to a later caller");
    assert.equal(source.started.length, 2, "one queued read for every caller that waited");
    source.answer(1, "g2");
    assert.equal(await second, "g2");
    assert.equal(await third, "g2");
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
    assert.equal(await next, "g3");
  });
});

describe("http: the read cache", () => {
  function cacheOn(generation: { value: string }, maxBytes = 1_000_000) {
    const lookups: string[] = [];
    const cache = new ReadCache({
      maxBytes,
      generation: async () => generation.value,
      onLookup: (outcome) => lookups.push(outcome),
    });
    return { cache, lookups };
  }

  it("answers from memory within a generation and asks again once the generation moves", async () => {
    const generation = { value: "1" };
    const { cache, lookups } = cacheOn(generation);
    let produced = 0;
    const produce = async () => `{"n":${++produced}}`;
    assert.equal((await cache.get("k", produce)).body.toString(), '{"n":1}');
    assert.equal((await cache.get("k", produce)).body.toString(), '{"n":1}');
    assert.deepEqual(lookups, ["miss", "hit"]);
    generation.value = "2";
    assert.equal((await cache.get("k", produce)).body.toString(), '{"n":2}');
    assert.equal(produced, 2);
    assert.ok(cache.size > 0);
  });

  it("runs one query for concurrent misses of the same key", async () => {
    const { cache } = cacheOn({ value: "1" });
    let produced = 0;
    const produce = async () => {
      produced += 1;
      await tick();
      return '{"same":true}';
    };
    const answers = await Promise.all([
      cache.get("k", produce),
      cache.get("k", produce),
      cache.get("k", produce),
    ]);
    assert.equal(produced, 1);
    assert.ok(answers.every((answer) => answer.etag === answers[0]?.etag));
  });

  it("does not keep an answer whose generation moved on while it was produced", async () => {
    const generation = { value: "1" };
    const { cache } = cacheOn(generation);
    let produced = 0;
    await cache.get("k", async () => {
      produced += 1;
      generation.value = "2";
      return "{}";
    });
    await cache.get("k", async () => {
      produced += 1;
      return "{}";
    });
    assert.equal(produced, 2);
  });

  it("keeps within its byte budget, evicting the least recently used, and never keeps failures", async () => {
    const { cache } = cacheOn({ value: "1" }, 800);
    const body = (n: number) => async () => JSON.stringify({ n, pad: "x".repeat(70) });
    for (const key of ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"]) await cache.get(key, body(1));
    assert.ok(cache.size <= 800, `size ${cache.size}`);
    let produced = 0;
    await cache.get("j", async () => {
      produced += 1;
      return "{}";
    });
    await cache.get("a", async () => {
      produced += 1;
      return "{}";
    });
    assert.equal(produced, 1, "the newest entry stayed, the oldest was evicted");
    await assert.rejects(
      cache.get("x", async () => Promise.reject(new Error("boom"))),
      /boom/,
    );
    assert.equal((await cache.get("x", async () => '{"ok":1}')).body.toString(), '{"ok":1}');
  });

  it("serves but never keeps an answer larger than an eighth of the budget", async () => {
    const { cache, lookups } = cacheOn({ value: "1" }, 800);
    const large = async () => JSON.stringify({ pad: "y".repeat(200) });
    await cache.get("big", large);
    await cache.get("big", large);
    assert.deepEqual(lookups, ["miss", "miss"]);
  });

  it("with a budget of 0 asks the database every time and never reads the generation", async () => {
    let generationReads = 0;
    const cache = new ReadCache({
      maxBytes: 0,
      generation: async () => {
        generationReads += 1;
        return "1";
      },
    });
    let produced = 0;
    await cache.get("k", async () => `{"n":${++produced}}`);
    await cache.get("k", async () => `{"n":${++produced}}`);
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
  const generation = async () => new ServerStore(db).changeGeneration();
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
});
