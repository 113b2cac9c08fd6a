import assert from "node:assert/strict";
import { bearer, cacheLookups, serverJson, testRegistry, type TestRegistry } from "../support/registry";

interface Entry {
  server: { name: string; version: string };
}

const latestUrl = (name: string) => `/v0.1/servers/${encodeURIComponent(name)}/versions/latest`;

/** Two service instances on one database, as two replicas behind a gateway. */
describe("http: the read cache is invalidated per server name", function () {
  this.timeout(180_000);
  let a: TestRegistry;
  let b: TestRegistry;
  const tokens = new Map<TestRegistry, string>();

  const publish = async (registry: TestRegistry, name: string, version: string) => {
    const response = await registry.app.inject({
      method: "POST",
      url: "/v0.1/publish",
      headers: bearer(tokens.get(registry) ?? assert.fail("no token")),
      payload: serverJson(name, version),
    });
    assert.equal(response.statusCode, 200, response.body);
  };
  const latestOf = async (registry: TestRegistry, name: string) => {
    const response = await registry.app.inject({ method: "GET", url: latestUrl(name) });
    assert.equal(response.statusCode, 200, response.body);
    return response.json<Entry>().server.version;
  };

  before(async () => {
    a = await testRegistry("invalidate_a");
    const url = a.config.MCP_REGISTRY_DATABASE_URL ?? assert.fail("the test registry has a database URL");
    b = await testRegistry("invalidate_b", { MCP_REGISTRY_DATABASE_URL: url });
    // Each instance signs with its own key, so each verifies only its own tokens.
    for (const registry of [a, b])
      tokens.set(registry, await registry.token([{ action: "publish", resource: "com.example/*" }]));
    for (const name of ["com.example/one", "com.example/other", "com.example/busy"])
      await publish(a, name, "1.0.0");
  });
  after(async () => {
    await b?.close();
    await a?.close();
  });

  it("keeps answers about other names cached through a write, and refreshes the written name's", async () => {
    const otherVersions = `/v0.1/servers/${encodeURIComponent("com.example/other")}/versions`;
    await latestOf(b, "com.example/other");
    await b.app.inject({ method: "GET", url: otherVersions });
    await latestOf(b, "com.example/one");
    const list = await b.app.inject({ method: "GET", url: "/v0.1/servers?limit=10" });
    const before = await cacheLookups(b);
    await publish(a, "com.example/one", "2.0.0");
    assert.equal(await latestOf(b, "com.example/other"), "1.0.0");
    await b.app.inject({ method: "GET", url: otherVersions });
    const afterOthers = await cacheLookups(b);
    assert.deepEqual(afterOthers, { hit: before.hit + 2, miss: before.miss }, "other names' answers stayed");
    assert.equal(await latestOf(b, "com.example/one"), "2.0.0", "the written name's answer is fresh");
    const freshList = await b.app.inject({ method: "GET", url: "/v0.1/servers?limit=10" });
    assert.notEqual(freshList.body, list.body, "lists depend on every name: refreshed too");
    const afterWritten = await cacheLookups(b);
    assert.deepEqual(afterWritten, { hit: afterOthers.hit, miss: afterOthers.miss + 2 });
  });

  it("never shows a stale latest after a publish of the same name completed, on either instance", async () => {
    const name = "com.example/busy";
    let completed = 1;
    let stop = false;
    let reads = 0;
    // Readers on both instances keep the cache warm and their generation reads shared and in flight.
    const reader = async (registry: TestRegistry) => {
      while (!stop) {
        const floor = completed;
        const version = Number((await latestOf(registry, name)).split(".")[0]);
        assert.ok(version >= floor, `read ${version}.0.0 after ${floor}.0.0 had been published`);
        reads += 1;
      }
    };
    const readers = [a, a, a, b, b, b].map(reader);
    try {
      for (let major = 2; major <= 25; major += 1) {
        await publish(major % 2 === 0 ? a : b, name, `${major}.0.0`);
        completed = major;
        // The very next read on the other instance, too.
        assert.equal(await latestOf(major % 2 === 0 ? b : a, name), `${major}.0.0`);
      }
    } finally {
      stop = true;
      await Promise.all(readers);
    }
    assert.ok(reads > 24, `the readers ran (${reads} reads)`);
    const { hit } = await cacheLookups(b);
    assert.ok(hit > 0, "and were mostly answered from memory");
  });

  it("sees a change made directly in SQL to one name, and only that name's answers move", async () => {
    await latestOf(b, "com.example/other");
    await latestOf(b, "com.example/one");
    await a.runtime.db.query(
      `UPDATE server_versions SET document = jsonb_set(document, '{description}', '"Changed in SQL"'),
         description = 'Changed in SQL' WHERE name = 'com.example/one' AND is_latest`,
    );
    const before = await cacheLookups(b);
    const response = await b.app.inject({ method: "GET", url: latestUrl("com.example/one") });
    assert.match(response.body, /Changed in SQL/);
    await latestOf(b, "com.example/other");
    assert.deepEqual(await cacheLookups(b), { hit: before.hit + 1, miss: before.miss + 1 });
  });
});
