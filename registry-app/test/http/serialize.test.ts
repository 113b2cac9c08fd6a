import assert from "node:assert/strict";
import { DEFAULT_TAXONOMY, Taxonomy } from "../../src/classification";
import { CLASSIFICATION_META_KEY } from "../../src/http/classification-schemas";
import { entryJson, listBody } from "../../src/http/serialize";
import type { FacetCounts } from "../../src/service";
import { toClassification } from "../../src/store/servers";

/** A stored API entry as migration 4 renders it: ends with the official object's, _meta's and the entry's braces. */
const stored = (description: string) =>
  JSON.stringify({
    server: { name: "io.example/s", description, version: "1.0.0" },
    _meta: { "io.modelcontextprotocol.registry/official": { status: "active", isLatest: true } },
  });

describe("http: list answers written entry by entry", () => {
  const texts = [
    "plain ASCII",
    "Latin-1: café, naïve",
    "two-byte: — “quoted” 日本語",
    "astral: 🚀 and 𝔘",
    'escapes: "\\n\\t\\u0001',
    // A lone surrogate cannot come from PostgreSQL, but the byte count and the bytes written must still agree.
    "lone: \ud800 here",
  ];
  const entries = texts.map((text, index) => ({
    entryJson: stored(text),
    classification:
      index % 2 === 0
        ? {
            categories: ["databases", "not-in-taxonomy"],
            tags: ["sql"],
            categoriesCurated: true,
            tagsCurated: false,
          }
        : undefined,
  }));

  it("equals the joined text encoded at once, for every kind of character, with and without metadata", () => {
    for (const count of [0, 1, 2, entries.length]) {
      const some = entries.slice(0, count);
      const facets: FacetCounts = {
        total: 7,
        facets: { status: { counts: [{ value: "active", count: 7 }] } },
      };
      const variants: Array<[string | undefined, FacetCounts | undefined]> = [
        [undefined, undefined],
        ["next-cursor", facets],
      ];
      for (const [cursor, counted] of variants) {
        const joined =
          `{"servers":[${some.map((entry) => entryJson(entry, DEFAULT_TAXONOMY)).join(",")}],"metadata":` +
          JSON.stringify({
            ...(cursor === undefined ? {} : { nextCursor: cursor }),
            count,
            ...(counted === undefined ? {} : { totalCount: counted.total, facets: counted.facets }),
          }) +
          "}";
        const body = listBody(some, cursor, DEFAULT_TAXONOMY, counted);
        assert.deepEqual(body, Buffer.from(joined, "utf8"), `${count} entries, cursor ${String(cursor)}`);
        const parsed = JSON.parse(body.toString("utf8")) as {
          servers: unknown[];
          metadata: { count: number };
        };
        assert.equal(parsed.servers.length, count);
        assert.equal(parsed.metadata.count, count);
      }
    }
  });

  it("renders a shared classification for each taxonomy, once per entry that has it", () => {
    const shared = toClassification({
      categories: "databases,search",
      tags: "sql",
      categories_curated: false,
      tags_curated: true,
    });
    const rows = [stored("one"), stored("two")].map((json) => ({ entryJson: json, classification: shared }));
    const only = new Taxonomy(DEFAULT_TAXONOMY.categories.filter((category) => category.id === "search"));
    const metas = (taxonomy: Taxonomy) =>
      (
        JSON.parse(listBody(rows, undefined, taxonomy).toString("utf8")) as {
          servers: Array<{ _meta: Record<string, unknown> }>;
        }
      ).servers.map((server) => server._meta[CLASSIFICATION_META_KEY]);
    const all = { categories: ["databases", "search"], tags: ["sql"], curated: ["tags"] };
    assert.deepEqual(metas(DEFAULT_TAXONOMY), [all, all]);
    const narrowed = { categories: ["search"], tags: ["sql"], curated: ["tags"] };
    assert.deepEqual(metas(only), [narrowed, narrowed]);
    assert.deepEqual(metas(DEFAULT_TAXONOMY), [all, all]);
    assert.equal(
      entryJson(rows[0] as (typeof rows)[number], only),
      entryJson({ ...(rows[0] as (typeof rows)[number]), classification: { ...shared } }, only),
    );
  });
});
