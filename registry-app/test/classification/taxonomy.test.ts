import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  DEFAULT_CATEGORIES,
  DEFAULT_TAXONOMY,
  LABEL_PATTERN,
  parseTaxonomy,
  TaxonomyFileError,
} from "../../src/classification";
import { ConfigError, loadConfig } from "../../src/config";

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof TaxonomyFileError, String(error));
    return error.problems;
  }
  assert.fail("expected a TaxonomyFileError");
}

describe("classification: taxonomy", () => {
  it("has a built-in default of 15 to 25 well-formed, distinct categories", () => {
    assert.ok(DEFAULT_CATEGORIES.length >= 15 && DEFAULT_CATEGORIES.length <= 25);
    assert.equal(new Set(DEFAULT_CATEGORIES.map((c) => c.id)).size, DEFAULT_CATEGORIES.length);
    for (const category of DEFAULT_CATEGORIES) {
      assert.match(category.id, LABEL_PATTERN);
      assert.ok(category.title.length > 0 && category.description.length > 0, category.id);
    }
    for (const id of [
      "databases",
      "developer-tools",
      "cloud-platforms",
      "search",
      "security",
      "observability",
    ])
      assert.ok(DEFAULT_TAXONOMY.has(id), id);
  });

  it("reads YAML (a list, or an object with categories) and JSON", () => {
    const yamlList = parseTaxonomy(
      "- id: payments\n  title: Payments\n  description: Cards and transfers\n",
      "taxonomy.yaml",
    );
    assert.deepEqual(yamlList.ids, ["payments"]);
    const yamlObject = parseTaxonomy(
      "categories:\n  - {id: hr, title: People, description: Hiring and payroll}\n  - {id: legal, title: Legal, description: Contracts}\n",
      "taxonomy.yml",
    );
    assert.deepEqual(yamlObject.ids, ["hr", "legal"]);
    const json = parseTaxonomy(
      JSON.stringify({ categories: [{ id: "a-b", title: "A", description: "B" }] }),
      "taxonomy.json",
    );
    assert.ok(json.has("a-b") && !json.has("databases"));
  });

  it("names every bad entry and field", () => {
    const problems = problemsOf(() =>
      parseTaxonomy(
        [
          "categories:",
          "  - {id: ok, title: OK, description: Fine}",
          "  - {id: Bad Id, title: X, description: Y}",
          "  - {id: ok, title: Again, description: Duplicate}",
          "  - {id: three, description: no title}",
          "  - {id: four, title: T, description: D, colour: red}",
        ].join("\n"),
        "t.yaml",
      ),
    );
    assert.deepEqual(
      problems.map((line) => line.split(":")[0]),
      ["categories[1].id", "categories[3].title", "categories[4]", "categories[2].id"],
    );
    assert.match(problems.join("\n"), /categories\[2\]\.id: "ok" is already the id of categories\[0\]/);
    assert.match(problems.join("\n"), /colour/);
    assert.deepEqual(
      problemsOf(() => parseTaxonomy("categories: []", "t.yaml")),
      ["categories: must define at least one category"],
    );
    assert.match(problemsOf(() => parseTaxonomy("{ not json", "t.json"))[0] ?? "", /^is not valid JSON/);
    assert.match(
      problemsOf(() => parseTaxonomy("just a string", "t.yaml"))[0] ?? "",
      /expected a list of categories/,
    );
  });

  it("MCP_REGISTRY_CATEGORIES_FILE: loaded at start, and a bad file stops start-up naming the entry", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "taxonomy-"));
    try {
      const good = path.join(dir, "good.yaml");
      fs.writeFileSync(good, "- {id: payments, title: Payments, description: Cards}\n");
      const env = {
        MCP_REGISTRY_DATABASE_URL: "postgres://u:p@localhost/db",
        MCP_REGISTRY_JWT_PRIVATE_KEY: "0".repeat(64),
      };
      assert.deepEqual(
        loadConfig({ ...env, MCP_REGISTRY_CATEGORIES_FILE: good }).MCP_REGISTRY_CATEGORIES_FILE.ids,
        ["payments"],
      );
      assert.equal(loadConfig(env).MCP_REGISTRY_CATEGORIES_FILE, DEFAULT_TAXONOMY);
      const bad = path.join(dir, "bad.json");
      fs.writeFileSync(bad, JSON.stringify([{ id: "x", title: "", description: "d" }]));
      for (const [file, pattern] of [
        [bad, /^MCP_REGISTRY_CATEGORIES_FILE: .*bad\.json: categories\[0\]\.title: must not be empty$/],
        [
          path.join(dir, "missing.yaml"),
          /^MCP_REGISTRY_CATEGORIES_FILE: .*missing\.yaml: cannot read .*\(ENOENT\)$/,
        ],
      ] as const) {
        assert.throws(
          () => loadConfig({ ...env, MCP_REGISTRY_CATEGORIES_FILE: file }),
          (error: unknown) =>
            error instanceof ConfigError &&
            error.problems.length === 1 &&
            pattern.test(error.problems[0] ?? ""),
        );
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
