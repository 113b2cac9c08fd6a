import assert from "node:assert/strict";
import { FacetIndex, FacetSnapshot } from "../../src/service/facet-index";
import type { FacetRow } from "../../src/store";

const row = (overrides: Partial<FacetRow> = {}): FacetRow => ({
  status: "active",
  is_latest: true,
  has_remote: false,
  categories: [],
  tags: [],
  registry_types: [],
  transports: [],
  ...overrides,
});

describe("service: the in-memory facet index", () => {
  it("loads once per generation, shares a load in flight, keeps a snapshot of a later generation", async () => {
    let generation = "5.5";
    let loads = 0;
    let release: () => void = () => undefined;
    const index = new FacetIndex(
      async () => generation,
      async () => {
        loads += 1;
        await new Promise<void>((resolve) => (release = resolve));
        return [row()];
      },
    );
    const [a, b] = [index.current(), index.current()];
    await new Promise((resolve) => setImmediate(resolve));
    release();
    assert.equal(await a, await b);
    assert.equal(loads, 1);
    // One shard moved: a new snapshot.
    generation = "5.6";
    const c = index.current();
    await new Promise((resolve) => setImmediate(resolve));
    release();
    assert.notEqual(await c, await a);
    assert.equal(loads, 2);
    // A slower request that read an earlier generation is served the later snapshot.
    generation = "5.5";
    assert.equal(await index.current(), await c);
    assert.equal(loads, 2);
  });

  it("does not keep a failed load: the next request loads again", async () => {
    let fail = true;
    const index = new FacetIndex(
      async () => "1",
      async () => {
        if (fail) throw new Error("database down");
        return [row()];
      },
    );
    await assert.rejects(index.current(), /database down/);
    fail = false;
    assert.equal((await index.current()).size, 1);
  });

  it("counts the versions in scope, and each filtered facet as if its own filter were not given", () => {
    const snapshot = new FacetSnapshot([
      row({ categories: ["databases"], tags: ["sql"], registry_types: ["npm"], transports: ["stdio"] }),
      row({ categories: ["databases", "search"], tags: ["sql", "vector"], registry_types: ["pypi"] }),
      row({ categories: ["search"], has_remote: true, transports: ["sse"] }),
      row({ categories: ["databases"], is_latest: false }),
      row({ categories: ["databases"], status: "deleted" }),
      row({ categories: ["quantum"], status: "deprecated" }),
    ]);
    const known = new Set(["databases", "search"]);
    const all = snapshot.count(
      { includeDeleted: false, latestOnly: true },
      {},
      ["category", "status", "remote"],
      known,
    );
    assert.equal(all.total, 4);
    assert.deepEqual(all.facets.category, {
      counts: [
        { value: "databases", count: 2 },
        { value: "search", count: 2 },
      ],
    });
    assert.deepEqual(all.facets.status?.counts, [
      { value: "active", count: 3 },
      { value: "deprecated", count: 1 },
    ]);
    assert.deepEqual(all.facets.remote?.counts, [
      { value: "false", count: 3 },
      { value: "true", count: 1 },
    ]);
    const narrowed = snapshot.count(
      { includeDeleted: true, latestOnly: false },
      { categories: ["databases"], tags: ["vector"], registryTypes: ["nuget"] },
      ["category", "tag", "registry_type"],
      known,
    );
    assert.equal(narrowed.total, 0);
    assert.deepEqual(narrowed.facets.tag, { counts: [], unfiltered: [] });
    // Without the registry_type filter, version 1 (databases, vector) passes the others.
    assert.deepEqual(narrowed.facets.registry_type?.unfiltered, [{ value: "pypi", count: 1 }]);
  });
});
