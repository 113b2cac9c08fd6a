import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { PassThrough } from "node:stream";
import { Ingestor } from "../../src/ingest";
import { createLogger } from "../../src/logger";
import { serverJson, testRegistry, type TestRegistry } from "../support/registry";

const json = (value: unknown) => Buffer.from(JSON.stringify(value), "utf8");

/** A JSON array whose one element has an invalid byte spliced into its description. */
function arrayWithInvalidByte(good: unknown[], name: string): Buffer {
  const bad = Buffer.from(`{"name":"${name}","version":"1.0.0","description":"Caf`, "utf8");
  const items = good.map(json);
  return Buffer.concat([
    Buffer.from("["),
    ...items.flatMap((item) => [item, Buffer.from(",")]),
    bad,
    Buffer.from([0xe9]),
    Buffer.from('"}]'),
  ]);
}

/** Serves fixed bytes as JSON on loopback: a seed URL, or every page of an upstream registry. */
async function serveBytes(body: Buffer): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((_request, response) => {
    response.writeHead(200, { "content-type": "application/json" });
    response.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Seed, import and sync skip (and count) each document holding a value the store cannot keep exactly. */
describe("ingest: documents the store cannot keep exactly are skipped, counted and logged", function () {
  this.timeout(120_000);
  let registry: TestRegistry;
  let ingestor: Ingestor;
  let tmp: string;
  const lines: Array<Record<string, unknown>> = [];

  before(async () => {
    registry = await testRegistry("ingest_storable");
    const stream = new PassThrough();
    stream.on("data", (chunk: Buffer) => {
      for (const line of chunk.toString("utf8").split("\n").filter(Boolean))
        lines.push(JSON.parse(line) as Record<string, unknown>);
    });
    ingestor = new Ingestor(
      registry.runtime.service,
      registry.runtime.store,
      createLogger("info", "test", stream),
    );
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "registry-ingest-storable-"));
  });
  after(async () => {
    fs.rmSync(tmp, { recursive: true, force: true });
    await registry.close();
  });

  const logFor = async (origin: RegExp) => {
    await new Promise((resolve) => setImmediate(resolve));
    const line = lines.find((entry) => origin.test(String(entry.origin)));
    assert.ok(line, `a line for ${origin}: ${JSON.stringify(lines)}`);
    return line;
  };

  it("import: an escaped NUL, a lone surrogate and invalid UTF-8 each skip only their own document", async () => {
    const dir = path.join(tmp, "import");
    fs.mkdirSync(dir);
    fs.writeFileSync(
      path.join(dir, "a.json"),
      json([
        serverJson("com.example/import-ok", "1.0.0"),
        serverJson("com.example/import-nul", "1.0.0", { title: "x\u0000" }),
        serverJson("com.example/import-lone", "1.0.0", { description: "\udfff" }),
      ]),
    );
    fs.writeFileSync(
      path.join(dir, "b.json"),
      arrayWithInvalidByte([serverJson("com.example/import-ok2", "1.0.0")], "com.example/import-latin1"),
    );
    assert.deepEqual(await ingestor.importPath(dir), { published: 2, updated: 0, unchanged: 0, invalid: 3 });
    const nul = await logFor(/a\.json\[1\]$/);
    assert.equal(nul.level, "warn");
    assert.deepEqual(nul.locations, [`${path.relative(process.cwd(), path.join(dir, "a.json"))}[1].title`]);
    assert.match(String(nul.problem), /NUL character/);
    assert.match(String((await logFor(/a\.json\[2\]$/)).problem), /unpaired UTF-16 surrogate/);
    const latin1 = await logFor(/b\.json\[1\]$/);
    assert.match(String(latin1.problem), /\[1\]\.description: contains bytes that are not UTF-8/);
    const stored = await registry.runtime.store.get("com.example/import-latin1", "1.0.0");
    assert.equal(stored, undefined, "never stored with U+FFFD");
  });

  it("import: a file whose invalid bytes break its JSON fails with the byte offset", async () => {
    const file = path.join(tmp, "broken.json");
    fs.writeFileSync(file, Buffer.concat([Buffer.from('[{"name":'), Buffer.from([0xff]), Buffer.from("}]")]));
    await assert.rejects(
      ingestor.importPath(file),
      /is not valid JSON: .*not valid UTF-8 \(the first invalid byte is at offset 9\)/,
    );
  });

  it("seed from a URL: the document with invalid UTF-8 is skipped, the others published", async () => {
    const served = await serveBytes(
      arrayWithInvalidByte([serverJson("com.example/seed-ok", "1.0.0")], "com.example/seed-latin1"),
    );
    try {
      assert.deepEqual(await ingestor.seed(`${served.url}/seed.json`), {
        published: 1,
        updated: 0,
        unchanged: 0,
        invalid: 1,
      });
      assert.match(String((await logFor(/seed\.json\[1\]$/)).problem), /not UTF-8/);
    } finally {
      await served.close();
    }
  });

  it("sync: an upstream entry with a NUL in its status message is skipped and counted", async () => {
    const entry = (name: string, statusMessage?: string) => ({
      server: serverJson(name, "1.0.0"),
      _meta: {
        "io.modelcontextprotocol.registry/official": {
          status: statusMessage === undefined ? "active" : "deprecated",
          statusMessage,
          updatedAt: "2026-01-01T00:00:00.000Z",
        },
      },
    });
    const served = await serveBytes(
      json({
        servers: [entry("com.example/sync-ok"), entry("com.example/sync-nul", "old\u0000")],
        metadata: {},
      }),
    );
    try {
      const report = await ingestor.sync(served.url, 0);
      assert.equal(report.published, 1);
      assert.equal(report.invalid, 1);
      const line = await logFor(/page 1 \[1\]$/);
      assert.match(
        String((line.locations as string[])[0]),
        /\[1\]\._meta\["io\.modelcontextprotocol\.registry\/official"\]\.statusMessage$/,
      );
      assert.equal(await registry.runtime.store.get("com.example/sync-nul", "1.0.0"), undefined);
    } finally {
      await served.close();
    }
  });
});
