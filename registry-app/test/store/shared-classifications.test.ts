import assert from "node:assert/strict";
import { SHARED_CLASSIFICATIONS, toClassification } from "../../src/store/servers";

const columns = (categories: string, tags: string, categoriesCurated = false, tagsCurated = false) => ({
  categories,
  tags,
  categories_curated: categoriesCurated,
  tags_curated: tagsCurated,
});

describe("store: classifications of read rows, shared and frozen", () => {
  it("gives rows with the same columns one frozen object, its lists split", () => {
    const first = toClassification(columns("databases,search", "sql,vector"));
    const again = toClassification(columns("databases,search", "sql,vector"));
    assert.equal(again, first);
    assert.deepEqual(first, {
      categories: ["databases", "search"],
      tags: ["sql", "vector"],
      categoriesCurated: false,
      tagsCurated: false,
    });
    assert.ok(Object.isFrozen(first) && Object.isFrozen(first.categories) && Object.isFrozen(first.tags));
    assert.throws(() => (first.tags as string[]).push("changed"), TypeError);
    assert.throws(() => {
      (first as { tagsCurated: boolean }).tagsCurated = true;
    }, TypeError);
    assert.deepEqual(toClassification(columns("", "")), {
      categories: [],
      tags: [],
      categoriesCurated: false,
      tagsCurated: false,
    });
  });

  it("keeps the curated flags apart, and lists that differ only in where they split", () => {
    const seen = new Set<object>();
    for (const [categories, tags] of [
      ["a,b", "c"],
      ["a", "b,c"],
    ] as const) {
      for (const categoriesCurated of [false, true]) {
        for (const tagsCurated of [false, true]) {
          const c = toClassification(columns(categories, tags, categoriesCurated, tagsCurated));
          assert.deepEqual(c, {
            categories: categories.split(","),
            tags: tags.split(","),
            categoriesCurated,
            tagsCurated,
          });
          seen.add(c);
        }
      }
    }
    assert.equal(seen.size, 8);
  });

  it("holds at most SHARED_CLASSIFICATIONS pairs: past them it starts over, with equal answers", () => {
    const first = toClassification(columns("bounded", "pair-0"));
    for (let pair = 1; pair <= SHARED_CLASSIFICATIONS; pair += 1)
      toClassification(columns("bounded", `pair-${pair}`));
    const after = toClassification(columns("bounded", "pair-0"));
    assert.notEqual(after, first, "the table was not emptied");
    assert.deepEqual(after, first);
    assert.equal(toClassification(columns("bounded", "pair-0")), after);
  });
});
