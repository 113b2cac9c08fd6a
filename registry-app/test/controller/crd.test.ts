import assert from "node:assert/strict";
import fs from "node:fs";
import { z } from "zod";
import { parseAllDocuments } from "yaml";
import { controllerCrds, mcpServerSpecSchema } from "../../src/controller/crd";
import { JS_WHITESPACE_CLASS, jsonSchemaOf, toRe2, toStructural } from "../../src/controller/crd/structural";
import { CRDS_FILE, crdsYaml } from "../../scripts/crds";

describe("controller CRDs: generated from the zod schemas", () => {
  it("crds/mcp-registry.io.yaml is what `npm run crds` writes (run it after changing a schema)", () => {
    const onDisk = fs.readFileSync(CRDS_FILE, "utf8");
    assert.equal(
      onDisk,
      crdsYaml(),
      "crds/mcp-registry.io.yaml is stale: run `npm run crds -w registry-app`",
    );
    const docs = parseAllDocuments(onDisk).map((doc) => doc.toJS() as { metadata: { name: string } });
    assert.deepEqual(
      docs.map((doc) => doc.metadata.name),
      ["mcpservers.mcp-registry.io", "mcpnamespacegrants.mcp-registry.io"],
    );
  });

  it("MCPServer's spec carries the registry's fields, required fields and CEL rules, without $ref", () => {
    for (const crd of controllerCrds()) assert.ok(!JSON.stringify(crd).includes('"$ref"'), crd.metadata.name);
    const spec = mcpServerSpecSchema();
    assert.deepEqual(spec.required, ["name", "description", "version"]);
    assert.deepEqual(Object.keys(spec.properties ?? {}).sort(), [
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
    const rules = (name: string) =>
      (spec.properties?.[name]?.["x-kubernetes-validations"] ?? []).map((r) => r.rule);
    assert.equal(rules("name").length, 1);
    assert.equal(rules("version").length, 3);
    assert.match(rules("description").join(), /size\(self\) <= 100/);
    // Publisher metadata is free-form JSON; other _meta keys are pruned (the registry drops them too).
    const meta = spec.properties?._meta;
    assert.equal(
      meta?.properties?.["io.modelcontextprotocol.registry/publisher-provided"]?.[
        "x-kubernetes-preserve-unknown-fields"
      ],
      true,
    );
    assert.equal(meta?.["x-kubernetes-preserve-unknown-fields"], undefined);
    // Transports: one object, the type's values merged, url required per branch, never on stdio.
    const transport = spec.properties?.packages?.items?.properties?.transport;
    assert.deepEqual(transport?.properties?.type?.enum, ["stdio", "streamable-http", "sse"]);
    assert.deepEqual(transport?.required, ["type"]);
    assert.deepEqual(transport?.oneOf, [
      { properties: { type: { enum: ["stdio"] } }, not: { required: ["url"] } },
      { properties: { type: { enum: ["streamable-http"] } }, required: ["url"] },
      { properties: { type: { enum: ["sse"] } }, required: ["url"] },
    ]);
  });

  it("translates JavaScript's \\s to RE2 and refuses what RE2 cannot do", () => {
    assert.equal(toRe2("^https?:\\/\\/[^\\s]+$"), `^https?://[^${JS_WHITESPACE_CLASS}]+$`);
    assert.equal(toRe2("a\\sb"), `a[${JS_WHITESPACE_CLASS}]b`);
    assert.equal(toRe2("a\\\\s"), "a\\\\s");
    assert.equal(toRe2("\\S+"), `[^${JS_WHITESPACE_CLASS}]+`);
    assert.throws(() => toRe2("a(?=b)"), /no RE2 equivalent/);
    assert.throws(() => toRe2("(a)\\1"), /no RE2 equivalent/);
  });

  it("fails loudly on what it cannot convert, and on rules for paths that are gone", () => {
    const object = z.object({ a: z.string(), b: z.number().optional() });
    assert.deepEqual(toStructural(jsonSchemaOf(object), "spec"), {
      type: "object",
      properties: { a: { type: "string" }, b: { type: "number" } },
      required: ["a"],
    });
    assert.throws(
      () => toStructural(jsonSchemaOf(object), "spec", { rules: { "spec.c": { set: { pattern: "x" } } } }),
      /rules for paths the schema lacks: spec.c/,
    );
    assert.throws(
      () => toStructural(jsonSchemaOf(z.object({ u: z.url() })), "spec"),
      /format "uri" has no pattern/,
    );
    assert.throws(
      () => toStructural(jsonSchemaOf(z.object({ u: z.union([z.string(), z.number()]) })), "spec"),
      /"anyOf" is not converted/,
    );
    const clash = z.discriminatedUnion("kind", [
      z.object({ kind: z.literal("a"), x: z.string() }),
      z.object({ kind: z.literal("b"), x: z.number() }),
    ]);
    assert.throws(
      () => toStructural(jsonSchemaOf(clash), "spec"),
      /spec.x: union members declare it differently/,
    );
  });
});
