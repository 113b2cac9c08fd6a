import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { Ajv } from "ajv";
import { validateServerJson } from "../../src/schema";
import { isAbsoluteUri } from "../../src/schema/rules";
import { seededRandom as random } from "../support/random";
import { addFormats } from "./ajv-formats";
import {
  CONFORMANCE_DIR,
  type Json,
  type JsonObject,
  hasConformance,
  hasDataset,
  loadDataset,
  richDocument,
} from "./support";

const NASTY_STRINGS = [
  "",
  " ",
  "bogus",
  "latest",
  "^1.0.0",
  "1.x",
  "not a uri",
  "http://exa mple.com",
  "ftp://example.com/x",
  "http://",
  "https://",
  "//example.com/x",
  "/relative/path",
  "mailto:someone@example.com",
  "urn:isbn:0451450523",
  "https://example.com/{undefined}",
  "https://{tenant}.example.com/mcp",
  "http://localhost:3000/mcp",
  "https://[::1]:8443/mcp",
  "https://[::1/mcp",
  "http://a/[x]",
  "https://example.com/%zz",
  "https://example.com/%41",
  "https://example.com/a b",
  "https://example.com/\u00e9",
  "https://ex\u00e4mple.com/",
  "https://user@example.com:99999/x",
  "https://example.com:port/x",
  "https://example.com/x#frag#more",
  "https://example.com/x?q=<>",
  "https://example.com/\\path",
  "io.github.acme/weather",
  "io.github.acme",
  "-acme/x",
  "a/b",
  "x".repeat(101),
  "x".repeat(256),
  "\u{1F326}".repeat(101),
  "\u{1F326}".repeat(100),
  "48x48",
  "big",
  "any",
  "ABCDEF",
  "fe333e598595000ae021bd27117db32ec69af6987f507ba7a63c90638ff633ce",
  "stdio",
  "sse",
  "streamable-http",
  "websocket",
  "named",
  "positional",
  "npm",
  "docker",
  "mcpb",
  "image/png",
  "image/gif",
  "light",
  "sepia",
  "filepath",
  "date",
  "https://static.modelcontextprotocol.io/schemas/2025-09-29/server.schema.json",
];

const FIELD_NAMES = [
  "$schema",
  "name",
  "description",
  "title",
  "version",
  "websiteUrl",
  "repository",
  "icons",
  "packages",
  "remotes",
  "_meta",
  "url",
  "source",
  "id",
  "subfolder",
  "src",
  "mimeType",
  "sizes",
  "theme",
  "registryType",
  "registryBaseUrl",
  "identifier",
  "fileSha256",
  "runtimeHint",
  "transport",
  "runtimeArguments",
  "packageArguments",
  "environmentVariables",
  "type",
  "headers",
  "variables",
  "valueHint",
  "isRepeated",
  "value",
  "default",
  "choices",
  "format",
  "isRequired",
  "isSecret",
  "placeholder",
  "io.modelcontextprotocol.registry/publisher-provided",
  "io.modelcontextprotocol.registry/official",
  "extra",
];

type Path = (string | number)[];

class Mutator {
  constructor(private readonly next: () => number) {}

  int(below: number): number {
    return Math.floor(this.next() * below);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }

  value(depth = 0): Json {
    switch (this.int(depth > 1 ? 5 : 7)) {
      case 0:
        return this.pick([0, -1, 1.5, 1e21]);
      case 1:
        return this.next() < 0.5;
      case 2:
        return null;
      case 3:
      case 4:
        return this.pick(NASTY_STRINGS);
      case 5:
        return Array.from({ length: this.int(3) }, () => this.value(depth + 1));
      default: {
        const object: JsonObject = {};
        for (let i = this.int(3); i > 0; i--) object[this.pick(FIELD_NAMES)] = this.value(depth + 1);
        return object;
      }
    }
  }

  /** Apply one random mutation somewhere in `doc` (in place). */
  mutate(doc: JsonObject): void {
    // Reservoir-sample one node (path) of the document, walking it once with a shared stack.
    let at: Path = [];
    let seen = 0;
    const stack: Path = [];
    const visit = (node: Json) => {
      seen++;
      if (this.int(seen) === 0) at = [...stack];
      if (Array.isArray(node)) {
        node.forEach((item, i) => {
          stack.push(i);
          visit(item);
          stack.pop();
        });
      } else if (node !== null && typeof node === "object") {
        for (const [key, child] of Object.entries(node)) {
          stack.push(key);
          visit(child);
          stack.pop();
        }
      }
    };
    visit(doc);
    const node = get(doc, at);
    switch (this.int(7)) {
      case 0: // wrong type or any other value
        if (at.length > 0) put(doc, at, this.value());
        return;
      case 1: // drop a field or an item (missing required fields)
        if (at.length > 0) remove(doc, at);
        return;
      case 2: // bad enum values, bad formats, bad patterns
        if (typeof node === "string" || at.length > 0) put(doc, at, this.pick(NASTY_STRINGS));
        return;
      case 3: // extra or misplaced properties
        if (node !== null && typeof node === "object" && !Array.isArray(node)) {
          node[this.pick(FIELD_NAMES)] = this.value();
        }
        return;
      case 4: // over-long strings
        if (typeof node === "string" && at.length > 0) put(doc, at, node.repeat(2 + this.int(60)));
        return;
      case 5: // more array items
        if (Array.isArray(node)) node.push(this.value());
        return;
      default: // a known field set to a nasty string on some object
        if (node !== null && typeof node === "object" && !Array.isArray(node)) {
          node[this.pick(FIELD_NAMES)] = this.pick(NASTY_STRINGS);
        }
    }
  }
}

