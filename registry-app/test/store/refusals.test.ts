import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { PassThrough } from "node:stream";
import { Ingestor } from "../../src/ingest";
import { createLogger } from "../../src/logger";
import { systemCaller } from "../../src/service";
import { StoreRefusedValueError, type PublishRequest } from "../../src/store";
import { bearer, serverJson, testRegistry, type TestRegistry } from "../support/registry";

/** A publish request straight to the store: no edge, no server.json validation in front of it. */
function request(name: string, overrides: Partial<PublishRequest> = {}): PublishRequest {
  const document = serverJson(name, "1.0.0");
  return {
    name,
    version: "1.0.0",
    document,
    description: String(document.description),
    title: null,
    remoteUrls: [],
    maxVersions: 10_000,
    candidateMain: [1, 0, 0],
    ...overrides,
  };
}

async function refusedWith(promise: Promise<unknown>, sqlState: string): Promise<StoreRefusedValueError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(
      error instanceof StoreRefusedValueError,
      `expected a StoreRefusedValueError, got ${String(error)}`,
    );
    assert.equal(error.status, 400);
    assert.equal(error.sqlState, sqlState);
    assert.equal(
      (error.cause as { code?: string }).code,
      sqlState,
      "the PostgreSQL error is kept for the log",
    );
    assert.doesNotMatch(
      error.detail,
      /server_versions|remote_urls|_key|btree/,
      "no schema internals in the answer",
    );
    return error;
  }
  assert.fail(`expected PostgreSQL to refuse with ${sqlState}`);
}

/**
 * The last line of defence: what PostgreSQL refuses as bad input is a 400, never a 500. Each SQLSTATE
 * is produced for real by going around the edge (the store or the service called directly).
 */
