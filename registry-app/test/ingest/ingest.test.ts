import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { systemCaller } from "../../src/service";
import { DATASET } from "../support/conformance";
import { serverJson, testRegistry, type TestRegistry } from "../support/registry";

interface Row {
  name: string;
  version: string;
  status: string;
  statusMessage: string | null;
  isLatest: boolean;
  document: unknown;
}

const dataset = (): Array<Record<string, unknown>> =>
  fs.existsSync(DATASET)
    ? (JSON.parse(fs.readFileSync(DATASET, "utf8")) as Array<Record<string, unknown>>)
    : Array.from({ length: 150 }, (_, i) => serverJson(`com.example/generated-${i}`, "1.0.0"));

async function snapshot(registry: TestRegistry): Promise<Row[]> {
  const { rows } = await registry.runtime.db.query<{
    name: string;
    version: string;
    status: string;
    status_message: string | null;
    is_latest: boolean;
    document: unknown;
  }>(
    "SELECT name, version, status, status_message, is_latest, document FROM server_versions ORDER BY name, version",
  );
  return rows.map((row) => ({
    name: row.name,
    version: row.version,
    status: row.status,
    statusMessage: row.status_message,
    isLatest: row.is_latest,
    document: row.document,
  }));
}

/** Serves one JSON body on loopback (a seed file behind a URL). */
async function serveJson(body: unknown): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((_request, response) => {
    response.writeHead(200, { "content-type": "application/json" });
    response.end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/seed.json`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe("ingest: seed, import and sync through the publish path", function () {
  this.timeout(180_000);
  const docs = dataset();
  let tmp: string;

  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "registry-ingest-"));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it("seeds from a file and from a URL of a server.json array; invalid entries are skipped and counted; re-runs change nothing", async () => {
    const registry = await testRegistry("seed_file");
    const served = await serveJson([...docs.slice(20, 30), { name: "bad" }]);
    try {
      const file = path.join(tmp, "seed.json");
      fs.writeFileSync(
        file,
        JSON.stringify([
          ...docs.slice(0, 20),
          { name: "not a server" },
          serverJson("com.example/x", "latest"),
        ]),
      );
      assert.deepEqual(await registry.runtime.ingestor.seed(file), {
        published: 20,
        updated: 0,
        unchanged: 0,
        invalid: 2,
      });
      assert.deepEqual(await registry.runtime.ingestor.seed(file), {
        published: 0,
        updated: 0,
        unchanged: 20,
        invalid: 2,
      });
      assert.deepEqual(await registry.runtime.ingestor.seed(served.url), {
        published: 10,
        updated: 0,
        unchanged: 0,
        invalid: 1,
      });
      assert.deepEqual(await registry.runtime.ingestor.seed(served.url), {
        published: 0,
        updated: 0,
        unchanged: 10,
        invalid: 1,
      });
      assert.equal((await snapshot(registry)).length, 30);
    } finally {
      await served.close();
      await registry.close();
    }
  });

  it("imports a directory tree of documents, arrays and list pages (GitOps), idempotently", async () => {
    const registry = await testRegistry("import");
    try {
      const dir = path.join(tmp, "catalogue");
      fs.mkdirSync(path.join(dir, "team-a"), { recursive: true });
      fs.writeFileSync(path.join(dir, "one.json"), JSON.stringify(serverJson("com.example/one", "1.0.0")));
      fs.writeFileSync(
        path.join(dir, "team-a", "many.json"),
        JSON.stringify([serverJson("com.example/two", "1.0.0"), serverJson("com.example/two", "1.1.0")]),
      );
      fs.writeFileSync(
        path.join(dir, "team-a", "page.json"),
        JSON.stringify({ servers: [{ server: serverJson("com.example/three", "3.0.0"), _meta: {} }] }),
      );
      fs.writeFileSync(path.join(dir, "README.md"), "not json");
      assert.deepEqual(await registry.runtime.ingestor.importPath(dir), {
        published: 4,
        updated: 0,
        unchanged: 0,
        invalid: 0,
      });
      assert.deepEqual(await registry.runtime.ingestor.importPath(dir), {
        published: 0,
        updated: 0,
        unchanged: 4,
        invalid: 0,
      });
      const rows = await snapshot(registry);
      assert.deepEqual(
        rows.map((row) => [row.name, row.version, row.isLatest]),
        [
          ["com.example/one", "1.0.0", true],
          ["com.example/three", "3.0.0", true],
          ["com.example/two", "1.0.0", false],
          ["com.example/two", "1.1.0", true],
        ],
      );
      await assert.rejects(registry.runtime.ingestor.importPath(path.join(tmp, "absent")), /does not exist/);
    } finally {
      await registry.close();
    }
  });

  describe("sync against a second registry on loopback", () => {
    let upstream: TestRegistry;
    let downstream: TestRegistry;
    let base: string;
    const admin = systemCaller("upstream");
    const upstreamDocs = docs.slice(0, 130);

    before(async () => {
      upstream = await testRegistry("upstream");
      downstream = await testRegistry("downstream");
      base = await upstream.app.listen({ host: "127.0.0.1", port: 0 });
      for (const document of upstreamDocs) await upstream.runtime.service.publish(admin, document);
      for (const version of ["1.0.0", "1.1.0", "2.0.0"]) {
        await upstream.runtime.service.publish(admin, serverJson("com.example/versions", version));
      }
      await upstream.runtime.service.setStatus(admin, "com.example/versions", "2.0.0", {
        status: "deleted",
        statusMessage: "broken",
      });
    });
    after(async () => {
      await upstream?.close();
      await downstream?.close();
    });

    it("seeds from a registry base URL by paging through /v0.1/servers (active versions only)", async () => {
      const fresh = await testRegistry("seed_registry");
      try {
        const report = await fresh.runtime.ingestor.seed(base);
        assert.deepEqual(report, {
          published: upstreamDocs.length + 2,
          updated: 0,
          unchanged: 0,
          invalid: 0,
        });
      } finally {
        await fresh.close();
      }
    });

    it("mirrors every version with its status, then a re-run changes nothing", async () => {
      const first = await downstream.runtime.ingestor.sync(base, 300);
      assert.equal(first.published, upstreamDocs.length + 3);
      assert.equal(first.invalid, 0);
      assert.ok(first.watermark);
      assert.deepEqual(await snapshot(downstream), await snapshot(upstream));
      const again = await downstream.runtime.ingestor.sync(base, 300);
      assert.equal(again.published, 0);
      assert.equal(again.updated, 0);
      assert.ok(again.since, "the second run asks only for changes since the watermark");
      assert.deepEqual(await snapshot(downstream), await snapshot(upstream));
    });

    it("pulls only what changed upstream: new versions, edits and status changes", async () => {
      const before = await downstream.runtime.store.syncWatermark(base);
      await new Promise((resolve) => setTimeout(resolve, 20));
      await upstream.runtime.service.publish(admin, serverJson("com.example/versions", "2.1.0"));
      await upstream.runtime.service.edit(
        admin,
        "com.example/versions",
        "1.0.0",
        serverJson("com.example/versions", "1.0.0", { description: "Edited upstream" }),
      );
      await upstream.runtime.service.setStatus(admin, "com.example/versions", "1.1.0", {
        status: "deprecated",
        statusMessage: "old",
      });
      // No overlap: exactly the entries updated after the watermark come back.
      const report = await downstream.runtime.ingestor.sync(base, 0);
      assert.equal(report.published, 1);
      assert.ok(report.updated >= 2, JSON.stringify(report));
      assert.ok(
        report.published + report.updated + report.unchanged < 10,
        "an incremental pull, not a full one",
      );
      assert.ok((await downstream.runtime.store.syncWatermark(base))! > before!);
      assert.deepEqual(await snapshot(downstream), await snapshot(upstream));
    });

    it("fails loudly when the upstream is not a registry", async () => {
      const served = await serveJson({ hello: "world" });
      try {
        await assert.rejects(
          downstream.runtime.ingestor.sync(served.url.replace("/seed.json", ""), 0),
          /server list/,
        );
      } finally {
        await served.close();
      }
    });
  });
});