function get(doc: Json, at: Path): Json {
  let node = doc;
  for (const key of at) node = (node as Record<string | number, Json>)[key] as Json;
  return node;
}

function put(doc: JsonObject, at: Path, value: Json): void {
  const parent = get(doc, at.slice(0, -1)) as Record<string | number, Json>;
  parent[at[at.length - 1] as string | number] = value;
}

function remove(doc: JsonObject, at: Path): void {
  const parent = get(doc, at.slice(0, -1));
  const key = at[at.length - 1] as string | number;
  if (Array.isArray(parent)) parent.splice(key as number, 1);
  else delete (parent as JsonObject)[key as string];
}

const conformanceTest = hasConformance ? it : it.skip;
const note = hasConformance ? "" : " (skipped: ../shared/conformance is absent)";

describe("schema: never looser than ../shared/conformance/server.schema.json (ajv)", () => {
  const compileOfficial = () => {
    const ajv = new Ajv({ allErrors: false, strict: false });
    addFormats(ajv);
    const schema = JSON.parse(
      readFileSync(path.join(CONFORMANCE_DIR, "server.schema.json"), "utf8"),
    ) as object;
    return ajv.compile(schema);
  };

  conformanceTest(`agrees with ajv on the unmutated documents${note}`, () => {
    const official = compileOfficial();
    const documents = hasDataset ? [richDocument(), ...loadDataset()] : [richDocument()];
    for (const document of documents) {
      assert.equal(official(document), true, JSON.stringify(official.errors));
      assert.equal(validateServerJson(document).valid, true);
    }
    // The format plugin is live: ajv itself refuses a malformed URI.
    assert.equal(official({ ...richDocument(), websiteUrl: "not a uri" }), false);
  });

  conformanceTest(`refuses every mutated document that ajv refuses (4000 variants)${note}`, () => {
    const official = compileOfficial();
    const bases = [richDocument(), ...(hasDataset ? loadDataset() : [])];
    const mutator = new Mutator(random(20251211));
    const looser: string[] = [];
    let refusedByAjv = 0;
    let refusedByUs = 0;
    const variants = 4000;
    for (let i = 0; i < variants; i++) {
      // Half the variants start from the document that has every field.
      const doc = structuredClone(i % 2 === 0 ? bases[0] : mutator.pick(bases)) as JsonObject;
      for (let n = 1 + mutator.int(3); n > 0; n--) mutator.mutate(doc);
      const ajvAccepts = official(doc) === true;
      const ours = validateServerJson(doc);
      if (!ajvAccepts) refusedByAjv++;
      if (!ours.valid) refusedByUs++;
      if (!ajvAccepts && ours.valid && looser.length < 5) {
        looser.push(`${JSON.stringify(official.errors)}\n${JSON.stringify(doc)}`);
      }
    }
    assert.deepEqual(looser, [], "documents ajv refuses but validateServerJson accepts");
    // The mix must be meaningful: plenty refused by the schema, plenty still valid.
    assert.ok(refusedByAjv > variants * 0.3, `ajv refused only ${refusedByAjv}`);
    assert.ok(variants - refusedByUs > variants * 0.1, `we accepted only ${variants - refusedByUs}`);
  });

  conformanceTest(
    `format "uri": whatever ajv-formats refuses, isAbsoluteUri refuses (20000 strings)${note}`,
    () => {
      const ajv = new Ajv({ strict: false });
      addFormats(ajv);
      const ajvUri = ajv.compile({ type: "string", format: "uri" });
      const next = random(7);
      const alphabet = [
        ..."abcXYZ019:/?#[]@!$&'()*+,;=-._~%{}<> \\\"|^`\u00e9\u{1F326}",
        "http",
        "https",
        "://",
        "%41",
        "%4",
      ];
      const samples = [...NASTY_STRINGS];
      for (let i = 0; i < 20000; i++) {
        let text = next() < 0.7 ? "https://" : "";
        for (let n = Math.floor(next() * 12); n > 0; n--)
          text += alphabet[Math.floor(next() * alphabet.length)];
        samples.push(text);
      }
      let refusedByAjv = 0;
      const looser = samples.filter((text) => {
        const refused = ajvUri(text) !== true;
        if (refused) refusedByAjv++;
        return refused && isAbsoluteUri(text);
      });
      assert.deepEqual(looser.slice(0, 10), []);
      assert.ok(refusedByAjv > 1000, `ajv refused only ${refusedByAjv}`);
    },
  );
});
