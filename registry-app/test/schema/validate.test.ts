import assert from "node:assert/strict";
import {
  CURRENT_SCHEMA_URL,
  type ValidationIssue,
  serverJsonSchema,
  validateServerJson,
  validateServerJsonText,
  validationResultSchema,
} from "../../src/schema";
import { type Json, type JsonObject, errorsOf, onlyError, richDocument, withValue, without } from "./support";

const rich = richDocument();
const set = (at: string, value: Json) => withValue(rich, at, value);

function expectRule(
  doc: JsonObject,
  path: string,
  expected: { type: "schema" | "semantic"; reference: string; message: RegExp },
): ValidationIssue {
  const error = onlyError(doc, path);
  assert.equal(error.type, expected.type);
  assert.equal(error.reference, expected.reference);
  assert.match(error.message, expected.message);
  return error;
}

describe("schema: validateServerJson happy paths", () => {
  it("accepts a document that uses every field, with no issues, and returns it unchanged", () => {
    const result = validateServerJson(rich);
    assert.deepEqual(result.issues, []);
    assert.equal(result.valid, true);
    assert.deepEqual(result.server, rich);
    assert.doesNotThrow(() => validationResultSchema.parse(result));
  });

  it("accepts the minimal document", () => {
    const minimal = { $schema: CURRENT_SCHEMA_URL, name: "com.example/x1", description: "d", version: "1" };
    assert.deepEqual(validateServerJson(minimal), { valid: true, issues: [], server: minimal });
  });

  it("accepts specific versions of many shapes", () => {
    for (const version of [
      "1.0.0",
      "2.1.0-alpha",
      "1.0.0-x.7",
      "v1.2.3",
      "1.0.0+build.5",
      "2024-01-15",
      "20250101",
      "1.0.0-linux",
      "xyz",
    ]) {
      assert.deepEqual(errorsOf(set("version", version)), [], version);
      assert.deepEqual(errorsOf(set("packages[0].version", version)), [], `package ${version}`);
    }
  });

  it("counts description length in code points, as JSON Schema does", () => {
    assert.deepEqual(errorsOf(set("description", "🌦".repeat(100))), []);
    const error = expectRule(set("description", "🌦".repeat(101)), "description", {
      type: "schema",
      reference: "#/definitions/ServerDetail/properties/description/maxLength",
      message: /at most 100 characters \(got 101\)/,
    });
    assert.ok(error);
  });
});

