import assert from "node:assert/strict";
import { RegistryService, systemCaller, type ListQuery } from "../../src/service";
import type { FacetRow, ServerStore } from "../../src/store";
import { serverJson, testRegistry, type TestRegistry } from "../support/registry";

const CLASSIFIED = (categories: string[]) => ({
  _meta: { "io.modelcontextprotocol.registry/publisher-provided": { categories } },
});

describe("service: narrowed list pages found in the facet index", function () {
  let registry: TestRegistry;
  let store: ServerStore;
  const sources: string[] = [];
  let service: RegistryService;
  const admin = systemCaller("test");
  const databases: ListQuery = { limit: 2, includeDeleted: false, attributes: { categories: ["databases"] } };

  before(async () => {
    registry = await testRegistry("indexed_pages");
    store = registry.runtime.store;
    service = new RegistryService(store, {
      events: {
        validated: () => undefined,
        facetsCounted: () => undefined,
        narrowedPage: (source) => sources.push(source),
      },
    });
    for (const name of [
      "io.example/server-a",
      "io.example/server-b",
      "io.example/server-c",
      "io.example/server-d",
    ]) {
      for (const version of ["1.0.0", "2.0.0"]) {
        const categories = name.endsWith("-c") ? ["search"] : ["databases"];
        await service.publish(admin, serverJson(name, version, CLASSIFIED(categories)));
      }
    }
  });
  after(async () => registry?.close());

  const keys = (page: { entries: Array<{ name: string; version: string }> }) =>
    page.entries.map((entry) => `${entry.name}@${entry.version}`);

  /** Every page of `query`, following the cursors. */
  async function walk(query: ListQuery): Promise<string[]> {
    const found: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await service.list({ ...query, cursor }, { tagged: true });
      found.push(...keys(page));
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    return found;
  }

  it("walks every page from the index; an exact version goes to the query", async () => {
    sources.length = 0;
    const all = await walk(databases);
    assert.deepEqual(all, [
      "io.example/server-a@1.0.0",
      "io.example/server-a@2.0.0",
      "io.example/server-b@1.0.0",
      "io.example/server-b@2.0.0",
      "io.example/server-d@1.0.0",
      "io.example/server-d@2.0.0",
    ]);
    assert.deepEqual(sources, ["index", "index", "index"]);
    const latest = await walk({ ...databases, version: "latest" });
    assert.deepEqual(latest, [
      "io.example/server-a@2.0.0",
      "io.example/server-b@2.0.0",
      "io.example/server-d@2.0.0",
    ]);
    // An exact version is not in the index's scope: its query finds the page.
    sources.length = 0;
    assert.deepEqual(await walk({ ...databases, version: "1.0.0" }), [
      "io.example/server-a@1.0.0",
      "io.example/server-b@1.0.0",
      "io.example/server-d@1.0.0",
    ]);
    assert.deepEqual(sources, ["sql", "sql"]);
  });

  /**
   * The first page of `databases` when `sql` runs between the index's answer and the read by id (the
   * read goes through the store), and which way the page was found; then the same for the next request.
   */
  async function writtenBeforeTheRead(sql: string): Promise<Array<{ page: string[]; sources: string[] }>> {
    // Learn the current generation: the index refreshes now.
    await service.list(databases, { tagged: true });
    const reading = store.reading.bind(store);
    let written = false;
    store.reading = (async (options, fn) => {
      if (!written) {
        written = true;
        await registry.runtime.db.query(sql);
      }
      return reading(options, fn);
    }) as ServerStore["reading"];
    try {
      const answers = [];
      for (let request = 0; request < 2; request++) {
        sources.length = 0;
        answers.push({ page: keys(await service.list(databases, { tagged: true })), sources: [...sources] });
      }
      return answers;
    } finally {
      store.reading = reading;
    }
  }

  it("runs the query instead when a version on the page changed after the index's refresh", async () => {
    const [changed, next] = await writtenBeforeTheRead(
      "UPDATE server_versions SET categories = '{search}' WHERE name = 'io.example/server-a' AND version = '1.0.0'",
    );
    assert.deepEqual(changed?.sources, ["sql"], "the index's page lost a version: the query answered");
    assert.deepEqual(changed?.page, ["io.example/server-a@2.0.0", "io.example/server-b@1.0.0"]);
    // The next request sees the change in the index too, and pages from it again.
    assert.deepEqual(next, { page: changed?.page, sources: ["index"] });
  });

  it("runs the query instead when a version on the page was written after the refresh, even one still passing", async () => {
    const [written, next] = await writtenBeforeTheRead(
      "UPDATE server_versions SET categories = categories WHERE name = 'io.example/server-b' AND version = '1.0.0'",
    );
    assert.deepEqual(
      written?.sources,
      ["sql"],
      "a version newer than the index's snapshot: the query answered",
    );
    assert.deepEqual(written?.page, ["io.example/server-a@2.0.0", "io.example/server-b@1.0.0"]);
    assert.deepEqual(next, { page: written?.page, sources: ["index"] });
  });

  it("shares one read by id among concurrent requests, each answered with its own page", async () => {
    const queries: ListQuery[] = [
      databases,
      { ...databases, limit: 1 },
      { ...databases, limit: 3 },
      { ...databases, version: "latest" },
      { limit: 2, includeDeleted: false, attributes: { categories: ["search"] } },
      { ...databases, limit: 5 },
    ];
    const alone = [];
    for (const query of queries) alone.push(keys(await service.list(query, { tagged: false })));
    const reading = store.reading.bind(store);
    const statements: number[] = [];
    store.reading = ((options, fn) =>
      reading(options, (reader) => {
        const byIds = reader.byIds.bind(reader);
        reader.byIds = (ids) => {
          statements.push(ids.length);
          return byIds(ids);
        };
        return fn(reader);
      })) as ServerStore["reading"];
    try {
      sources.length = 0;
      const together = await Promise.all(queries.map((query) => service.list(query, { tagged: false })));
      assert.deepEqual(together.map(keys), alone);
      assert.deepEqual(sources, Array(queries.length).fill("index"));
      assert.ok(
        statements.length < queries.length,
        `${queries.length} pages in ${statements.length} statements`,
      );
    } finally {
      store.reading = reading;
    }
  });

  it("tags a page from the index with the index's generation, which the cache compares", async () => {
    const page = await service.list(databases, { tagged: true });
    const { global } = await service.freshness();
    assert.equal(page.generation, global);
    assert.equal((await service.list(databases, { tagged: false })).generation, undefined);
  });

  it("loads the facet index in parts of one snapshot; a version committed meanwhile comes with the next change", async () => {
    const all = async () => {
      const rows: FacetRow[] = [];
      await store.facetChanges("0", (part) => {
        rows.push(...part);
      });
      return rows;
    };
    const whole = await all();
    assert.equal(whole.length, 8);
    const sizes: number[] = [];
    const parted: FacetRow[] = [];
    let published: Promise<unknown> | undefined;
    const xmin = await store.facetChanges(
      "0",
      async (part) => {
        sizes.push(part.length);
        parted.push(...part);
        // Committed after the load's snapshot, before its next part is read: outside the load.
        published ??= service.publish(
          admin,
          serverJson("io.example/server-e", "1.0.0", CLASSIFIED(["search"])),
        );
        await published;
      },
      3,
    );
    assert.deepEqual(sizes, [3, 3, 2], "eight versions in parts of three");
    assert.deepEqual(parted, whole);
    assert.ok(!parted.some((version) => version.name === "io.example/server-e"));
    const since: FacetRow[] = [];
    await store.facetChanges(xmin, (part) => {
      since.push(...part);
    });
    assert.deepEqual(
      since.map((version) => `${version.name}@${version.version}`),
      ["io.example/server-e@1.0.0"],
    );
  });
});
