import assert from "node:assert/strict";
import type { LightMyRequestResponse } from "fastify";
import { bearer, cacheLookups, serverJson, testRegistry, type TestRegistry } from "../support/registry";

interface Entry {
  server: { name: string; version: string; description: string };
  _meta: { "io.modelcontextprotocol.registry/official": { status: string; isLatest: boolean } };
}
interface List {
  servers: Entry[];
  metadata: { nextCursor?: string; count: number };
}

const NAME = "com.example/cached";
const LATEST = `/v0.1/servers/${encodeURIComponent(NAME)}/versions/latest`;
const official = (entry: Entry) => entry._meta["io.modelcontextprotocol.registry/official"];

describe("http: ETags, 304 and the read cache", function () {
  this.timeout(120_000);
  let a: TestRegistry;
  let b: TestRegistry;
  let tokenA: string;
  let tokenB: string;
  let databaseUrl: string;

  const get = (registry: TestRegistry, url: string, headers: Record<string, string> = {}) =>
    registry.app.inject({ method: "GET", url, headers });
  const publish = async (
    registry: TestRegistry,
    token: string,
    version: string,
    description = "Cached server",
  ) => {
    const response = await registry.app.inject({
      method: "POST",
      url: "/v0.1/publish",
      headers: bearer(token),
      payload: serverJson(NAME, version, { description }),
    });
    assert.equal(response.statusCode, 200, response.body);
  };

  before(async () => {
    a = await testRegistry("cache_a");
    // A second replica on the same database, as behind a gateway.
    databaseUrl = a.config.MCP_REGISTRY_DATABASE_URL ?? assert.fail("the test registry has a database URL");
    b = await testRegistry("cache_b", { MCP_REGISTRY_DATABASE_URL: databaseUrl });
    tokenA = await a.token([
      { action: "publish", resource: "com.example/*" },
      { action: "edit", resource: "com.example/*" },
    ]);
    tokenB = await b.token([
      { action: "publish", resource: "com.example/*" },
      { action: "edit", resource: "com.example/*" },
    ]);
    await publish(a, tokenA, "1.0.0");
  });
  after(async () => {
    await b?.close();
    await a?.close();
  });

  it("sends a strong ETag and Cache-Control: no-cache on every read, the same on both replicas", async () => {
    for (const url of [LATEST, "/v0.1/servers?limit=5", `/v0/servers/${encodeURIComponent(NAME)}/versions`]) {
      const [fromA, fromB] = [await get(a, url), await get(b, url)];
      assert.equal(fromA.statusCode, 200, fromA.body);
      assert.match(String(fromA.headers.etag), /^"[A-Za-z0-9_-]{22}"$/);
      assert.equal(fromA.headers["cache-control"], "no-cache");
      assert.equal(fromB.headers.etag, fromA.headers.etag, `${url}: replicas agree on the tag`);
      assert.equal(fromB.body, fromA.body);
    }
    const withCors = await get(a, LATEST, { origin: "https://ide.example" });
    assert.match(String(withCors.headers["access-control-expose-headers"]), /etag/);
  });

  it("answers 304 without a body when If-None-Match names the current tag, 200 otherwise", async () => {
    const first = await get(a, LATEST);
    const etag = String(first.headers.etag);
    const revalidated = await get(a, LATEST, { "if-none-match": etag });
    assert.equal(revalidated.statusCode, 304);
    assert.equal(revalidated.body, "");
    assert.equal(revalidated.headers.etag, etag);
    assert.equal(revalidated.headers["cache-control"], "no-cache");
    assert.equal((await get(a, LATEST, { "if-none-match": `W/${etag}` })).statusCode, 304, "weak comparison");
    assert.equal((await get(a, LATEST, { "if-none-match": `"other", ${etag}` })).statusCode, 304);
    assert.equal((await get(a, LATEST, { "if-none-match": "*" })).statusCode, 304);
    const other = await get(a, LATEST, { "if-none-match": '"not-it"' });
    assert.equal(other.statusCode, 200);
    assert.equal(other.body, first.body);
    const head = await a.app.inject({ method: "HEAD", url: LATEST, headers: { "if-none-match": etag } });
    assert.equal(head.statusCode, 304);
    // A missing server is a 404 problem, never cached into a 304.
    const missing = await get(a, "/v0.1/servers/com.example%2Fnope/versions/latest", {
      "if-none-match": "*",
    });
    assert.equal(missing.statusCode, 404);
  });

  it("serves repeated reads from memory", async () => {
    await get(a, "/v0.1/servers?limit=3");
    const before = await cacheLookups(a);
    for (let i = 0; i < 5; i += 1) assert.equal((await get(a, "/v0.1/servers?limit=3")).statusCode, 200);
    const after = await cacheLookups(a);
    assert.equal(after.hit - before.hit, 5);
    assert.equal(after.miss, before.miss);
  });

  it("a publish on one replica is visible on the other at once: no stale answer, no stale 304", async () => {
    const old = await get(b, LATEST);
    const oldList = await get(b, "/v0.1/servers?limit=50");
    assert.equal(old.json<Entry>().server.version, "1.0.0");
    await get(b, LATEST); // cached on B now
    await publish(a, tokenA, "2.0.0");
    const fresh = await get(b, LATEST, { "if-none-match": String(old.headers.etag) });
    assert.equal(fresh.statusCode, 200, "the old tag no longer matches");
    assert.equal(fresh.json<Entry>().server.version, "2.0.0");
    assert.notEqual(fresh.headers.etag, old.headers.etag);
    const list = (await get(b, "/v0.1/servers?limit=50")).json<List>();
    assert.deepEqual(
      list.servers
        .filter((entry) => entry.server.name === NAME)
        .map((entry) => [entry.server.version, official(entry).isLatest]),
      [
        ["1.0.0", false],
        ["2.0.0", true],
      ],
    );
    assert.notEqual(JSON.stringify(list), oldList.body);
  });

  it("edits and status changes made on either replica invalidate both", async () => {
    await get(a, LATEST);
    await get(b, LATEST);
    const edited = await b.app.inject({
      method: "PUT",
      url: `/v0.1/servers/${encodeURIComponent(NAME)}/versions/2.0.0`,
      headers: bearer(tokenB),
      payload: serverJson(NAME, "2.0.0", { description: "Edited on B" }),
    });
    assert.equal(edited.statusCode, 200, edited.body);
    assert.equal((await get(a, LATEST)).json<Entry>().server.description, "Edited on B");
    const deprecated = await a.app.inject({
      method: "PATCH",
      url: `/v0.1/servers/${encodeURIComponent(NAME)}/versions/2.0.0/status`,
      headers: bearer(tokenA),
      payload: { status: "deprecated", statusMessage: "use 3.x" },
    });
    assert.equal(deprecated.statusCode, 200, deprecated.body);
    assert.equal(official((await get(b, LATEST)).json<Entry>()).status, "deprecated");
    const deleted = await b.app.inject({
      method: "PATCH",
      url: `/v0.1/servers/${encodeURIComponent(NAME)}/status`,
      headers: bearer(tokenB),
      payload: { status: "deleted" },
    });
    assert.equal(deleted.statusCode, 200, deleted.body);
    assert.equal((await get(a, LATEST)).statusCode, 404, "deleted versions are hidden at once");
    assert.equal((await get(a, `${LATEST}?include_deleted=true`)).statusCode, 200);
  });

  it("a change made directly in the database (not through any replica) invalidates too", async () => {
    await publish(b, tokenB, "3.0.0");
    const cached = await get(a, "/v0.1/servers/com.example%2Fcached/versions/3.0.0");
    assert.equal(cached.json<Entry>().server.description, "Cached server");
    await a.runtime.db.query(
      `UPDATE server_versions SET document = jsonb_set(document, '{description}', '"Changed in SQL"'),
         description = 'Changed in SQL' WHERE name = $1 AND version = '3.0.0'`,
      [NAME],
    );
    const fresh = await get(a, "/v0.1/servers/com.example%2Fcached/versions/3.0.0");
    assert.equal(fresh.json<Entry>().server.description, "Changed in SQL");
  });

  it("with the cache off (budget 0) still tags and revalidates, and always reads the database", async () => {
    const off = await testRegistry("cache_off", {
      MCP_REGISTRY_DATABASE_URL: databaseUrl,
      MCP_REGISTRY_READ_CACHE_MAX_BYTES: "0",
    });
    try {
      const url = "/v0.1/servers/com.example%2Fcached/versions/3.0.0";
      const first: LightMyRequestResponse = await get(off, url);
      assert.equal(first.statusCode, 200);
      assert.equal((await get(off, url, { "if-none-match": String(first.headers.etag) })).statusCode, 304);
      assert.equal(
        first.headers.etag,
        (await get(a, url)).headers.etag,
        "same bytes, same tag, cached or not",
      );
      const lookups = await cacheLookups(off);
      assert.deepEqual(lookups, { hit: 0, miss: 0 });
    } finally {
      await off.close();
    }
  });
});
