import assert from "node:assert/strict";
import { Ajv2020 } from "ajv/dist/2020";
import { addFormats } from "./ajv-formats";
import { serverJsonJsonSchema, validateServerJson } from "../../src/schema";
import { hasDataset, loadDataset, richDocument } from "./support";

const datasetTest = hasDataset ? it : it.skip;
const datasetNote = hasDataset ? "" : " (skipped: ../shared/datasets/servers-2025-05.json is absent)";

describe("schema: real documents", () => {
  datasetTest(`accepts all 464 servers of the May 2025 seed unchanged, without issues${datasetNote}`, () => {
    const documents = loadDataset();
    assert.equal(documents.length, 464);
    for (const document of documents) {
      const result = validateServerJson(document);
      assert.deepEqual(result.issues, [], String(document.name));
      assert.equal(result.valid, true);
      assert.deepEqual(result.server, document, `${String(document.name)} is stored as published`);
    }
  });
});

describe("schema: JSON Schema export for the OpenAPI document", () => {
  const schema = serverJsonJsonSchema();

  it("describes the document with its required fields and limits", () => {
    assert.equal(schema.$schema, "https://json-schema.org/draft/2020-12/schema");
    assert.deepEqual(schema.required, ["name", "description", "version"]);
    const properties = schema.properties as Record<string, Record<string, unknown>>;
    assert.deepEqual(Object.keys(properties).sort(), [
      "$schema",
      "_meta",
      "description",
      "icons",
      "name",
      "packages",
      "remotes",
      "repository",
      "title",
      "version",
      "websiteUrl",
    ]);
    assert.equal(properties.name?.maxLength, 200);
    assert.equal(properties.name?.pattern, "^[a-zA-Z0-9.-]+\\/[a-zA-Z0-9._-]+$");
    assert.equal(properties.description?.maxLength, 100);
    assert.equal(properties.websiteUrl?.format, "uri");
    const items = (properties.packages?.items ?? {}) as Record<
      string,
      Record<string, Record<string, unknown>>
    >;
    assert.deepEqual(items.properties?.registryType?.enum, ["npm", "pypi", "oci", "nuget", "mcpb"]);
    assert.notEqual(serverJsonJsonSchema(), schema, "each call hands out its own copy");
  });

  it("is a working JSON Schema: it accepts valid documents and refuses broken ones", () => {
    const ajv = new Ajv2020({ allErrors: true, strict: false });
    addFormats(ajv);
    const validate = ajv.compile(schema);
    const documents = hasDataset ? [richDocument(), ...loadDataset()] : [richDocument()];
    for (const document of documents) assert.equal(validate(document), true, JSON.stringify(validate.errors));
    const { name: _name, ...nameless } = richDocument();
    assert.equal(validate(nameless), false);
    assert.equal(validate({ ...richDocument(), description: "x".repeat(101) }), false);
    assert.equal(validate({ ...richDocument(), packages: [{ registryType: "docker" }] }), false);
  });
});
