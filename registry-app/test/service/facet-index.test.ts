import assert from "node:assert/strict";
import { FacetIndex, FacetTable } from "../../src/service/facet-index";
import { byCount, type FacetRow } from "../../src/store";

let nextId = 0;
const row = (overrides: Partial<FacetRow> = {}): FacetRow => ({
  id: String((nextId += 1)),
  name: `io.example/server-${nextId}`,
  version: "1.0.0",
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
  /** An index over a fake generation and change feed that records every `since` it was asked for. */
  function harness() {
    const state = {
      generation: "5.5",
      xmin: 100,
      since: [] as string[],
      /** What a full load reads, and what a refresh reads (then forgets). */
      all: [] as FacetRow[],
      pending: [] as FacetRow[],
      gate: Promise.resolve(),
      fail: false,
      /** A full load fails after handing over this many parts. */
      failAfterParts: Infinity,
    };
    const index = new FacetIndex(
      async () => state.generation,
      async (since, take) => {
        state.since.push(since);
        await state.gate;
        if (state.fail) throw new Error("database down");
        if (since === "0") {
          // A full load comes in parts of two versions, as the store sends a large one.
          for (let at = 0; at < state.all.length; at += 2) {
            if (at / 2 >= state.failAfterParts) throw new Error("connection lost mid-load");
            take(state.all.slice(at, at + 2));
          }
        } else {
          take(state.pending);
        }
        state.pending = [];
        return String(state.xmin);
      },
    );
    return { state, index };
  }

  it("loads everything first, then only what was written since its last snapshot's xmin", async () => {
    const { state, index } = harness();
    const a = row({ tags: ["one"] });
    state.all = [a];
    const table = await index.current();
    assert.equal(table.size, 1);
    assert.deepEqual(state.since, ["0"]);
    await index.current();
    assert.deepEqual(state.since, ["0"], "same generation: no query");
    // A write: a new version and a change of the first one.
    state.generation = "5.6";
    state.xmin = 120;
    state.pending = [row({ tags: ["two"] }), { ...a, tags: ["changed"] }];
    const counted = (await index.current()).count(
      { includeDeleted: false, latestOnly: true },
      {},
      ["tag"],
      new Set(),
    );
    assert.deepEqual(state.since, ["0", "100"]);
    assert.deepEqual(counted.facets.tag?.counts, [
      { value: "changed", count: 1 },
      { value: "two", count: 1 },
    ]);
    // A request that read an earlier generation is answered by the later table, without a query.
    state.generation = "5.5";
    await index.current();
    assert.deepEqual(state.since, ["0", "100"]);
  });

  it("runs one refresh at a time; requests arriving during one wait for the next; failures propagate", async () => {
    const { state, index } = harness();
    let open: () => void = () => undefined;
    state.gate = new Promise((resolve) => (open = resolve));
    const first = index.current();
    await new Promise((resolve) => setImmediate(resolve));
    state.generation = "6.0";
    const [second, third] = [index.current(), index.current()];
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(state.since, ["0"], "the second refresh waits for the first");
    open();
    await Promise.all([first, second, third]);
    assert.deepEqual(state.since, ["0", "100"], "one queued refresh served both later requests");
    state.generation = "7.0";
    state.fail = true;
    await assert.rejects(index.current(), /database down/);
    state.fail = false;
    await index.current();
    assert.deepEqual(state.since, ["0", "100", "100", "100"], "the failed refresh kept the old xmin");
  });

  it("starts over when transaction ids go back (a database restored under a running process)", async () => {
    const { state, index } = harness();
    state.all = [row({ tags: ["before"] })];
    await index.current();
    state.generation = "9.9";
    state.xmin = 50;
    state.all = [row({ tags: ["restored"] })];
    state.pending = state.all;
    const table = await index.current();
    assert.deepEqual(state.since, ["0", "100", "0"]);
    assert.equal(table.size, 1, "only what the restored database holds");
  });

  it("serves a full load only whole: one failing between parts leaves the table it had", async () => {
    const { state, index } = harness();
    state.all = Array.from({ length: 5 }, () => row());
    const first = await index.current();
    assert.equal(first.size, 5, "three parts, one table");
    const everything = { includeDeleted: true, latestOnly: false };
    assert.deepEqual(
      first.page(everything, {}, undefined, 10),
      state.all.map((version) => version.id),
    );
    // A restore under the process: the reload fails after its first part.
    state.generation = "9.9";
    state.xmin = 50;
    state.all = Array.from({ length: 4 }, () => row());
    state.failAfterParts = 1;
    await assert.rejects(index.current(), /mid-load/);
    state.generation = "5.5";
    assert.equal(await index.current(), first, "the generation it was refreshed at: no query, same table");
    assert.equal(first.size, 5);
    state.generation = "9.9";
    state.failAfterParts = Infinity;
    const reloaded = await index.current();
    assert.equal(reloaded.size, 4);
    assert.deepEqual(state.since, ["0", "100", "0", "100", "0"]);
  });

  it("counts the versions in scope, and each filtered facet as if its own filter were not given", () => {
    const table = new FacetTable();
    table.apply([
      row({ categories: ["databases"], tags: ["sql"], registry_types: ["npm"], transports: ["stdio"] }),
      row({ categories: ["databases", "search"], tags: ["sql", "vector"], registry_types: ["pypi"] }),
      row({ categories: ["search"], has_remote: true, transports: ["sse"] }),
      row({ categories: ["databases"], is_latest: false }),
      row({ categories: ["databases"], status: "deleted" }),
      row({ categories: ["quantum"], status: "deprecated" }),
    ]);
    const known = new Set(["databases", "search"]);
    const all = table.count(
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
    const narrowed = table.count(
      { includeDeleted: true, latestOnly: false },
      { categories: ["databases"], tags: ["vector"], registryTypes: ["nuget"] },
      ["category", "tag", "registry_type"],
      known,
    );
    assert.equal(narrowed.total, 0);
    assert.deepEqual(narrowed.facets.tag, { counts: [], unfiltered: [] });
    // Without the registry_type filter, version 2 (databases, vector) passes the others.
    assert.deepEqual(narrowed.facets.registry_type?.unfiltered, [{ value: "pypi", count: 1 }]);
  });

  it("counts and pages the new values of a version at once after they change", () => {
    const table = new FacetTable();
    const first = row({ tags: ["sql"] });
    table.apply([first, row({ tags: ["sql"] })]);
    const scope = { includeDeleted: false, latestOnly: true };
    assert.deepEqual(table.count(scope, {}, ["tag"], new Set()).facets.tag?.counts, [
      { value: "sql", count: 2 },
    ]);
    assert.equal(table.page(scope, { tags: ["vector"] }, undefined, 10).length, 0);
    table.apply([{ ...first, tags: ["vector"] }]);
    assert.deepEqual(table.count(scope, {}, ["tag"], new Set()).facets.tag?.counts, [
      { value: "sql", count: 1 },
      { value: "vector", count: 1 },
    ]);
    assert.deepEqual(table.page(scope, { tags: ["vector"] }, undefined, 10), [first.id]);
  });
  it("keeps every version's values and counts through changes written in place, appended and compacted", () => {
    // A seeded generator: the same rounds every run.
    let seed = 42;
    const random = (below: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed % below;
    };
    const pick = (pool: string[], most: number) =>
      Array.from(
        new Set(Array.from({ length: random(most + 1) }, () => pool[random(pool.length)] as string)),
      );
    const tags = Array.from({ length: 30 }, (_, i) => `t${i}`);
    const categories = ["databases", "search", "security", "browser"];
    const table = new FacetTable();
    const model = Array.from({ length: 400 }, (_, i) =>
      row({
        name: `io.example/m${String(i).padStart(3, "0")}`,
        tags: pick(tags, 8),
        categories: pick(categories, 3),
      }),
    );
    table.apply(model);
    const everything = { includeDeleted: true, latestOnly: false };
    // 60 rounds of 200 changes append about 20,000 value ids: the columns compact several times.
    for (let round = 0; round < 60; round += 1) {
      const changed = Array.from({ length: 200 }, () => {
        const at = random(model.length);
        const next = { ...(model[at] as FacetRow), tags: pick(tags, 12), categories: pick(categories, 3) };
        model[at] = next;
        return next;
      });
      table.apply(changed);
      if (round % 20 !== 19) continue;
      const expected = (facet: "tags" | "categories") => {
        const counts = new Map<string, number>();
        for (const version of model)
          for (const value of version[facet]) counts.set(value, (counts.get(value) ?? 0) + 1);
        return [...counts].map(([value, count]) => ({ value, count })).sort(byCount);
      };
      const counted = table.count(everything, {}, ["tag", "category"], new Set(categories));
      assert.deepEqual(counted.facets.tag?.counts, expected("tags"), `tags after round ${round}`);
      assert.deepEqual(
        counted.facets.category?.counts,
        expected("categories"),
        `categories after round ${round}`,
      );
      // Filtered counts (the postings of each value) against the model, with one filter and with two.
      const counts = (versions: FacetRow[], facet: "tags" | "categories") => {
        const found = new Map<string, number>();
        for (const version of versions)
          for (const value of version[facet]) found.set(value, (found.get(value) ?? 0) + 1);
        return [...found].map(([value, count]) => ({ value, count })).sort(byCount);
      };
      const tagged = (version: FacetRow) => version.tags.includes("t3") || version.tags.includes("t11");
      const inSearch = (version: FacetRow) => version.categories.includes("search");
      const one = table.count(everything, { tags: ["t3", "t11"] }, ["tag", "category"], new Set(categories));
      assert.equal(one.total, model.filter(tagged).length, `total, one filter, round ${round}`);
      assert.deepEqual(one.facets.category?.counts, counts(model.filter(tagged), "categories"));
      assert.deepEqual(
        one.facets.tag?.unfiltered,
        expected("tags"),
        `alternatives, one filter, round ${round}`,
      );
      const two = table.count(
        everything,
        { tags: ["t3", "t11"], categories: ["search"] },
        ["tag", "category"],
        new Set(categories),
      );
      const both = model.filter((version) => tagged(version) && inSearch(version));
      assert.equal(two.total, both.length, `total, two filters, round ${round}`);
      assert.deepEqual(two.facets.tag?.counts, counts(both, "tags"));
      assert.deepEqual(two.facets.tag?.unfiltered, counts(model.filter(inSearch), "tags"));
      assert.deepEqual(two.facets.category?.unfiltered, counts(model.filter(tagged), "categories"));
      for (const tag of ["t0", "t7", "t29"]) {
        assert.deepEqual(
          table.page(everything, { tags: [tag] }, undefined, 1_000),
          model.filter((version) => version.tags.includes(tag)).map((version) => version.id),
          `versions tagged ${tag} after round ${round}`,
        );
      }
    }
  });

  describe("list pages from the index", () => {
    const key = (name: string, version: string, overrides: Partial<FacetRow> = {}) =>
      row({ name, version, ...overrides });
    const everything = { includeDeleted: true, latestOnly: false };

    it("orders by name then version in byte order (PostgreSQL's C collation), whatever the arrival order", () => {
      const table = new FacetTable();
      // Loaded at once (sorted), then added one by one (binary search): both must give the same order.
      const bulk = Array.from({ length: 100 }, (_, i) =>
        key(`io.example/s${(i * 37) % 100}`, `1.${i % 3}.0`),
      );
      table.apply(bulk);
      const extra = [
        key("io.example/s50", "0.9.0"),
        key("io.example/a", "1.0.0"),
        key("io.example/zz", "1.0.0"),
        key("io.example/s50", "1.0.0-\u{1F600}"),
        key("io.example/s50", "1.0.0-\uFF01"),
      ];
      for (const extraRow of extra) table.apply([extraRow]);
      const all = [...bulk, ...extra];
      const expected = [...all]
        .sort(
          (a, b) =>
            Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)) ||
            Buffer.compare(Buffer.from(a.version), Buffer.from(b.version)),
        )
        .map((r) => r.id);
      assert.deepEqual(table.page(everything, {}, undefined, 1_000), expected);
      // U+FF01 sorts before U+1F600 in UTF-8 although its UTF-16 code unit is larger than a surrogate's.
      const fullwidth = extra[4] as FacetRow;
      const emoji = extra[3] as FacetRow;
      assert.ok(expected.indexOf(fullwidth.id) < expected.indexOf(emoji.id));
    });

    it("starts strictly after the cursor, stops at the limit, and keeps to scope and filters", () => {
      const table = new FacetTable();
      const rows = [
        key("io.example/a", "1.0.0", { is_latest: false, categories: ["databases"] }),
        key("io.example/a", "2.0.0", { categories: ["databases"], registry_types: ["npm"] }),
        key("io.example/b", "1.0.0", { status: "deleted", categories: ["databases"] }),
        key("io.example/c", "1.0.0", { categories: ["search"], registry_types: ["npm"] }),
        key("io.example/d", "1.0.0", { categories: ["databases", "search"], registry_types: ["pypi"] }),
      ];
      table.apply(rows);
      const ids = (...picked: number[]) => picked.map((i) => (rows[i] as FacetRow).id);
      const latest = { includeDeleted: false, latestOnly: true };
      assert.deepEqual(table.page(latest, { categories: ["databases"] }, undefined, 10), ids(1, 4));
      assert.deepEqual(table.page(everything, { categories: ["databases"] }, undefined, 10), ids(0, 1, 2, 4));
      assert.deepEqual(table.page(everything, { categories: ["databases"] }, undefined, 2), ids(0, 1));
      // After a cursor: strictly after it, whether or not the cursor's own version is in the table.
      const after = { name: "io.example/a", version: "2.0.0" };
      assert.deepEqual(table.page(everything, { categories: ["databases"] }, after, 10), ids(2, 4));
      const between = { name: "io.example/a", version: "1.5.0" };
      assert.deepEqual(table.page(everything, {}, between, 2), ids(1, 2));
      // AND across facets, OR within one.
      assert.deepEqual(
        table.page(latest, { categories: ["databases", "search"], registryTypes: ["npm"] }, undefined, 10),
        ids(1, 3),
      );
      assert.deepEqual(table.page(latest, { tags: ["unknown"] }, undefined, 10), []);
      // A change to a known version moves it in or out of scope, never in order.
      table.apply([{ ...(rows[2] as FacetRow), status: "active" }]);
      assert.deepEqual(table.page(latest, { categories: ["databases"] }, undefined, 10), ids(1, 2, 4));
      // A cursor on a version outside the scope (a@1.0.0 is not the latest) still pages strictly after it.
      const older = { name: "io.example/a", version: "1.0.0" };
      assert.deepEqual(table.page(latest, {}, older, 10), ids(1, 2, 3, 4));
      // The latest version of a name moves back (2.0.0 deleted): pages and counts follow at once.
      table.apply([
        { ...(rows[0] as FacetRow), is_latest: true },
        { ...(rows[1] as FacetRow), is_latest: false, status: "deleted" },
      ]);
      assert.deepEqual(table.page(latest, { categories: ["databases"] }, undefined, 10), ids(0, 2, 4));
      assert.deepEqual(table.page(latest, {}, older, 10), ids(2, 3, 4));
      assert.equal(table.count(latest, { registryTypes: ["npm"] }, ["registry_type"], new Set()).total, 1);
    });
  });
});
