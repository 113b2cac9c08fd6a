import assert from "node:assert/strict";
import { DEFAULT_TAXONOMY, normalizeLabel, publisherClassification } from "../../src/classification";
import { PUBLISHER_META_KEY, validateServerJson, type ServerJson } from "../../src/schema";
import { Database, migrate } from "../../src/store";
import { freshDatabaseUrl } from "../support/postgres";
import { seededRandom } from "../support/random";
import { serverJson } from "../support/registry";
import { DATASET_FILE, hasDataset, loadDataset } from "../schema/support";

const META = `_meta["${PUBLISHER_META_KEY}"]`;

function documentWith(provided: Record<string, unknown>): ServerJson {
  const result = validateServerJson(
    serverJson("io.github.acme/labels", "1.0.0", { _meta: { [PUBLISHER_META_KEY]: provided } }),
  );
  assert.ok(result.server, JSON.stringify(result.issues));
  return result.server;
}

describe("classification: labels", () => {
  it("normalises tags and category ids to lower-case words joined by single hyphens", () => {
    const cases: Array<[string, string | undefined]> = [
      ["databases", "databases"],
      ["Machine Learning", "machine-learning"],
      ["  --SQL__Server--  ", "sql-server"],
      ["AI/ML", "ai-ml"],
      ["postgres.v16", "postgres-v16"],
      ["Ünïcode Ökay", "n-code-kay"],
      ["😀 emoji 😀", "emoji"],
      ["!!!", undefined],
      ["", undefined],
      ["a".repeat(32), "a".repeat(32)],
      ["a".repeat(33), undefined],
      [`${"a".repeat(16)} ${"b".repeat(15)}`, `${"a".repeat(16)}-${"b".repeat(15)}`],
    ];
    for (const [raw, expected] of cases) assert.equal(normalizeLabel(raw), expected, JSON.stringify(raw));
  });

  it("keeps known categories and the first 20 distinct tags; warns about the rest, never errors", () => {
    const tags = ["Cloud", "cloud", "!!!", ...Array.from({ length: 22 }, (_, i) => `t${i}`)];
    const result = publisherClassification(
      documentWith({ categories: ["Databases", "quantum-stuff", 7, "search"], tags }),
      DEFAULT_TAXONOMY,
    );
    assert.deepEqual(result.categories, ["databases", "search"]);
    assert.deepEqual(result.tags, ["cloud", ...Array.from({ length: 19 }, (_, i) => `t${i}`)]);
    assert.ok(result.issues.every((issue) => issue.type === "classification" && issue.severity !== "error"));
    const byPath = new Map(result.issues.map((issue) => [issue.path, issue]));
    assert.equal(byPath.get(`${META}.categories[0]`)?.reference, "label-normalised");
    const unknown = byPath.get(`${META}.categories[1]`);
    assert.equal(unknown?.severity, "warning");
    assert.equal(unknown?.reference, "unknown-category");
    assert.match(unknown?.message ?? "", /"quantum-stuff" is not a category of this registry/);
    assert.equal(byPath.get(`${META}.categories[2]`)?.reference, "categories-not-string");
    assert.equal(byPath.get(`${META}.tags[1]`)?.reference, "label-duplicate");
    assert.equal(byPath.get(`${META}.tags[2]`)?.reference, "label-dropped");
    // 2 + 1 dropped + 19 kept = index 21 is the first beyond the cap.
    assert.equal(byPath.get(`${META}.tags[22]`)?.reference, "too-many-tags");
    assert.equal(byPath.get(`${META}.tags[24]`)?.reference, "too-many-tags");
  });

  it("ignores declarations that are not lists, with a warning", () => {
    const result = publisherClassification(
      documentWith({ categories: "databases", tags: { a: 1 } }),
      DEFAULT_TAXONOMY,
    );
    assert.deepEqual([result.categories, result.tags], [[], []]);
    assert.deepEqual(
      result.issues.map((issue) => [issue.path, issue.reference]),
      [
        [`${META}.categories`, "categories-not-array"],
        [`${META}.tags`, "tags-not-array"],
      ],
    );
  });
});

describe("classification: the database's registry_label agrees with normalizeLabel", function () {
  this.timeout(120_000);
  let db: Database;

  before(async () => {
    db = new Database({
      url: await freshDatabaseUrl("labels"),
      poolSize: 2,
      connectTimeoutMs: 5_000,
      statementTimeoutMs: 30_000,
    });
    await migrate(db);
  });
  after(async () => db.close());

  async function sqlLabels(inputs: string[]): Promise<Array<string | null>> {
    const { rows } = await db.query<{ label: string | null }>(
      "SELECT registry_label(raw) AS label FROM unnest($1::text[]) WITH ORDINALITY AS t(raw, n) ORDER BY n",
      [inputs],
    );
    return rows.map((row) => row.label);
  }

  it("on random strings over ASCII, Latin-1, astral characters and separators", async () => {
    const random = seededRandom(13);
    const alphabet = [..."aZz09-_ ./:!Ä߀İK\u212a\u00e9\u{1f600}\t"];
    const inputs = Array.from({ length: 3_000 }, () =>
      Array.from(
        { length: Math.floor(random() * 40) },
        () => alphabet[Math.floor(random() * alphabet.length)],
      ).join(""),
    );
    const expected = inputs.map((raw) => normalizeLabel(raw) ?? null);
    assert.deepEqual(await sqlLabels(inputs), expected);
  });

  it("on every word, description and name of the shared dataset", async function () {
    if (!hasDataset) this.skip();
    const inputs = loadDataset().flatMap((server) => {
      const description = String(server.description ?? "");
      return [description, String(server.name), ...description.split(/\s+/)];
    });
    assert.ok(inputs.length > 1_000, DATASET_FILE);
    assert.deepEqual(
      await sqlLabels(inputs),
      inputs.map((raw) => normalizeLabel(raw) ?? null),
    );
  });

  it("indexes the publisher's lists as publisherClassification does (categories before the taxonomy)", async () => {
    const random = seededRandom(29);
    const words = ["Databases", "search", "SEARCH", "x", "!!!", "Cloud Platforms", "a b c", "t1", "t2", "t3"];
    for (let round = 0; round < 200; round += 1) {
      const pick = () =>
        Array.from({ length: Math.floor(random() * 30) }, () =>
          random() < 0.1 ? 42 : `${words[Math.floor(random() * words.length)]}${Math.floor(random() * 25)}`,
        );
      const server = documentWith({ categories: pick(), tags: pick() });
      const { rows } = await db.query<{ categories: string[]; tags: string[] }>(
        `SELECT registry_publisher_labels($1::jsonb, 'categories', NULL) AS categories,
                registry_publisher_labels($1::jsonb, 'tags', 20) AS tags`,
        [JSON.stringify(server)],
      );
      const known = publisherClassification(server, { has: () => true });
      assert.deepEqual(rows[0]?.tags, known.tags);
      assert.deepEqual(rows[0]?.categories, known.categories);
    }
  });
});
