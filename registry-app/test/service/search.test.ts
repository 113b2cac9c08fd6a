import assert from "node:assert/strict";
import fs from "node:fs";
import type { RegistryService } from "../../src/service";
import { DATASET } from "../support/conformance";
import { testRegistry, type TestRegistry } from "../support/registry";

interface DatasetServer {
  name: string;
  description: string;
}

/**
 * Search quality on the real dataset (464 servers of the official registry's May 2025 seed): ranked
 * pg_trgm + full-text search against the baseline of a case-insensitive substring match on the name.
 */
describe("service: ranked search on the real dataset", function () {
  this.timeout(120_000);
  const available = fs.existsSync(DATASET);
  let registry: TestRegistry;
  let service: RegistryService;
  let dataset: DatasetServer[];

  before(async function () {
    if (!available) {
      console.warn(`    (skipped: ${DATASET} is absent)`);
      this.skip();
    }
    dataset = JSON.parse(fs.readFileSync(DATASET, "utf8")) as DatasetServer[];
    registry = await testRegistry("search");
    service = registry.runtime.service;
    const report = await registry.runtime.ingestor.publishAll(
      dataset.map((document, index) => ({ origin: `dataset[${index}]`, document })),
      "test",
    );
    assert.deepEqual(report, { published: dataset.length, updated: 0, unchanged: 0, invalid: 0 });
  });
  after(async () => registry?.close());

  async function search(text: string, limit = 100): Promise<string[]> {
    const page = await service.list({ search: text, limit, includeDeleted: false }, { tagged: false });
    return page.entries.map((entry) => entry.name);
  }

  const substringBaseline = (text: string) =>
    dataset
      .filter((server) => server.name.toLowerCase().includes(text.toLowerCase()))
      .map((server) => server.name);

  it("finds what a name-substring match misses, through descriptions, ranking name hits first", async () => {
    const baseline = substringBaseline("kubernetes");
    const ranked = await search("kubernetes");
    const described = dataset
      .filter((server) => /kubernetes/i.test(server.description) || /kubernetes/i.test(server.name))
      .map((server) => server.name);
    assert.ok(baseline.length < described.length, "the dataset has description-only matches");
    assert.deepEqual(new Set(ranked), new Set(described), "every server about Kubernetes, and nothing else");
    assert.deepEqual(new Set(ranked.slice(0, baseline.length)), new Set(baseline), "name matches rank first");
  });

  it("understands several words and word forms where a substring finds nothing", async () => {
    assert.deepEqual(substringBaseline("mysql database"), []);
    const ranked = await search("mysql database");
    assert.ok(ranked.length >= 10, `found ${ranked.length}`);
    const topTwo = ranked.slice(0, 2).sort();
    assert.deepEqual(topTwo, [
      "io.github.benborla/mcp-server-mysql",
      "io.github.designcomputer/mysql_mcp_server",
    ]);
    // Stemming: "databases" finds descriptions saying "database".
    const plural = await search("databases");
    assert.ok(plural.includes("io.github.oceanbase/mcp-oceanbase"), "description says 'OceanBase database'");
    assert.ok(plural.length > substringBaseline("databases").length);
  });

  it("tolerates typos through trigram similarity of names", async () => {
    assert.deepEqual(substringBaseline("kubernets"), []);
    const ranked = await search("kubernets");
    assert.ok(ranked.includes("io.github.flux159/mcp-server-kubernetes"), ranked.join(", "));
    assert.ok(ranked.includes("io.github.manusa/kubernetes-mcp-server"), ranked.join(", "));
  });

  it("puts an exact name, or its server part, first", async () => {
    assert.equal(
      (await search("io.github.korotovsky/slack-mcp-server"))[0],
      "io.github.korotovsky/slack-mcp-server",
    );
    assert.equal((await search("slack-mcp-server"))[0], "io.github.korotovsky/slack-mcp-server");
  });

  it("pages through ranked results with cursors, without repeats or gaps", async () => {
    const all = await search("server", 100);
    const walked: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await service.list(
        { search: "server", limit: 17, includeDeleted: false, cursor },
        { tagged: false },
      );
      walked.push(...page.entries.map((entry) => entry.name));
      cursor = page.nextCursor;
    } while (cursor !== undefined && walked.length < 2_000);
    assert.equal(new Set(walked).size, walked.length, "no repeats");
    assert.deepEqual(walked.slice(0, all.length), all, "same order as one big page");
    assert.ok(walked.length > 100, "the walk went past the first hundred");
  });
});