describe("schema: every rule refuses with one error naming the field", () => {
  it("refuses a document that is not an object", () => {
    for (const input of [[], null, "x", 3]) {
      const error = onlyError(input, "");
      assert.match(error.message, /^server\.json must be an object/);
    }
  });

  describe("name", () => {
    it("is required", () => {
      expectRule(without(rich, "name"), "name", {
        type: "schema",
        reference: "#/definitions/ServerDetail/required",
        message: /^name is required$/,
      });
    });
    it("must be a string", () => {
      expectRule(set("name", 42), "name", {
        type: "schema",
        reference: "#/definitions/ServerDetail/properties/name/type",
        message: /must be a string \(got 42\)/,
      });
    });
    it("matches namespace/name", () => {
      for (const name of [
        "io.github.acme",
        "io.github.acme/weather/extra",
        "io.github.acme/wéather",
        "acme/we ather",
        "acme_corp/x1",
      ]) {
        expectRule(set("name", name), "name", {
          type: "schema",
          reference: "#/definitions/ServerDetail/properties/name/pattern",
          message: /must be "namespace\/name"/,
        });
      }
    });
    it("is 3..200 characters", () => {
      expectRule(set("name", "ab"), "name", {
        type: "schema",
        reference: "#/definitions/ServerDetail/properties/name/minLength",
        message: /at least 3 characters/,
      });
      expectRule(set("name", `${"a".repeat(100)}/${"b".repeat(100)}`), "name", {
        type: "schema",
        reference: "#/definitions/ServerDetail/properties/name/maxLength",
        message: /at most 200 characters \(got 201\)/,
      });
      assert.deepEqual(errorsOf(set("name", `${"a".repeat(100)}/${"b".repeat(99)}`)), []);
    });
    it("has namespace and name parts that start and end with a letter or digit", () => {
      for (const name of ["-acme/weather", "acme./weather", "acme/weather-", "acme/_weather", "a/weather"]) {
        expectRule(set("name", name), "name", {
          type: "semantic",
          reference: "invalid-server-name",
          message: /must be at least 2 characters and start and end with a letter or digit/,
        });
      }
    });
  });

  describe("description and title", () => {
    it("description is required, 1..100 characters", () => {
      expectRule(without(rich, "description"), "description", {
        type: "schema",
        reference: "#/definitions/ServerDetail/required",
        message: /^description is required$/,
      });
      expectRule(set("description", ""), "description", {
        type: "schema",
        reference: "#/definitions/ServerDetail/properties/description/minLength",
        message: /must not be empty/,
      });
      expectRule(set("description", "x".repeat(101)), "description", {
        type: "schema",
        reference: "#/definitions/ServerDetail/properties/description/maxLength",
        message: /^description must be at most 100 characters \(got 101\)$/,
      });
      assert.deepEqual(errorsOf(set("description", "x".repeat(100))), []);
    });
    it("title is 1..100 characters and not only whitespace", () => {
      expectRule(set("title", "x".repeat(101)), "title", {
        type: "schema",
        reference: "#/definitions/ServerDetail/properties/title/maxLength",
        message: /at most 100/,
      });
      expectRule(set("title", "   "), "title", {
        type: "semantic",
        reference: "title-whitespace-only",
        message: /^title must not be only whitespace$/,
      });
    });
  });

  describe("version", () => {
    it("is required, non-empty and at most 255 characters", () => {
      expectRule(without(rich, "version"), "version", {
        type: "schema",
        reference: "#/definitions/ServerDetail/required",
        message: /^version is required$/,
      });
      expectRule(set("version", ""), "version", {
        type: "semantic",
        reference: "version-empty",
        message: /must not be empty/,
      });
      expectRule(set("version", `1.0.0-${"a".repeat(250)}`), "version", {
        type: "schema",
        reference: "#/definitions/ServerDetail/properties/version/maxLength",
        message: /at most 255 characters \(got 256\)/,
      });
    });
    it("is never latest", () => {
      for (const version of ["latest", "LATEST", " latest "]) {
        expectRule(set("version", version), "version", {
          type: "semantic",
          reference: "reserved-version-string",
          message: /"latest" is reserved/,
        });
      }
    });
    const ranges = [
      "^1.2.3",
      "~1.2.3",
      ">=1.0.0",
      "<=1.0.0",
      ">1.0.0",
      "<2",
      "=1.0.0",
      "1.x",
      "1.2.X",
      "1.2.*",
      "*",
      "x",
      "1.0 - 2.0",
      "1.2 || 1.3",
      "1.x.x-beta",
    ];
    it("is not a range or wildcard", () => {
      for (const version of ranges) {
        expectRule(set("version", version), "version", {
          type: "semantic",
          reference: "version-looks-like-range",
          message: /must be a specific version, not a range or wildcard/,
        });
      }
    });
    it("package versions follow the same rules, and are at least 1 character", () => {
      for (const version of ranges) {
        expectRule(set("packages[0].version", version), "packages[0].version", {
          type: "semantic",
          reference: "version-looks-like-range",
          message: /^packages\[0\]\.version must be a specific version/,
        });
      }
      expectRule(set("packages[3].version", "latest"), "packages[3].version", {
        type: "semantic",
        reference: "reserved-version-string",
        message: /reserved/,
      });
      expectRule(set("packages[0].version", ""), "packages[0].version", {
        type: "schema",
        reference: "#/definitions/Package/properties/version/minLength",
        message: /must not be empty/,
      });
    });
  });

  describe("packages", () => {
    it("registryType is one of npm, pypi, oci, nuget, mcpb", () => {
      expectRule(set("packages[1].registryType", "docker"), "packages[1].registryType", {
        type: "schema",
        reference: "#/definitions/Package/properties/registryType/enum",
        message: /^packages\[1\]\.registryType must be one of npm, pypi, oci, nuget, mcpb \(got "docker"\)$/,
      });
      expectRule(without(rich, "packages[1].registryType"), "packages[1].registryType", {
        type: "schema",
        reference: "#/definitions/Package/required",
        message: /is required/,
      });
      for (const type of ["npm", "pypi", "oci", "nuget", "mcpb"]) {
        assert.deepEqual(errorsOf(set("packages[2].registryType", type)), [], type);
      }
    });
    it("identifier is required and has no whitespace", () => {
      expectRule(without(rich, "packages[0].identifier"), "packages[0].identifier", {
        type: "schema",
        reference: "#/definitions/Package/required",
        message: /is required/,
      });
      expectRule(set("packages[0].identifier", "@acme/weather mcp"), "packages[0].identifier", {
        type: "semantic",
        reference: "package-name-has-spaces",
        message: /must not contain whitespace/,
      });
    });
    it("mcpb packages carry a well-formed fileSha256", () => {
      expectRule(without(rich, "packages[2].fileSha256"), "packages[2].fileSha256", {
        type: "semantic",
        reference: "mcpb-file-sha256-required",
        message: /is required for mcpb packages/,
      });
      expectRule(set("packages[2].fileSha256", "FE33"), "packages[2].fileSha256", {
        type: "schema",
        reference: "#/definitions/Package/properties/fileSha256/pattern",
        message: /64 lowercase hexadecimal/,
      });
    });
    it("registryBaseUrl is a URI", () => {
      expectRule(set("packages[0].registryBaseUrl", "registry.npmjs.org"), "packages[0].registryBaseUrl", {
        type: "schema",
        reference: "#/definitions/Package/properties/registryBaseUrl/format",
        message: /absolute URI/,
      });
    });
    it("wrong types name the field and the expected type", () => {
      expectRule(set("packages", { registryType: "npm" }), "packages", {
        type: "schema",
        reference: "#/definitions/ServerDetail/properties/packages/type",
        message: /^packages must be an array \(got an object\)$/,
      });
      expectRule(
        set("packages[0].environmentVariables[0].isRequired", "yes"),
        "packages[0].environmentVariables[0].isRequired",
        {
          type: "schema",
          reference: "#/definitions/KeyValueInput/properties/isRequired/type",
          message: /must be a boolean \(true or false\) \(got "yes"\)/,
        },
      );
      expectRule(
        set("packages[0].environmentVariables[0].format", "date"),
        "packages[0].environmentVariables[0].format",
        {
          type: "schema",
          reference: "#/definitions/KeyValueInput/properties/format/enum",
          message: /must be one of string, number, boolean, filepath/,
        },
      );
      expectRule(
        set("packages[0].packageArguments[1].variables.units.choices", [1]),
        "packages[0].packageArguments[1].variables.units.choices[0]",
        {
          type: "schema",
          reference: "#/definitions/Input/properties/choices/items/type",
          message: /must be a string \(got 1\)/,
        },
      );
    });
  });

  describe("arguments", () => {
    it("type is named or positional", () => {
      expectRule(
        set("packages[0].packageArguments[0].type", "flag"),
        "packages[0].packageArguments[0].type",
        {
          type: "schema",
          reference: "#/definitions/Argument/properties/type/enum",
          message: /must be one of positional, named \(got "flag"\)/,
        },
      );
      expectRule(
        without(rich, "packages[0].packageArguments[0].type"),
        "packages[0].packageArguments[0].type",
        {
          type: "schema",
          reference: "#/definitions/Argument/required",
          message: /is required/,
        },
      );
    });
    it("a positional argument has a valueHint or a value", () => {
      expectRule(
        without(rich, "packages[0].packageArguments[0].valueHint"),
        "packages[0].packageArguments[0]",
        {
          type: "schema",
          reference: "#/definitions/PositionalArgument/anyOf",
          message: /needs valueHint or value/,
        },
      );
    });
    it("a named argument has a bare flag name that its value does not repeat", () => {
      expectRule(
        without(rich, "packages[0].runtimeArguments[0].name"),
        "packages[0].runtimeArguments[0].name",
        {
          type: "schema",
          reference: "#/definitions/NamedArgument/required",
          message: /is required/,
        },
      );
      for (const name of ["", "--port <port>", "--dir $HOME"]) {
        expectRule(
          set("packages[0].runtimeArguments[0].name", name),
          "packages[0].runtimeArguments[0].name",
          {
            type: "semantic",
            reference: "invalid-named-argument-name",
            message: /must (not be empty|be the bare flag)/,
          },
        );
      }
      expectRule(
        set("packages[0].packageArguments[1].value", "--units=metric"),
        "packages[0].packageArguments[1].value",
        {
          type: "semantic",
          reference: "argument-value-starts-with-name",
          message: /must not repeat the flag "--units"/,
        },
      );
      expectRule(
        set("packages[0].packageArguments[1].default", "--units metric"),
        "packages[0].packageArguments[1].default",
        {
          type: "semantic",
          reference: "argument-default-starts-with-name",
          message: /must not repeat the flag/,
        },
      );
    });
  });

  describe("package transports", () => {
    it("type is stdio, streamable-http or sse", () => {
      expectRule(set("packages[0].transport.type", "websocket"), "packages[0].transport.type", {
        type: "schema",
        reference: "#/definitions/LocalTransport/properties/type/enum",
        message:
          /^packages\[0\]\.transport\.type must be one of stdio, streamable-http, sse \(got "websocket"\)$/,
      });
      expectRule(without(rich, "packages[0].transport"), "packages[0].transport", {
        type: "schema",
        reference: "#/definitions/Package/required",
        message: /is required/,
      });
    });
    it("http transports need a http(s) url", () => {
      expectRule(without(rich, "packages[1].transport.url"), "packages[1].transport.url", {
        type: "schema",
        reference: "#/definitions/StreamableHttpTransport/required",
        message: /is required/,
      });
      for (const url of ["ftp://example.com/mcp", "example.com/mcp", "https://exa mple.com/mcp"]) {
        expectRule(set("packages[3].transport.url", url), "packages[3].transport.url", {
          type: "schema",
          reference: "#/definitions/SseTransport/properties/url/pattern",
          message: /must start with http:\/\/ or https:\/\//,
        });
      }
      expectRule(set("packages[3].transport.url", "http://:{port}/sse"), "packages[3].transport.url", {
        type: "semantic",
        reference: "invalid-package-transport-url",
        message: /not a valid http\(s\) URL/,
      });
    });
    it("stdio transports carry no url", () => {
      const error = onlyError(
        set("packages[0].transport.url", "http://localhost:3000"),
        "packages[0].transport.url",
      );
      assert.equal(error.reference, "stdio-transport-url-not-empty");
    });
    it("url placeholders must name an env var, an argument name or an argument valueHint", () => {
      expectRule(set("packages[1].transport.url", "http://{host}:{port}/mcp"), "packages[1].transport.url", {
        type: "semantic",
        reference: "invalid-templated-url",
        message: /refers to \{host\}, which no environment variable or argument of this package defines/,
      });
      assert.deepEqual(
        errorsOf(set("packages[1].transport.url", "http://localhost:{port}/{ACME_API_KEY}")),
        [],
      );
      assert.deepEqual(errorsOf(set("packages[3].transport.url", "http://localhost:{port}/{port}")), []);
    });
  });

  describe("remotes", () => {
    it("type is streamable-http or sse", () => {
      expectRule(set("remotes[1].type", "stdio"), "remotes[1].type", {
        type: "schema",
        reference: "#/definitions/RemoteTransport/properties/type/enum",
        message: /must be one of streamable-http, sse \(got "stdio"\)/,
      });
      expectRule(without(rich, "remotes[1].url"), "remotes[1].url", {
        type: "schema",
        reference: "#/definitions/SseTransport/required",
        message: /is required/,
      });
    });
    it("urls are https and never localhost", () => {
      expectRule(set("remotes[1].url", "http://weather.acme.example/sse"), "remotes[1].url", {
        type: "semantic",
        reference: "invalid-remote-url",
        message: /must use https/,
      });
      for (const url of [
        "https://localhost/sse",
        "https://127.0.0.1:8443/sse",
        "https://app.localhost/sse",
      ]) {
        expectRule(set("remotes[1].url", url), "remotes[1].url", {
          type: "semantic",
          reference: "invalid-remote-url",
          message: /must not point at localhost/,
        });
      }
    });
    it("url placeholders must name the remote's variables", () => {
      expectRule(without(rich, "remotes[0].variables"), "remotes[0].url", {
        type: "semantic",
        reference: "invalid-templated-url",
        message: /^remotes\[0\]\.url refers to \{tenant\}, which the remote's variables does not define$/,
      });
      expectRule(set("remotes[0].url", "https://{tenant}.acme.example/{region}"), "remotes[0].url", {
        type: "semantic",
        reference: "invalid-templated-url",
        message: /\{region\}/,
      });
      expectRule(set("remotes[0].variables.tenant", "acme"), "remotes[0].variables.tenant", {
        type: "schema",
        reference: "#/definitions/Input/type",
        message: /must be an object \(got "acme"\)/,
      });
    });
  });

  describe("repository, website and icons", () => {
    it("repository needs url and source; github urls name owner/repo", () => {
      expectRule(without(rich, "repository.source"), "repository.source", {
        type: "schema",
        reference: "#/definitions/Repository/required",
        message: /is required/,
      });
      expectRule(set("repository.url", "https://github.com/acme"), "repository.url", {
        type: "semantic",
        reference: "invalid-repository-url",
        message: /github\.com\/<owner>\/<repo>/,
      });
      const forge = set("repository", { url: "https://git.acme.internal/platform/weather", source: "gitea" });
      assert.deepEqual(errorsOf(forge), []);
    });
    it("repository subfolder is a clean relative path", () => {
      for (const subfolder of [
        "../weather",
        "/servers",
        "servers/",
        "servers//weather",
        "servers/./weather",
        "a b",
      ]) {
        expectRule(set("repository.subfolder", subfolder), "repository.subfolder", {
          type: "semantic",
          reference: "invalid-subfolder-path",
          message: /clean relative path/,
        });
      }
    });
    it("websiteUrl is an absolute https URL", () => {
      expectRule(set("websiteUrl", "/docs"), "websiteUrl", {
        type: "schema",
        reference: "#/definitions/ServerDetail/properties/websiteUrl/format",
        message: /absolute URI/,
      });
      expectRule(set("websiteUrl", "http://weather.acme.example"), "websiteUrl", {
        type: "semantic",
        reference: "website-url-invalid-scheme",
        message: /https/,
      });
    });
    it("icons have an https src of at most 255 characters, a known mimeType, WxH sizes and a theme", () => {
      expectRule(set("icons[0].src", "http://weather.acme.example/i.png"), "icons[0].src", {
        type: "semantic",
        reference: "icon-src-invalid-scheme",
        message: /https/,
      });
      expectRule(set("icons[0].src", `https://acme.example/${"i".repeat(240)}`), "icons[0].src", {
        type: "schema",
        reference: "#/definitions/Icon/properties/src/maxLength",
        message: /at most 255/,
      });
      expectRule(set("icons[0].mimeType", "image/gif"), "icons[0].mimeType", {
        type: "schema",
        reference: "#/definitions/Icon/properties/mimeType/enum",
        message: /image\/png/,
      });
      expectRule(set("icons[0].sizes[1]", "big"), "icons[0].sizes[1]", {
        type: "schema",
        reference: "#/definitions/Icon/properties/sizes/items/pattern",
        message: /"WxH"/,
      });
      expectRule(set("icons[1].theme", "sepia"), "icons[1].theme", {
        type: "schema",
        reference: "#/definitions/Icon/properties/theme/enum",
        message: /light, dark/,
      });
    });
  });

  describe("_meta", () => {
    const PUBLISHER = "io.modelcontextprotocol.registry/publisher-provided";
    const OFFICIAL = "io.modelcontextprotocol.registry/official";
    const metaPath = `_meta[${JSON.stringify(PUBLISHER)}]`;

    it("keeps publisher-provided data up to 4096 bytes of JSON", () => {
      const filler = (bytes: number) => ({ blob: "x".repeat(bytes - '{"blob":""}'.length) });
      const fits = set(metaPath, filler(4096));
      assert.deepEqual(errorsOf(fits), []);
      assert.deepEqual(validateServerJson(fits).server?._meta?.[PUBLISHER], filler(4096));
      expectRule(set(metaPath, filler(4097)), metaPath, {
        type: "semantic",
        reference: "publisher-meta-too-large",
        message: /at most 4096 bytes of JSON \(got 4097\)/,
      });
      // Bytes, not characters: 2000 two-byte characters are 4000+ bytes.
      expectRule(set(metaPath, { blob: "é".repeat(2100) }), metaPath, {
        type: "semantic",
        reference: "publisher-meta-too-large",
        message: /got 4211/,
      });
      expectRule(set(metaPath, ["not", "an", "object"]), metaPath, {
        type: "schema",
        reference:
          "#/definitions/ServerDetail/properties/_meta/properties/io.modelcontextprotocol.registry~1publisher-provided/type",
        message: /must be an object \(got an array\)/,
      });
    });

    it("never accepts the registry's own official key from a publisher", () => {
      const doc = set(`_meta[${JSON.stringify(OFFICIAL)}]`, { status: "active", isLatest: true });
      const error = onlyError(doc, `_meta[${JSON.stringify(OFFICIAL)}]`);
      assert.equal(error.type, "semantic");
      assert.equal(error.reference, "registry-meta-reserved");
      assert.deepEqual(Object.keys(serverJsonSchema.parse(doc)._meta ?? {}), [PUBLISHER]);
    });

    it("drops any other _meta key with a warning", () => {
      const doc = set('_meta["com.example/custom"]', { a: 1 });
      const result = validateServerJson(doc);
      assert.equal(result.valid, true);
      assert.deepEqual(
        result.issues.map((issue) => [issue.path, issue.severity, issue.reference]),
        [['_meta["com.example/custom"]', "warning", "meta-key-dropped"]],
      );
      assert.deepEqual(Object.keys(result.server?._meta ?? {}), [PUBLISHER]);
    });
  });

  describe("$schema", () => {
    it("an older schema URL is accepted with a warning", () => {
      const doc = set(
        "$schema",
        "https://static.modelcontextprotocol.io/schemas/2025-09-29/server.schema.json",
      );
      const result = validateServerJson(doc);
      assert.equal(result.valid, true);
      assert.equal(result.issues.length, 1);
      const [warning] = result.issues as [ValidationIssue];
      assert.deepEqual(
        [warning.path, warning.severity, warning.reference],
        ["$schema", "warning", "schema-version-outdated"],
      );
      assert.match(warning.message, /2025-09-29.*2025-12-11/);
    });
    it("a missing $schema is accepted with a warning", () => {
      const result = validateServerJson(without(rich, "$schema"));
      assert.equal(result.valid, true);
      assert.deepEqual(
        result.issues.map((issue) => [issue.path, issue.severity, issue.reference]),
        [["$schema", "warning", "schema-version-missing"]],
      );
    });
    it("an unknown schema URL is an error", () => {
      expectRule(set("$schema", "https://example.com/server.schema.json"), "$schema", {
        type: "semantic",
        reference: "unknown-schema-version",
        message: /is not a known server\.json schema/,
      });
      expectRule(set("$schema", "not a uri"), "$schema", {
        type: "schema",
        reference: "#/definitions/ServerDetail/properties/$schema/format",
        message: /absolute URI/,
      });
    });
  });

  describe("unknown fields", () => {
    it("are dropped from the stored document with a warning naming each one", () => {
      let doc = set("homepage", "https://acme.example");
      doc = withValue(doc, "packages[0].registry_type", "npm");
      doc = withValue(doc, "packages[0].transport.headers", []);
      doc = withValue(doc, "remotes[1].variables", { region: { description: "r", secret: true } });
      const result = validateServerJson(doc);
      assert.equal(result.valid, true);
      assert.deepEqual(
        result.issues.map((issue) => [issue.path, issue.severity, issue.reference]),
        [
          ["packages[0].transport.headers", "warning", "unknown-field"],
          ["packages[0].registry_type", "warning", "unknown-field"],
          ["remotes[1].variables.region.secret", "warning", "unknown-field"],
          ["homepage", "warning", "unknown-field"],
        ],
      );
      assert.deepEqual(
        result.server,
        withValue(rich, "remotes[1].variables", { region: { description: "r" } }),
      );
    });
    it("a __proto__ key is refused wherever it appears", () => {
      for (const where of ["", "packages[0]", "remotes[0].variables", metaPathFor()]) {
        const doc = JSON.parse(
          JSON.stringify(rich).replace(insertionPoint(where), (m) => `${m}"__proto__":{"x":1},`),
        ) as JsonObject;
        const path = where === "" ? "__proto__" : `${where}.__proto__`;
        const error = onlyError(doc, path);
        assert.equal(error.reference, "forbidden-field-name");
      }
    });
  });

  it("reports every independent problem at once, errors before warnings", () => {
    let doc = set("description", "x".repeat(120));
    doc = withValue(doc, "version", "^2.0.0");
    doc = withValue(doc, "packages[1].registryType", "docker");
    doc = withValue(doc, "extra", true);
    const result = validateServerJson(doc);
    assert.deepEqual(
      result.issues.map((issue) => [issue.path, issue.severity]),
      [
        ["description", "error"],
        ["version", "error"],
        ["packages[1].registryType", "error"],
        ["extra", "warning"],
      ],
    );
  });

  it("serverJsonSchema on its own enforces the same rules", () => {
    assert.equal(serverJsonSchema.safeParse(set("version", "1.x")).success, false);
    assert.equal(serverJsonSchema.safeParse(without(rich, "remotes[0].variables")).success, false);
    assert.equal(serverJsonSchema.safeParse(rich).success, true);
  });
});

