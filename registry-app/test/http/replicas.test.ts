import assert from "node:assert/strict";
import { LSN_HEADER } from "../../src/http/consistency";
import { startReplicatedPair, withClient, type ReplicatedPair } from "../support/replication";
import { bearer, serverJson, testRegistry, type TestRegistry } from "../support/registry";

interface Entry {
  server: { name: string; version: string };
}
interface List {
  servers: Entry[];
}

const NAME = "com.example/replicated";
const LATEST = `/v0.1/servers/${encodeURIComponent(NAME)}/versions/latest`;

/**
 * Reads from a streaming standby (MCP_REGISTRY_DATABASE_READ_URL) with two real PostgreSQL servers in
 * streaming replication, the standby's replay paused to simulate lag: reads without the client's
 * write position come from the (stale) standby; reads that send it back see their write.
 */
describe("http: reads from a streaming standby, read-your-writes by WAL position", function () {
  this.timeout(240_000);
  let pair: ReplicatedPair;
  const registries: Record<"cached" | "uncached", TestRegistry | undefined> = {
    cached: undefined,
    uncached: undefined,
  };
  let primaryUrl: string;
  let standbyUrl: string;
  let token: string;
  let firstWrite: string;

  const registry = (variant: "cached" | "uncached") => registries[variant] ?? assert.fail("not started");
  const get = (variant: "cached" | "uncached", url: string, lsn?: string) =>
    registry(variant).app.inject({
      method: "GET",
      url,
      headers: lsn === undefined ? {} : { [LSN_HEADER]: lsn },
    });
  const versionOf = (response: { statusCode: number; body: string }) => {
    assert.equal(response.statusCode, 200, response.body);
    return (JSON.parse(response.body) as Entry).server.version;
  };
  const publish = async (version: string): Promise<string> => {
    const response = await registry("cached").app.inject({
      method: "POST",
      url: "/v0.1/publish",
      headers: bearer(token),
      payload: serverJson(NAME, version),
    });
    assert.equal(response.statusCode, 200, response.body);
    const lsn = response.headers[LSN_HEADER];
    assert.match(String(lsn), /^[0-9A-F]+\/[0-9A-F]+$/, "a write answers with its WAL position");
    return String(lsn);
  };
  const replay = (action: "pause" | "resume") =>
    withClient(standbyUrl, (client) => client.query(`SELECT pg_wal_replay_${action}()`));

  before(async function () {
    pair = await startReplicatedPair({ flags: ["fsync=off", "synchronous_commit=off"] });
    await withClient(pair.primary.url("postgres"), (client) => client.query("CREATE DATABASE registry"));
    primaryUrl = pair.primary.url("registry");
    standbyUrl = pair.standby.url("registry");
    await pair.caughtUp();
    const env = { MCP_REGISTRY_DATABASE_URL: primaryUrl, MCP_REGISTRY_DATABASE_READ_URL: standbyUrl };
    registries.cached = await testRegistry("replicas", env);
    registries.uncached = await testRegistry("replicas_off", {
      ...env,
      MCP_REGISTRY_READ_CACHE_MAX_BYTES: "0",
    });
    token = await registry("cached").token([{ action: "publish", resource: "com.example/*" }]);
    firstWrite = await publish("1.0.0");
    await pair.caughtUp();
  });
  after(async () => {
    await registries.uncached?.close();
    await registries.cached?.close();
    await pair?.close();
  });

  it("reads from the standby, and a client's own write from wherever it is already visible", async () => {
    for (const variant of ["cached", "uncached"] as const) {
      assert.equal(versionOf(await get(variant, LATEST)), "1.0.0");
    }
    await replay("pause");
    try {
      const written = await publish("2.0.0");
      for (const variant of ["cached", "uncached"] as const) {
        // Without the write's position: the standby's answer, which lags (replay is paused).
        assert.equal(versionOf(await get(variant, LATEST)), "1.0.0", `${variant}: the standby serves reads`);
        // With it: never older than the write, for every kind of read.
        assert.equal(versionOf(await get(variant, LATEST, written)), "2.0.0", `${variant}: latest`);
        const versions = (
          await get(variant, `/v0.1/servers/${encodeURIComponent(NAME)}/versions`, written)
        ).json<List>();
        assert.deepEqual(
          versions.servers.map((entry) => entry.server.version),
          ["2.0.0", "1.0.0"],
        );
        const list = (await get(variant, "/v0.1/servers?limit=100", written)).json<List>();
        assert.ok(
          list.servers.some((entry) => entry.server.version === "2.0.0"),
          `${variant}: list`,
        );
        const search = (await get(variant, "/v0.1/servers?search=replicated", written)).json<List>();
        assert.ok(
          search.servers.some((entry) => entry.server.version === "2.0.0"),
          `${variant}: search`,
        );
        assert.equal(
          versionOf(await get(variant, `${LATEST}`, written)),
          "2.0.0",
          "again, from memory or not",
        );
      }
      // An older position (the first write) is satisfied by the lagging standby itself.
      assert.equal(versionOf(await get("cached", LATEST, firstWrite)), "1.0.0");
      assert.equal(versionOf(await get("uncached", LATEST, firstWrite)), "1.0.0");
    } finally {
      await replay("resume");
    }
    await pair.caughtUp();
    for (const variant of ["cached", "uncached"] as const) {
      assert.equal(versionOf(await get(variant, LATEST)), "2.0.0", `${variant}: the standby caught up`);
    }
  });

  it("refuses a malformed position, naming the header", async () => {
    const response = await get("cached", LATEST, "not-a-position");
    assert.equal(response.statusCode, 400);
    const problem = response.json<{ errors: Array<{ location: string }> }>();
    assert.equal(problem.errors[0]?.location, `header.${LSN_HEADER}`);
  });

  it("keeps reads up on the primary while the standby is down", async () => {
    await pair.standby.stop();
    try {
      for (const variant of ["cached", "uncached"] as const) {
        assert.equal(versionOf(await get(variant, LATEST)), "2.0.0", `${variant}: answered by the primary`);
      }
    } finally {
      await pair.standby.start();
    }
  });
});
