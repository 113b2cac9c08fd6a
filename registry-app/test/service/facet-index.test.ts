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
  /** An index over a fake generation and loader that counts loads and can fail or block them. */
  function harness(minIntervalMs = 0) {
    const state = { generation: "5.5", loads: 0, fail: false, gate: Promise.resolve() };
    const index = new FacetIndex(
      async () => state.generation,
      async () => {
        state.loads += 1;
        await state.gate;
        if (state.fail) throw new Error("database down");
        return [row({ tags: [`load-${state.loads}`] })];
      },
      minIntervalMs,
    );
    const settle = () => new Promise((resolve) => setTimeout(resolve, 20));
    return { state, index, settle };
  }

  it("answers nothing until a snapshot of the request's generation (or a later one) is loaded", async () => {
    const { state, index, settle } = harness();
    assert.equal(await index.current(), undefined, "no snapshot yet: the caller counts in SQL");
    await settle();
    const first = await index.current();
    assert.ok(first);
    assert.equal(state.loads, 1);
    assert.equal(await index.current(), first, "same generation, same snapshot, no load");
    state.generation = "5.6";
    assert.equal(await index.current(), undefined, "a write since: SQL, and a load starts");
    await settle();
    const second = await index.current();
    assert.ok(second && second !== first);
    assert.equal(state.loads, 2);
    // A request that read an earlier generation is answered by the later snapshot.
    state.generation = "5.5";
    assert.equal(await index.current(), second);
    index.close();
  });

  it("runs one load at a time, at most one per interval, and retries after a failed load", async () => {
    const { state, index, settle } = harness(200);
    let open: () => void = () => undefined;
    state.gate = new Promise((resolve) => (open = resolve));
    await Promise.all([index.current(), index.current(), index.current()]);
    assert.equal(state.loads, 1, "concurrent requests share one load");
    open();
    await settle();
    state.generation = "6.0";
    state.fail = true;
    assert.equal(await index.current(), undefined);
    assert.equal(state.loads, 1, "within the interval: scheduled, not started");
    await new Promise((resolve) => setTimeout(resolve, 250));
    assert.equal(state.loads, 2, "started when the interval ended");
    assert.equal(await index.current(), undefined, "the failed load kept nothing");
    state.fail = false;
    await new Promise((resolve) => setTimeout(resolve, 250));
    assert.ok(await index.current(), "a later load succeeded");
    index.close();
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
