import assert from "node:assert/strict";
import Ajv2020 from "ajv/dist/2020";
import addFormats from "ajv-formats";
import type { InjectOptions, LightMyRequestResponse } from "fastify";
import { PUBLISHER_META_KEY } from "../../src/schema";
import { bearer, serverJson, testRegistry, type TestRegistry } from "../support/registry";

interface Problem {
  title: string;
  status: number;
  detail: string;
  errors?: Array<{ location: string; message: string }>;
  issues?: Array<{ type: string; path: string; message: string; severity: string; reference: string }>;
}

const enc = encodeURIComponent;

/** A body as raw bytes: JSON text with the given pieces of bytes spliced in. */
const raw = (...parts: Array<string | number[]>): Buffer =>
  Buffer.concat(
    parts.map((part) => (typeof part === "string" ? Buffer.from(part, "utf8") : Buffer.from(part))),
  );

/**
 * Issue 17's failing cases, each a named regression test: values PostgreSQL cannot keep exactly are
 * refused at the edge with a 400 naming the JSON path, on every write route, and nothing is stored.
 */
describe("http: the edge refuses values the store cannot keep exactly", function () {
  let registry: TestRegistry;
  let token: string;

  before(async () => {
    registry = await testRegistry("edge", { MCP_REGISTRY_ENABLE_ANONYMOUS_AUTH: "true" });
    token = await registry.token([
      { action: "publish", resource: "*" },
      { action: "edit", resource: "*" },
    ]);
  });
  after(async () => registry.close());

  async function send(
    method: InjectOptions["method"],
    url: string,
    payload: string | Buffer | Record<string, unknown>,
  ): Promise<LightMyRequestResponse> {
    return registry.app.inject({
      method,
      url,
      headers: { ...bearer(token), "content-type": "application/json" },
      payload,
    });
  }

  /** A 400 problem+json whose first error names `location`. */
  function assertRefused(response: LightMyRequestResponse, location: string, message: RegExp): Problem {
    assert.equal(response.statusCode, 400, response.body);
    assert.match(String(response.headers["content-type"]), /^application\/problem\+json/);
    const problem = response.json<Problem>();
    assert.equal(problem.errors?.[0]?.location, location, response.body);
    assert.match(problem.errors?.[0]?.message ?? "", message);
    assert.match(problem.detail, new RegExp(location.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")));
    return problem;
  }

  async function assertNotStored(name: string, version = "1.0.0"): Promise<void> {
    const response = await send("GET", `/v0.1/servers/${enc(name)}/versions/${version}`, "");
    assert.equal(response.statusCode, 404, `${name} was not stored: ${response.body}`);
  }

  const NUL = /NUL character \(\\u0000\)/;
  const SURROGATE = /unpaired UTF-16 surrogate/;

  describe("issue 17 regression: an escaped NUL (\\u0000) used to pass validation and answer 500", () => {
    const cases: Array<{ field: string; location: string; extra: Record<string, unknown> }> = [
      { field: "description", location: "body.description", extra: { description: "Weather\u0000" } },
      { field: "title", location: "body.title", extra: { title: "Wea\u0000ther" } },
      {
        field: "_meta (publisher-provided)",
        location: `body._meta["${PUBLISHER_META_KEY}"].note`,
        extra: { _meta: { [PUBLISHER_META_KEY]: { note: "\u0000" } } },
      },
      {
        field: "packages[].environmentVariables[].name",
        location: "body.packages[0].environmentVariables[1].name",
        extra: {
          packages: [
            {
              registryType: "npm",
              identifier: "@acme/weather",
              version: "1.0.0",
              transport: { type: "stdio" },
              environmentVariables: [{ name: "API_KEY" }, { name: "REGION\u0000" }],
            },
          ],
        },
      },
      {
        field: "an unknown field that would be dropped anyway",
        location: "body.somethingElse",
        extra: { somethingElse: "\u0000" },
      },
    ];
    for (const { field, location, extra } of cases) {
      it(`NUL in ${field}: 400 naming ${location}, nothing stored`, async () => {
        const name = `com.example/nul-${cases.findIndex((c) => c.field === field)}`;
        assertRefused(await send("POST", "/v0.1/publish", serverJson(name, "1.0.0", extra)), location, NUL);
        await assertNotStored(name);
      });
    }

    it("NUL in a key: 400 naming the key", async () => {
      const document = serverJson("com.example/nul-key", "1.0.0", {
        _meta: { [PUBLISHER_META_KEY]: { "a\u0000b": 1 } },
      });
      assertRefused(
        await send("POST", "/v0.1/publish", document),
        `body._meta["${PUBLISHER_META_KEY}"]["a\\u0000b"]`,
        /^this key contains a NUL character/,
      );
      await assertNotStored("com.example/nul-key");
    });
  });

  describe("issue 17 regression: lone UTF-16 surrogates used to answer 500", () => {
    it("a lone high surrogate (\\ud800) in description: 400 naming body.description", async () => {
      const document = serverJson("com.example/high", "1.0.0", { description: "cloud \ud800 cover" });
      assertRefused(await send("POST", "/v0.1/publish", document), "body.description", /\\ud800/);
      await assertNotStored("com.example/high");
    });

    it("a lone low surrogate (\\udfff) in a remote header: 400 naming its path", async () => {
      const document = serverJson("com.example/low", "1.0.0", {
        remotes: [{ type: "sse", url: "https://low.example.com/sse", headers: [{ name: "X\udfff" }] }],
      });
      assertRefused(
        await send("POST", "/v0.1/publish", document),
        "body.remotes[0].headers[0].name",
        /\\udfff/,
      );
      await assertNotStored("com.example/low");
    });

    it("the escapes as the client wrote them (JSON text, not a JS string) are refused the same way", async () => {
      const text = `{"name":"com.example/escaped","version":"1.0.0","description":"x\\ud800y"}`;
      assertRefused(await send("POST", "/v0.1/publish", text), "body.description", SURROGATE);
    });

    it("a surrogate pair (a non-BMP character) is kept exactly", async () => {
      const document = serverJson("com.example/fox", "1.0.0", { description: "🦊 \uFFFD \uFFFF" });
      assert.equal((await send("POST", "/v0.1/publish", document)).statusCode, 200);
      const stored = await send("GET", `/v0.1/servers/${enc("com.example/fox")}/versions/1.0.0`, "");
      assert.equal(stored.json<{ server: { description: string } }>().server.description, "🦊 \uFFFD \uFFFF");
    });
  });

  describe("issue 17 regression: invalid UTF-8 used to be stored as U+FFFD with 200", () => {
    it("invalid bytes inside a string: 400 naming the path and the byte offset, nothing stored", async () => {
      const before = '{"name":"com.example/latin1","version":"1.0.0","description":"Caf';
      const body = raw(before, [0xe9], ' au lait"}');
      assertRefused(
        await send("POST", "/v0.1/publish", body),
        "body.description",
        new RegExp(`not UTF-8 \\(at byte ${Buffer.byteLength(before)} of the body\\)`),
      );
      await assertNotStored("com.example/latin1");
    });

    it("an overlong encoding of NUL (C0 80) is invalid UTF-8, not a NUL", async () => {
      const body = raw(
        '{"name":"com.example/overlong","version":"1.0.0","description":"a',
        [0xc0, 0x80],
        '"}',
      );
      assertRefused(await send("POST", "/v0.1/publish", body), "body.description", /not UTF-8/);
    });

    it("invalid bytes between tokens: 400 at the body with the offset, not 'malformed JSON'", async () => {
      const body = raw('{"name":"com.example/between",', [0xff], '"version":"1.0.0"}');
      assertRefused(await send("POST", "/v0.1/publish", body), "body", /first invalid byte is at offset 30/);
    });
  });

  describe("every write route applies the same rule", () => {
    before(async () => {
      const published = await send("POST", "/v0.1/publish", serverJson("com.example/routes", "1.0.0"));
      assert.equal(published.statusCode, 200, published.body);
    });

    it("validate: 400, with the findings also as issues", async () => {
      const document = serverJson("com.example/v", "1.0.0", { title: "a\u0000", description: "b\udc00" });
      // Document order: serverJson writes description before title.
      const problem = assertRefused(
        await send("POST", "/v0.1/validate", document),
        "body.description",
        SURROGATE,
      );
      assert.deepEqual(
        problem.issues?.map((issue) => [issue.type, issue.path, issue.severity, issue.reference]),
        [
          ["json", "description", "error", "unpaired-surrogate"],
          ["json", "title", "error", "nul-character"],
        ],
      );
      // The generated OpenAPI document declares this shape for /validate's 400.
      const ajv = new Ajv2020({ strict: false });
      addFormats(ajv);
      ajv.addSchema((await send("GET", "/openapi.json", "")).json<object>(), "self");
      const validate = ajv.getSchema("self#/components/schemas/ValidationProblem");
      assert.ok(validate?.(problem), ajv.errorsText(validate?.errors));
      const doc = (await send("GET", "/openapi.json", "")).json<{
        paths: Record<
          string,
          { post: { responses: Record<string, { content: Record<string, { schema: unknown }> }> } }
        >;
      }>();
      assert.deepEqual(
        doc.paths["/v0.1/validate"]?.post.responses["400"]?.content["application/problem+json"]?.schema,
        {
          $ref: "#/components/schemas/ValidationProblem",
        },
      );
    });

    it("edit (PUT): 400 and the stored document unchanged", async () => {
      const url = `/v0.1/servers/${enc("com.example/routes")}/versions/1.0.0`;
      const edited = serverJson("com.example/routes", "1.0.0", { description: "new\u0000" });
      assertRefused(await send("PUT", url, edited), "body.description", NUL);
      const stored = (await send("GET", url, "")).json<{ server: { description: string } }>();
      assert.equal(stored.server.description, "Test server com.example/routes");
    });

    it("status of one version and of all versions (PATCH): 400 naming body.statusMessage", async () => {
      const change = { status: "deprecated", statusMessage: "gone\u0000" };
      const one = `/v0.1/servers/${enc("com.example/routes")}/versions/1.0.0/status`;
      assertRefused(await send("PATCH", one, change), "body.statusMessage", NUL);
      const all = `/v0.1/servers/${enc("com.example/routes")}/status`;
      assertRefused(
        await send("PATCH", all, { status: "deleted", statusMessage: "\ud800" }),
        "body.statusMessage",
        SURROGATE,
      );
      const stored = await send("GET", `/v0.1/servers/${enc("com.example/routes")}/versions/1.0.0`, "");
      assert.equal(stored.statusCode, 200, "still active");
    });

    it("auth bodies: 400 before any login work (none, dns)", async () => {
      assertRefused(
        await send("POST", "/v0.1/auth/none", raw('{"x":"', [0xfe], '"}')),
        "body.x",
        /not UTF-8/,
      );
      assertRefused(
        await send("POST", "/v0.1/auth/dns", {
          domain: "example.com\u0000",
          timestamp: "t",
          signed_timestamp: "s",
        }),
        "body.domain",
        NUL,
      );
      // The empty body mcp-publisher's `login none` sends still works.
      const login = await registry.app.inject({
        method: "POST",
        url: "/v0.1/auth/none",
        headers: { "content-type": "application/json" },
        payload: "",
      });
      assert.equal(login.statusCode, 200, login.body);
    });
  });

  describe("values the database would refuse further in", () => {
    it("a remote URL too long for the claims index: 422 naming it (was a 500 from PostgreSQL)", async () => {
      const url = `https://long.example.com/${"x".repeat(2100)}`;
      const document = serverJson("com.example/long-url", "1.0.0", { remotes: [{ type: "sse", url }] });
      const response = await send("POST", "/v0.1/publish", document);
      assert.equal(response.statusCode, 422, response.body);
      assert.equal(response.json<Problem>().errors?.[0]?.location, "body.remotes[0].url");
      assert.match(response.json<Problem>().errors?.[0]?.message ?? "", /at most 2048 bytes/);
    });

    it("a crafted cursor holding a NUL: 400 naming query.cursor (was a 500 from PostgreSQL)", async () => {
      const cursor = Buffer.from(JSON.stringify(["l", "com.example/a\u0000", "1"])).toString("base64url");
      const response = await send("GET", `/v0.1/servers?cursor=${cursor}`, "");
      assert.equal(response.statusCode, 400, response.body);
      assert.equal(response.json<Problem>().errors?.[0]?.location, "query.cursor");
    });

    it("a raw NUL byte is still malformed JSON (400), as before", async () => {
      const response = await send("POST", "/v0.1/publish", raw('{"name":"a', [0], '"}'));
      assert.equal(response.statusCode, 400);
      assert.equal(response.json<Problem>().errors?.[0]?.location, "body");
    });
  });
});
