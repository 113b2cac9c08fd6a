import assert from "node:assert/strict";
import type { InjectOptions, LightMyRequestResponse } from "fastify";
import { parse as parseYaml } from "yaml";
import { corsMethods } from "../../src/http/cors";
import type { Problem, Validation } from "../support/answers";
import { bearer, serverJson, testRegistry, type TestRegistry } from "../support/registry";

interface List {
  servers: Array<{ server: { name: string; version: string } }>;
  metadata: { nextCursor?: string; count: number };
}

const enc = encodeURIComponent;
const TRUE_WORDS = ["1", "t", "T", "TRUE", "true", "True"];
const FALSE_WORDS = ["0", "f", "F", "FALSE", "false", "False"];

/** What the official registry does and this one now does too (issue 11, items 1-5). */
describe("http: interoperability with the official registry's behaviour", function () {
  this.timeout(60_000);
  let registry: TestRegistry;
  let token: string;

  const call = (options: InjectOptions): Promise<LightMyRequestResponse> => registry.app.inject(options);
  const get = (url: string) => call({ method: "GET", url });
  const publish = (document: Record<string, unknown>) =>
    call({ method: "POST", url: "/v0.1/publish", headers: bearer(token), payload: document });
  const names = async (url: string) => {
    const response = await get(url);
    assert.equal(response.statusCode, 200, `${url}: ${response.body}`);
    return response.json<List>().servers.map((entry) => `${entry.server.name}@${entry.server.version}`);
  };

  before(async () => {
    registry = await testRegistry("interop");
    token = await registry.token([{ action: "publish", resource: "com.example/*" }]);
    for (const [name, version] of [
      ["com.example/one", "1.0.0"],
      ["com.example/one", "1.1.0"],
      ["com.example/two", "1.0.0"],
      ["com.example/gone", "1.0.0"],
    ] as const) {
      const response = await publish(
        serverJson(name, version, {
          remotes:
            name === "com.example/two" ? [{ type: "sse", url: "https://mcp.example.com/two" }] : undefined,
        }),
      );
      assert.equal(response.statusCode, 200, response.body);
    }
    const deleted = await call({
      method: "PATCH",
      url: `/v0.1/servers/${enc("com.example/gone")}/versions/1.0.0/status`,
      headers: bearer(token),
      payload: { status: "deleted" },
    });
    assert.equal(deleted.statusCode, 200, deleted.body);
  });
  after(() => registry.close());

  describe("1. empty query values mean absent", () => {
    it("cursor=, limit=, version=, updated_since=, include_deleted= and search= answer as if absent", async () => {
      const plain = await names("/v0.1/servers");
      assert.deepEqual(plain, ["com.example/one@1.0.0", "com.example/one@1.1.0", "com.example/two@1.0.0"]);
      assert.deepEqual(
        await names("/v0.1/servers?cursor=&limit=&version=&updated_since=&include_deleted=&search="),
        plain,
      );
      for (const parameter of ["cursor", "limit", "version", "updated_since", "include_deleted"]) {
        assert.deepEqual(await names(`/v0.1/servers?${parameter}=`), plain, parameter);
      }
      // A client that always sends &cursor= pages normally: the first page, then the cursor it got.
      const first = (await get("/v0.1/servers?limit=2&cursor=")).json<List>();
      assert.equal(first.servers.length, 2);
      assert.ok(first.metadata.nextCursor);
      assert.deepEqual(await names(`/v0.1/servers?limit=2&cursor=${enc(first.metadata.nextCursor)}`), [
        "com.example/two@1.0.0",
      ]);
      const path = `/v0.1/servers/${enc("com.example/one")}/versions`;
      assert.deepEqual(await names(`${path}?include_deleted=`), await names(path));
      assert.equal((await get(`${path}/1.0.0?include_deleted=`)).statusCode, 200);
    });

    it("an empty updated_since does not imply include_deleted, and non-empty bad values are still 400", async () => {
      assert.ok(!(await names("/v0.1/servers?updated_since=")).includes("com.example/gone@1.0.0"));
      for (const [query, location] of [
        ["limit=0", "query.limit"],
        ["limit=%20", "query.limit"],
        ["updated_since=yesterday", "query.updated_since"],
      ]) {
        const response = await get(`/v0.1/servers?${query}`);
        assert.equal(response.statusCode, 400, query);
        assert.equal(response.json<Problem>().errors?.[0]?.location, location);
      }
    });
  });

  describe("2. include_deleted takes what Go's strconv.ParseBool takes", () => {
    it("1, t, T, TRUE, true and True include deleted versions; 0, f, F, FALSE, false and False do not", async () => {
      const gone = `/v0.1/servers/${enc("com.example/gone")}/versions/1.0.0`;
      for (const word of TRUE_WORDS) {
        assert.ok(
          (await names(`/v0.1/servers?include_deleted=${word}`)).includes("com.example/gone@1.0.0"),
          word,
        );
        assert.equal((await get(`${gone}?include_deleted=${word}`)).statusCode, 200, word);
        assert.equal(
          (await get(`/v0.1/servers/${enc("com.example/gone")}/versions?include_deleted=${word}`)).statusCode,
          200,
        );
      }
      for (const word of FALSE_WORDS) {
        assert.ok(
          !(await names(`/v0.1/servers?include_deleted=${word}`)).includes("com.example/gone@1.0.0"),
          word,
        );
        assert.equal((await get(`${gone}?include_deleted=${word}`)).statusCode, 404, word);
      }
    });

    it("refuses every other spelling with a 400 naming query.include_deleted", async () => {
      for (const word of ["yes", "no", "on", "2", "tRUE", "y", "%20true"]) {
        for (const url of [
          `/v0.1/servers?include_deleted=${word}`,
          `/v0/servers/${enc("com.example/one")}/versions?include_deleted=${word}`,
          `/v0.1/servers/${enc("com.example/one")}/versions/1.0.0?include_deleted=${word}`,
        ]) {
          const response = await get(url);
          assert.equal(response.statusCode, 400, url);
          const problem = response.json<Problem>();
          assert.equal(problem.errors?.[0]?.location, "query.include_deleted");
          assert.match(
            problem.detail,
            /expected a boolean \(1, t, T, TRUE, true, True, 0, f, F, FALSE, false, False\)/,
          );
        }
      }
      const contradiction = await get("/v0.1/servers?updated_since=2025-01-01T00:00:00Z&include_deleted=F");
      assert.equal(contradiction.statusCode, 400);
      assert.equal(contradiction.json<Problem>().errors?.[0]?.location, "query.include_deleted");
      assert.ok(
        (await names("/v0.1/servers?updated_since=2025-01-01T00:00:00Z&include_deleted=T")).length > 0,
      );
    });
  });

  describe("3. /validate keeps database findings as warnings; /publish refuses them", () => {
    it("an already-published version is valid with a warning of type registry, and publishing it is a 409", async () => {
      const document = serverJson("com.example/one", "1.1.0");
      const validation = await call({ method: "POST", url: "/v0.1/validate", payload: document });
      assert.equal(validation.statusCode, 200);
      const result = validation.json<Validation>();
      assert.equal(result.valid, true);
      const warning = result.issues.find((issue) => issue.reference === "duplicate-version");
      assert.deepEqual(
        { type: warning?.type, severity: warning?.severity, path: warning?.path },
        { type: "registry", severity: "warning", path: "version" },
      );
      const refused = await publish(document);
      assert.equal(refused.statusCode, 409);
      assert.equal(refused.json<Problem>().errors?.[0]?.location, "body.version");
    });

    it("a remote URL of another name is a warning on /validate and a 409 on /publish; schema errors stay errors", async () => {
      const document = serverJson("com.example/three", "1.0.0", {
        remotes: [{ type: "sse", url: "https://MCP.example.com/two" }],
      });
      const result = (
        await call({ method: "POST", url: "/v0.1/validate", payload: document })
      ).json<Validation>();
      assert.equal(result.valid, true);
      assert.ok(
        result.issues.some(
          (issue) =>
            issue.reference === "remote-url-taken" &&
            issue.severity === "warning" &&
            issue.path === "remotes[0].url",
        ),
      );
      assert.equal((await publish(document)).statusCode, 409);
      const invalid = (
        await call({ method: "POST", url: "/v0.1/validate", payload: { ...document, version: "^1.0.0" } })
      ).json<Validation>();
      assert.equal(invalid.valid, false);
      assert.equal(invalid.issues[0]?.severity, "error", "errors come first");
    });
  });

  describe("4. GET /openapi.yaml", () => {
    it("serves the same generated document as /openapi.json, as YAML, at the root, /v0 and /v0.1", async () => {
      const fromJson = (await get("/openapi.json")).json<{ paths: Record<string, unknown> }>();
      assert.ok(fromJson.paths["/openapi.yaml"], "the document lists itself as YAML too");
      for (const prefix of ["", "/v0", "/v0.1"]) {
        const response = await get(`${prefix}/openapi.yaml`);
        assert.equal(response.statusCode, 200);
        assert.match(String(response.headers["content-type"]), /^application\/yaml/);
        assert.match(response.body, /^openapi: 3\.1\.0$/m);
        assert.ok(!/^\s*\S+: [&*]a\d+/m.test(response.body), "no YAML anchors or aliases");
        assert.deepEqual(parseYaml(response.body), fromJson);
      }
    });
  });

  describe("5. CORS: any origin, per-route methods, no credentials", () => {
    const preflight = (url: string, method: string, headers = "authorization, content-type") =>
      call({
        method: "OPTIONS",
        url,
        headers: {
          origin: "https://publisher.example",
          "access-control-request-method": method,
          ...(headers !== "" && { "access-control-request-headers": headers }),
        },
      });

    const version = `/v0.1/servers/${enc("com.example/one")}/versions/1.0.0`;
    const allowed: Array<[string, string]> = [
      ["/v0.1/publish", "POST"],
      ["/v0/publish", "POST"],
      ["/v0.1/validate", "POST"],
      ["/v0.1/auth/none", "POST"],
      ["/v0.1/auth/github-oidc", "POST"],
      [version, "PUT"],
      [version, "GET"],
      [`${version}/status`, "PATCH"],
      [`/v0.1/servers/${enc("com.example/one")}/status`, "PATCH"],
      ["/v0.1/servers", "GET"],
    ];
    for (const [url, method] of allowed) {
      it(`allows ${method} ${url} with Authorization and Content-Type`, async () => {
        const response = await preflight(url, method);
        assert.equal(response.statusCode, 204, response.body);
        assert.equal(response.headers["access-control-allow-origin"], "*");
        assert.ok(String(response.headers["access-control-allow-methods"]).split(", ").includes(method));
        assert.match(String(response.headers["access-control-allow-headers"]), /Authorization/);
        assert.match(String(response.headers["access-control-allow-headers"]), /Content-Type/);
        assert.equal(
          response.headers["access-control-allow-credentials"],
          undefined,
          "never credentials mode",
        );
      });
    }

    const refused: Array<[string, string, string, RegExp]> = [
      ["/v0.1/servers", "POST", "content-type", /method POST \(this path takes GET, HEAD, OPTIONS\)/],
      ["/v0.1/publish", "PUT", "content-type", /method PUT/],
      [version, "PATCH", "content-type", /method PATCH/],
      [version, "DELETE", "", /method DELETE/],
      [`${version}/status`, "PUT", "content-type", /method PUT/],
      [
        "/v0.1/publish",
        "POST",
        "authorization, x-debug",
        /header x-debug \(allowed: Authorization, Content-Type/,
      ],
      ["/v0.1/publish", "POST", "cookie", /header cookie/],
    ];
    for (const [url, method, headers, reason] of refused) {
      it(`refuses ${method} ${url}${headers === "" ? "" : ` with ${headers}`}`, async () => {
        const response = await preflight(url, method, headers);
        assert.equal(response.statusCode, 403, response.body);
        assert.equal(response.headers["access-control-allow-origin"], undefined);
        assert.match(response.json<Problem>().detail, reason);
      });
    }

    it("matches the generated OpenAPI document: every documented write method is allowed on its path", async () => {
      const doc = (await get("/openapi.json")).json<{ paths: Record<string, Record<string, unknown>> }>();
      for (const [template, operations] of Object.entries(doc.paths)) {
        const path = template.replace("{serverName}", enc("com.example/one")).replace("{version}", "1.0.0");
        for (const method of Object.keys(operations).filter((m) => m !== "delete")) {
          assert.ok(corsMethods(path).includes(method.toUpperCase()), `${method.toUpperCase()} ${template}`);
          assert.equal(
            (await preflight(path, method.toUpperCase())).statusCode,
            204,
            `${method} ${template}`,
          );
        }
      }
    });

    it("answers the actual cross-origin POST with Access-Control-Allow-Origin: *, problems included", async () => {
      const origin = { origin: "https://publisher.example" };
      const validation = await call({
        method: "POST",
        url: "/v0.1/validate",
        headers: origin,
        payload: serverJson("com.example/cors", "1.0.0"),
      });
      assert.equal(validation.headers["access-control-allow-origin"], "*");
      const unauthorized = await call({
        method: "POST",
        url: "/v0.1/publish",
        headers: origin,
        payload: serverJson("com.example/cors", "1.0.0"),
      });
      assert.equal(unauthorized.statusCode, 401);
      assert.equal(unauthorized.headers["access-control-allow-origin"], "*");
      assert.match(String(unauthorized.headers["access-control-expose-headers"]), /x-request-id/);
      // A plain OPTIONS (no preflight) lists the path's methods.
      const plain = await call({ method: "OPTIONS", url: "/v0.1/publish" });
      assert.equal(plain.statusCode, 204);
      assert.equal(plain.headers.allow, "POST, OPTIONS");
    });
  });
});
