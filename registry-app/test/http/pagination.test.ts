import assert from "node:assert/strict";
import { systemCaller } from "../../src/service";
import { serverJson, testRegistry, type TestRegistry } from "../support/registry";

interface List {
  servers: Array<{ server: { name: string; version: string } }>;
  metadata: { nextCursor?: string; count: number };
}

const key = (entry: { server: { name: string; version: string } }) =>
  `${entry.server.name}@${entry.server.version}`;
const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

describe("http: pagination while publishes happen concurrently", function () {
  this.timeout(120_000);
  let registry: TestRegistry;

  before(async () => {
    registry = await testRegistry("pagination");
  });
  after(async () => registry.close());

  it("walks every pre-existing version exactly once, in stable (name, version) order", async () => {
    const service = registry.runtime.service;
    const admin = systemCaller("test");
    const before: string[] = [];
    for (let n = 0; n < 30; n += 1) {
      for (let v = 0; v < 8; v += 1) {
        const name = `com.example/s${String(n * 3).padStart(3, "0")}`;
        await service.publish(admin, serverJson(name, `1.${v}.0`));
        before.push(`${name}@1.${v}.0`);
      }
    }
    // Writers insert between and around existing names while the reader walks the pages.
    let writing = true;
    const writer = (async () => {
      let i = 0;
      while (writing) {
        const name = `com.example/s${String((i % 90) + 1).padStart(3, "0")}x`;
        await service.publish(admin, serverJson(name, `2.${i}.0`));
        i += 1;
      }
      return i;
    })();
    const walked: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    try {
      do {
        const url = `/v0.1/servers?limit=17${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
        const response = await registry.app.inject({ method: "GET", url });
        assert.equal(response.statusCode, 200, response.body);
        const page = response.json<List>();
        assert.ok(page.metadata.count <= 17);
        walked.push(...page.servers.map(key));
        cursor = page.metadata.nextCursor;
        pages += 1;
        await new Promise((resolve) => setImmediate(resolve));
      } while (cursor !== undefined);
    } finally {
      writing = false;
    }
    const inserted = await writer;
    assert.ok(inserted > 0, "publishes ran during the walk");
    assert.ok(pages > 14);
    assert.equal(new Set(walked).size, walked.length, "no entry appears twice");
    const seen = new Set(walked);
    for (const entry of before) assert.ok(seen.has(entry), `${entry} was skipped`);
    const pairs = walked.map((entry) => entry.split("@") as [string, string]);
    for (let i = 1; i < pairs.length; i += 1) {
      const [prev, next] = [pairs[i - 1] as [string, string], pairs[i] as [string, string]];
      const order = byteOrder(prev[0], next[0]) || byteOrder(prev[1], next[1]);
      assert.ok(order < 0, `${walked[i - 1]} before ${walked[i]}`);
    }
  });
});