function metaPathFor(): string {
  return '_meta["io.modelcontextprotocol.registry/publisher-provided"]';
}

/** The JSON text just after the opening brace of the object at `where`, for inserting a raw key. */
function insertionPoint(where: string): RegExp {
  switch (where) {
    case "":
      return /^\{/;
    case "packages[0]":
      return /"packages":\[\{/;
    case "remotes[0].variables":
      return /"variables":\{(?="tenant")/;
    default:
      return /"io\.modelcontextprotocol\.registry\/publisher-provided":\{/;
  }
}

describe("schema: hostile and malformed input", () => {
  it("turns malformed JSON text into one json issue", () => {
    const result = validateServerJsonText('{"name": "io.github.acme/weather",');
    assert.equal(result.valid, false);
    assert.equal(result.issues.length, 1);
    const [issue] = result.issues as [ValidationIssue];
    assert.deepEqual(
      [issue.type, issue.path, issue.severity, issue.reference],
      ["json", "", "error", "json-syntax-error"],
    );
    assert.match(issue.message, /^server\.json is not valid JSON: /);
    assert.equal(validateServerJsonText(JSON.stringify(richDocument())).valid, true);
  });

  it("refuses absurdly nested publisher metadata instead of throwing", () => {
    let nested: Record<string, unknown> = {};
    const root = nested;
    for (let depth = 0; depth < 200_000; depth++) {
      const child: Record<string, unknown> = {};
      nested.next = child;
      nested = child;
    }
    const doc = { ...richDocument(), _meta: { "io.modelcontextprotocol.registry/publisher-provided": root } };
    const error = onlyError(doc, '_meta["io.modelcontextprotocol.registry/publisher-provided"]');
    assert.equal(error.reference, "publisher-meta-too-deep");
  });
});