describe("store: values PostgreSQL refuses are a 400, not a 500", function () {
  let registry: TestRegistry;

  before(async () => {
    registry = await testRegistry("refusals");
  });
  after(async () => registry.close());

  /** One version through the store's publish statement. */
  function publishOne(publish: PublishRequest): Promise<unknown> {
    return registry.runtime.store.publishMany(publish.name, [publish]);
  }

  async function count(): Promise<number> {
    const { rows } = await registry.runtime.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM server_versions",
    );
    return rows[0]?.n ?? -1;
  }

  it("22P05: a \\u0000 escape in the jsonb document", async () => {
    const document = serverJson("com.example/nul", "1.0.0", { title: "a\u0000" });
    await refusedWith(publishOne(request("com.example/nul", { document })), "22P05");
    assert.equal(await count(), 0, "nothing half-created");
  });

  it("22P02: an unpaired surrogate escape in the jsonb document", async () => {
    const document = serverJson("com.example/lone", "1.0.0", { description: "\ud800" });
    await refusedWith(publishOne(request("com.example/lone", { document })), "22P02");
  });

  it("22021: a NUL in a text parameter", async () => {
    await refusedWith(
      registry.runtime.store.reading({ tagged: false }, (reader) =>
        reader.versions("com.example/a\u0000b", false),
      ),
      "22021",
    );
  });

  it("22003: a number out of range of its column (the version cap as integer)", async () => {
    await refusedWith(publishOne(request("com.example/cap", { maxVersions: 2 ** 31 })), "22003");
  });

  it("54000: a remote URL too large for its btree index", async () => {
    const url = `https://big.example.com/${randomBytes(3000).toString("base64url")}`;
    await refusedWith(publishOne(request("com.example/big", { remoteUrls: [url] })), "54000");
    const { rows } = await registry.runtime.db.query("SELECT 1 FROM remote_urls");
    assert.equal(rows.length, 0, "no claim left behind");
  });

  it("an edit through the service (no edge) rolls back and leaves the stored document as it was", async () => {
    const { service } = registry.runtime;
    const caller = systemCaller("test");
    await service.publish(caller, serverJson("com.example/edit", "1.0.0"));
    await refusedWith(
      service.edit(
        caller,
        "com.example/edit",
        "1.0.0",
        serverJson("com.example/edit", "1.0.0", { title: "x\u0000" }),
      ),
      "22P05",
    );
    const stored = await registry.runtime.store.get("com.example/edit", "1.0.0");
    assert.equal((JSON.parse(stored?.documentJson ?? "{}") as { title?: string }).title, undefined);
  });

  describe("through HTTP and ingestion, on a database stricter than the edge knows", () => {
    let strict: TestRegistry;
    const lines: Array<Record<string, unknown>> = [];

    before(async () => {
      const logs = new PassThrough();
      logs.on("data", (chunk: Buffer) => {
        for (const line of chunk.toString("utf8").split("\n").filter(Boolean))
          lines.push(JSON.parse(line) as Record<string, unknown>);
      });
      strict = await testRegistry("refusals_http", { MCP_REGISTRY_LOG_LEVEL: "info" }, { logStream: logs });
      // A column narrower than the edge's rules (2048 bytes): the edge lets such a URL through.
      await strict.runtime.db.query("ALTER TABLE remote_urls ALTER COLUMN url TYPE varchar(64)");
    });
    after(async () => strict.close());

    it("22001 answers problem+json 400 with a clear message, logged at error level as an edge bug", async () => {
      const token = await strict.token([{ action: "publish", resource: "*" }]);
      const document = serverJson("com.example/narrow", "1.0.0", {
        remotes: [{ type: "sse", url: `https://narrow.example.com/${"p".repeat(80)}` }],
      });
      const response = await strict.app.inject({
        method: "POST",
        url: "/v0.1/publish",
        headers: bearer(token),
        payload: document,
      });
      assert.equal(response.statusCode, 400, response.body);
      assert.match(String(response.headers["content-type"]), /^application\/problem\+json/);
      assert.deepEqual(response.json(), {
        title: "Bad Request",
        status: 400,
        detail:
          "The request holds a value the registry cannot store: a value is longer than the database allows.",
      });
      const logged = lines.find((line) => line.sql_state === "22001");
      assert.ok(logged, `an error line names the SQLSTATE: ${JSON.stringify(lines)}`);
      assert.equal(logged.level, "error");
      assert.match(String(logged.msg), /bug in edge validation/);
      const after = await strict.app.inject({
        method: "GET",
        url: `/v0.1/servers/${encodeURIComponent("com.example/narrow")}/versions/1.0.0`,
      });
      assert.equal(after.statusCode, 404, "nothing stored");
    });

    it("ingestion counts such an entry as invalid and logs it at error level", async () => {
      const ingestLines: Array<Record<string, unknown>> = [];
      const stream = new PassThrough();
      stream.on("data", (chunk: Buffer) => {
        for (const line of chunk.toString("utf8").split("\n").filter(Boolean))
          ingestLines.push(JSON.parse(line) as Record<string, unknown>);
      });
      const ingestor = new Ingestor(
        strict.runtime.service,
        strict.runtime.store,
        createLogger("info", "test", stream),
      );
      const report = await ingestor.publishAll(
        [
          {
            origin: "crafted[0]",
            document: serverJson("com.example/narrow-ingest", "1.0.0", {
              remotes: [{ type: "sse", url: `https://narrow.example.com/${"q".repeat(80)}` }],
            }),
          },
          { origin: "crafted[1]", document: serverJson("com.example/fine", "1.0.0") },
        ],
        "test",
      );
      assert.deepEqual(report, { published: 1, updated: 0, unchanged: 0, invalid: 1 });
      await new Promise((resolve) => setImmediate(resolve));
      const logged = ingestLines.find((line) => line.origin === "crafted[0]");
      assert.ok(logged, JSON.stringify(ingestLines));
      assert.equal(logged.level, "error");
      assert.equal(logged.sql_state, "22001");
      assert.match(String(logged.msg), /bug in edge validation/);
    });
  });
});
