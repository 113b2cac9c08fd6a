import assert from "node:assert/strict";
import Ajv2020 from "ajv/dist/2020";
import addFormats from "ajv-formats";
import type { InjectOptions, LightMyRequestResponse } from "fastify";
import {
  assertConformsToSpec,
  assertValidServerJson,
  conformanceAvailable,
  specOperations,
} from "../support/conformance";
import { bearer, serverJson, testRegistry, type TestRegistry } from "../support/registry";

interface Entry {
  server: { name: string; version: string; description: string; title?: string };
  _meta: {
    "io.modelcontextprotocol.registry/official": {
      status: string;
      statusMessage?: string;
      isLatest: boolean;
      publishedAt: string;
      updatedAt: string;
      statusChangedAt: string;
    };
  };
}
interface List {
  servers: Entry[];
  metadata: { nextCursor?: string; count: number };
}
interface Problem {
  title: string;
  status: number;
  detail: string;
  errors?: Array<{ location: string; message: string }>;
}

function skipWithoutConformance(context: Mocha.Context): void {
  console.warn("    (skipped: ../shared/conformance is absent)");
  context.skip();
}

const official = (entry: Entry) => entry._meta["io.modelcontextprotocol.registry/official"];
const enc = encodeURIComponent;

describe("http: the registry API", function () {
  let registry: TestRegistry;
  let publishToken: string;
  let strangerToken: string;
  let adminToken: string;

  /** Injects a request; checks every JSON 2xx answer against openapi.yaml and every error's problem+json shape. */
  async function call(options: InjectOptions): Promise<LightMyRequestResponse> {
    const response = await registry.app.inject(options);
    const type = String(response.headers["content-type"] ?? "");
    if (response.statusCode >= 400) {
      assert.match(type, /^application\/problem\+json/, `${options.method} ${options.url}: ${response.body}`);
      const problem = response.json<Problem>();
      assert.equal(problem.status, response.statusCode);
      assert.equal(typeof problem.title, "string");
      assert.equal(typeof problem.detail, "string");
    } else if (type.startsWith("application/json") && options.method !== "HEAD") {
      assertConformsToSpec(
        String(options.method ?? "GET"),
        String(options.url),
        response.statusCode,
        response.json(),
      );
    }
    return response;
  }

  async function publish(
    document: Record<string, unknown>,
    token = publishToken,
  ): Promise<LightMyRequestResponse> {
    return call({ method: "POST", url: "/v0.1/publish", headers: bearer(token), payload: document });
  }

  function problemOf(response: LightMyRequestResponse): Problem {
    return response.json<Problem>();
  }

  before(async () => {
    registry = await testRegistry("api", { MCP_REGISTRY_BODY_LIMIT_BYTES: "65536" });
    publishToken = await registry.token([{ action: "publish", resource: "com.example/*" }]);
    strangerToken = await registry.token([{ action: "publish", resource: "org.other/*" }]);
    adminToken = await registry.token([{ action: "publish", resource: "*" }]);
    for (const [name, versions] of [
      ["com.example/alpha", ["1.0.0", "1.1.0", "2.0.0"]],
      ["com.example/beta", ["0.1.0"]],
      ["com.example/gamma", ["3.0.0", "3.0.1"]],
    ] as const) {
      for (const version of versions) {
        const response = await publish(
          serverJson(name, version, { description: `The ${name.split("/")[1]} server` }),
        );
        assert.equal(response.statusCode, 200, response.body);
      }
    }
  });
  after(async () => registry.close());

  describe("GET /servers", () => {
    it("lists every version in (name, version) order under /v0.1 and /v0 alike", async () => {
      for (const prefix of ["/v0.1", "/v0"]) {
        const response = await call({ method: "GET", url: `${prefix}/servers` });
        assert.equal(response.statusCode, 200);
        const body = response.json<List>();
        assert.deepEqual(
          body.servers.map((entry) => `${entry.server.name}@${entry.server.version}`),
          [
            "com.example/alpha@1.0.0",
            "com.example/alpha@1.1.0",
            "com.example/alpha@2.0.0",
            "com.example/beta@0.1.0",
            "com.example/gamma@3.0.0",
            "com.example/gamma@3.0.1",
          ],
        );
        assert.equal(body.metadata.count, 6);
        assert.equal(body.metadata.nextCursor, undefined, "no cursor when nothing follows");
        for (const entry of body.servers) assertValidServerJson(entry.server);
      }
    });

    it("pages with limit and an opaque cursor, with nextCursor only while more follow", async () => {
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const url = `/v0.1/servers?limit=4${cursor ? `&cursor=${enc(cursor)}` : ""}`;
        const body = (await call({ method: "GET", url })).json<List>();
        seen.push(...body.servers.map((entry) => `${entry.server.name}@${entry.server.version}`));
        cursor = body.metadata.nextCursor;
        pages += 1;
      } while (cursor);
      assert.equal(pages, 2);
      assert.equal(seen.length, 6);
      assert.equal(new Set(seen).size, 6);
    });

    it("filters version=latest and an exact version", async () => {
      const latest = (await call({ method: "GET", url: "/v0.1/servers?version=latest" })).json<List>();
      assert.deepEqual(
        latest.servers.map((entry) => `${entry.server.name}@${entry.server.version}`),
        ["com.example/alpha@2.0.0", "com.example/beta@0.1.0", "com.example/gamma@3.0.1"],
      );
      assert.ok(latest.servers.every((entry) => official(entry).isLatest));
      const exact = (await call({ method: "GET", url: "/v0.1/servers?version=1.1.0" })).json<List>();
      assert.deepEqual(
        exact.servers.map((entry) => entry.server.name),
        ["com.example/alpha"],
      );
    });

    it("hides deleted versions unless include_deleted=true; updated_since implies it", async () => {
      const since = new Date(Date.now() - 60_000).toISOString();
      const token = await registry.token([{ action: "edit", resource: "com.example/beta" }]);
      const deleted = await call({
        method: "PATCH",
        url: `/v0.1/servers/${enc("com.example/beta")}/versions/0.1.0/status`,
        headers: bearer(token),
        payload: { status: "deleted", statusMessage: "withdrawn" },
      });
      assert.equal(deleted.statusCode, 200, deleted.body);
      const names = (url: string) =>
        call({ method: "GET", url }).then((r) => r.json<List>().servers.map((entry) => entry.server.name));
      assert.ok(!(await names("/v0.1/servers")).includes("com.example/beta"));
      assert.ok((await names("/v0.1/servers?include_deleted=true")).includes("com.example/beta"));
      assert.ok((await names(`/v0.1/servers?updated_since=${enc(since)}`)).includes("com.example/beta"));
      const future = new Date(Date.now() + 60_000).toISOString();
      assert.deepEqual(await names(`/v0.1/servers?updated_since=${enc(future)}`), []);
      const restored = await call({
        method: "PATCH",
        url: `/v0.1/servers/${enc("com.example/beta")}/versions/0.1.0/status`,
        headers: bearer(token),
        payload: { status: "active" },
      });
      assert.equal(restored.statusCode, 200, restored.body);
      assert.equal(official(restored.json<Entry>()).statusMessage, undefined);
    });

    const badQueries: Array<[string, string]> = [
      ["limit=0", "query.limit"],
      ["limit=101", "query.limit"],
      ["limit=ten", "query.limit"],
      ["updated_since=yesterday", "query.updated_since"],
      ["updated_since=2025-01-01T00:00:00Z&include_deleted=false", "query.include_deleted"],
      ["include_deleted=maybe", "query.include_deleted"],
      ["cursor=not-a-cursor", "query.cursor"],
    ];
    for (const [query, location] of badQueries) {
      it(`answers 400 naming ${location} for ${query}`, async () => {
        const response = await call({ method: "GET", url: `/v0.1/servers?${query}` });
        assert.equal(response.statusCode, 400);
        assert.equal(problemOf(response).errors?.[0]?.location, location);
      });
    }

    it("refuses a list cursor on a search (cursors are bound to their ordering)", async () => {
      const first = (await call({ method: "GET", url: "/v0.1/servers?limit=1" })).json<List>();
      const response = await call({
        method: "GET",
        url: `/v0.1/servers?search=alpha&cursor=${enc(first.metadata.nextCursor ?? "")}`,
      });
      assert.equal(response.statusCode, 400);
    });
  });

  describe("GET /servers/{name}/versions[/{version}]", () => {
    it("lists versions newest first, 404 for an unknown name", async () => {
      const response = await call({
        method: "GET",
        url: `/v0.1/servers/${enc("com.example/alpha")}/versions`,
      });
      assert.deepEqual(
        response.json<List>().servers.map((entry) => entry.server.version),
        ["2.0.0", "1.1.0", "1.0.0"],
      );
      const missing = await call({ method: "GET", url: `/v0.1/servers/${enc("com.example/nope")}/versions` });
      assert.equal(missing.statusCode, 404);
      assert.match(problemOf(missing).detail, /com\.example\/nope/);
    });

    it("gets an exact version, `latest`, and a version with build metadata (URL-encoded)", async () => {
      const exact = await call({
        method: "GET",
        url: `/v0/servers/${enc("com.example/alpha")}/versions/1.1.0`,
      });
      assert.equal(exact.statusCode, 200);
      assert.equal(exact.json<Entry>().server.version, "1.1.0");
      assert.equal(official(exact.json<Entry>()).isLatest, false);
      const latest = await call({
        method: "GET",
        url: `/v0.1/servers/${enc("com.example/alpha")}/versions/latest`,
      });
      assert.equal(latest.json<Entry>().server.version, "2.0.0");
      assert.equal(official(latest.json<Entry>()).isLatest, true);
      assert.equal((await publish(serverJson("com.example/built", "1.0.0+20250101"))).statusCode, 200);
      const built = await call({
        method: "GET",
        url: `/v0.1/servers/${enc("com.example/built")}/versions/${enc("1.0.0+20250101")}`,
      });
      assert.equal(built.statusCode, 200, built.body);
      const missing = await call({
        method: "GET",
        url: `/v0.1/servers/${enc("com.example/alpha")}/versions/9.9.9`,
      });
      assert.equal(missing.statusCode, 404);
    });

    it("answers an unencoded name with a 404 that explains the encoding", async () => {
      const response = await call({ method: "GET", url: "/v0.1/servers/com.example/alpha/versions/1.0.0" });
      assert.equal(response.statusCode, 404);
      assert.match(problemOf(response).detail, /URL-encoded/);
    });
  });

  describe("POST /publish", () => {
    it("stores the version and returns it with registry metadata", async () => {
      const response = await publish(
        serverJson("com.example/fresh", "1.0.0", {
          _meta: {
            "io.modelcontextprotocol.registry/publisher-provided": { tool: "ci", build: 42 },
          },
        }),
      );
      assert.equal(response.statusCode, 200);
      const entry = response.json<Entry>();
      assert.equal(entry.server.name, "com.example/fresh");
      const meta = official(entry);
      assert.equal(meta.status, "active");
      assert.equal(meta.isLatest, true);
      assert.equal(meta.publishedAt, meta.updatedAt);
      assert.deepEqual((entry.server as unknown as { _meta: unknown })._meta, {
        "io.modelcontextprotocol.registry/publisher-provided": { tool: "ci", build: 42 },
      });
    });

    it("401 without a token or with a bad one, 403 outside the token's namespaces", async () => {
      const document = serverJson("com.example/auth", "1.0.0");
      const none = await call({ method: "POST", url: "/v0.1/publish", payload: document });
      assert.equal(none.statusCode, 401);
      assert.ok(none.headers["www-authenticate"]);
      const bad = await call({
        method: "POST",
        url: "/v0.1/publish",
        headers: bearer("abc.def.ghi"),
        payload: document,
      });
      assert.equal(bad.statusCode, 401);
      const forbidden = await publish(document, strangerToken);
      assert.equal(forbidden.statusCode, 403);
      assert.match(problemOf(forbidden).detail, /org\.other\/\*/);
    });

    it("409 for a duplicate version", async () => {
      const response = await publish(serverJson("com.example/alpha", "1.0.0"));
      assert.equal(response.statusCode, 409);
      assert.equal(problemOf(response).errors?.[0]?.location, "body.version");
    });

    it("400 for malformed JSON, 415 for another media type, 413 above the body limit", async () => {
      const malformed = await call({
        method: "POST",
        url: "/v0.1/publish",
        headers: { ...bearer(publishToken), "content-type": "application/json" },
        payload: '{"name": "com.example/x",',
      });
      assert.equal(malformed.statusCode, 400);
      assert.equal(problemOf(malformed).errors?.[0]?.location, "body");
      const text = await call({
        method: "POST",
        url: "/v0.1/publish",
        headers: { ...bearer(publishToken), "content-type": "text/plain" },
        payload: "hello",
      });
      assert.equal(text.statusCode, 415);
      const huge = await publish(
        serverJson("com.example/huge", "1.0.0", { description: "x".repeat(70_000) }),
      );
      assert.equal(huge.statusCode, 413);
      assert.match(problemOf(huge).detail, /65536 bytes/);
    });
  });

  describe("validation rules (each with a failing example, 422 naming the field)", () => {
    const tooBigMeta = { "io.modelcontextprotocol.registry/publisher-provided": { blob: "x".repeat(5000) } };
    const rules: Array<[string, Record<string, unknown>, RegExp]> = [
      ["name pattern", serverJson("com.example/bad name", "1.0.0"), /^body\.name$/],
      ["name without a namespace", serverJson("com.example", "1.0.0"), /^body\.name$/],
      ["name over 200 characters", serverJson(`com.example/${"n".repeat(200)}`, "1.0.0"), /^body\.name$/],
      [
        "description over 100 characters",
        serverJson("com.example/d", "1.0.0", { description: "d".repeat(101) }),
        /^body\.description$/,
      ],
      [
        "version over 255 characters",
        serverJson("com.example/v", `1.0.0-${"a".repeat(255)}`),
        /^body\.version$/,
      ],
      ["version latest", serverJson("com.example/v", "latest"), /^body\.version$/],
      ["version range ^", serverJson("com.example/v", "^1.2.3"), /^body\.version$/],
      ["version range ~", serverJson("com.example/v", "~1.2.3"), /^body\.version$/],
      ["version range >=", serverJson("com.example/v", ">=1.2.3"), /^body\.version$/],
      ["version range <", serverJson("com.example/v", "<2.0.0"), /^body\.version$/],
      ["version wildcard x", serverJson("com.example/v", "1.x"), /^body\.version$/],
      ["version wildcard *", serverJson("com.example/v", "1.*"), /^body\.version$/],
      ["hyphen range", serverJson("com.example/v", "1.0.0 - 2.0.0"), /^body\.version$/],
      ["|| range", serverJson("com.example/v", "1.0.0 || 2.0.0"), /^body\.version$/],
      [
        "package registryType",
        serverJson("com.example/p", "1.0.0", {
          packages: [
            { registryType: "maven", identifier: "x", version: "1.0.0", transport: { type: "stdio" } },
          ],
        }),
        /^body\.packages\[0\]\.registryType$/,
      ],
      [
        "transport type",
        serverJson("com.example/p", "1.0.0", {
          packages: [
            { registryType: "npm", identifier: "x", version: "1.0.0", transport: { type: "websocket" } },
          ],
        }),
        /^body\.packages\[0\]\.transport/,
      ],
      [
        "remote URL placeholder without a variable",
        serverJson("com.example/r", "1.0.0", {
          remotes: [{ type: "streamable-http", url: "https://{tenant}.example.com/mcp" }],
        }),
        /^body\.remotes\[0\]\.url$/,
      ],
      [
        "publisher _meta over 4 KB",
        serverJson("com.example/m", "1.0.0", { _meta: tooBigMeta }),
        /^body\._meta/,
      ],
    ];
    for (const [rule, document, location] of rules) {
      it(rule, async () => {
        const response = await publish(document, adminToken);
        assert.equal(response.statusCode, 422, response.body);
        const problem = problemOf(response);
        assert.ok(
          problem.errors?.some((error) => location.test(error.location)),
          `expected an error at ${location}, got ${JSON.stringify(problem.errors)}`,
        );
        const validation = await call({ method: "POST", url: "/v0.1/validate", payload: document });
        assert.equal(validation.statusCode, 200);
        assert.equal(validation.json<{ valid: boolean }>().valid, false);
      });
    }

    it("a remote URL used by another name is a 409 naming the remote", async () => {
      const url = "https://mcp.example.com/shared";
      assert.equal(
        (await publish(serverJson("com.example/first", "1.0.0", { remotes: [{ type: "sse", url }] })))
          .statusCode,
        200,
      );
      const second = await publish(
        serverJson("com.example/second", "1.0.0", { remotes: [{ type: "sse", url }] }),
      );
      assert.equal(second.statusCode, 409);
      assert.equal(problemOf(second).errors?.[0]?.location, "body.remotes[0].url");
    });

    it("drops _meta keys other than publisher-provided, never accepting the registry's own", async () => {
      const response = await publish(
        serverJson("com.example/meta", "1.0.0", {
          _meta: {
            "io.modelcontextprotocol.registry/official": { isLatest: false, status: "deleted" },
            "com.vendor/extra": { a: 1 },
          },
        }),
      );
      assert.ok([200, 422].includes(response.statusCode), response.body);
      if (response.statusCode === 200) {
        const server = response.json<Entry>().server as unknown as { _meta?: Record<string, unknown> };
        assert.equal(server._meta?.["io.modelcontextprotocol.registry/official"], undefined);
        assert.equal(server._meta?.["com.vendor/extra"], undefined);
        assert.equal(official(response.json<Entry>()).isLatest, true);
      }
    });

    it("accepts an older $schema with a warning", async () => {
      const older = serverJson("com.example/older", "1.0.0", {
        $schema: "https://static.modelcontextprotocol.io/schemas/2025-07-09/server.schema.json",
      });
      const validation = await call({ method: "POST", url: "/v0.1/validate", payload: older });
      const result = validation.json<{ valid: boolean; issues: Array<{ severity: string; path: string }> }>();
      assert.equal(result.valid, true);
      assert.ok(result.issues.some((issue) => issue.severity === "warning" && issue.path === "$schema"));
      assert.equal((await publish(older)).statusCode, 200);
    });
  });

  describe("PUT /servers/{name}/versions/{version}", () => {
    const url = `/v0.1/servers/${enc("com.example/gamma")}/versions/3.0.0`;

    it("edits with edit permission or publish permission on the name", async () => {
      const editor = await registry.token([{ action: "edit", resource: "com.example/gamma" }]);
      const response = await call({
        method: "PUT",
        url,
        headers: bearer(editor),
        payload: serverJson("com.example/gamma", "3.0.0", { description: "Edited gamma", title: "Gamma" }),
      });
      assert.equal(response.statusCode, 200, response.body);
      assert.equal(response.json<Entry>().server.title, "Gamma");
      const reread = await call({ method: "GET", url });
      assert.equal(reread.json<Entry>().server.description, "Edited gamma");
    });

    it("401, 403, 400 (rename, version mismatch), 404 and 422", async () => {
      const body = serverJson("com.example/gamma", "3.0.0");
      assert.equal((await call({ method: "PUT", url, payload: body })).statusCode, 401);
      assert.equal(
        (await call({ method: "PUT", url, headers: bearer(strangerToken), payload: body })).statusCode,
        403,
      );
      const renamed = await call({
        method: "PUT",
        url,
        headers: bearer(publishToken),
        payload: serverJson("com.example/renamed", "3.0.0"),
      });
      assert.equal(renamed.statusCode, 400);
      assert.equal(problemOf(renamed).errors?.[0]?.location, "body.name");
      const moved = await call({
        method: "PUT",
        url,
        headers: bearer(publishToken),
        payload: serverJson("com.example/gamma", "3.0.1"),
      });
      assert.equal(moved.statusCode, 400);
      const missing = await call({
        method: "PUT",
        url: `/v0.1/servers/${enc("com.example/gamma")}/versions/4.0.0`,
        headers: bearer(publishToken),
        payload: serverJson("com.example/gamma", "4.0.0"),
      });
      assert.equal(missing.statusCode, 404);
      const invalid = await call({
        method: "PUT",
        url,
        headers: bearer(publishToken),
        payload: { ...body, description: "" },
      });
      assert.equal(invalid.statusCode, 422);
    });

    it("DELETE is not supported: 501 pointing to the status change", async () => {
      const response = await call({ method: "DELETE", url, headers: bearer(publishToken) });
      assert.equal(response.statusCode, 501);
      assert.match(problemOf(response).detail, /status/);
    });
  });

  describe("PATCH status", () => {
    const name = "com.example/alpha";

    it("changes one version and recomputes latest", async () => {
      const response = await call({
        method: "PATCH",
        url: `/v0.1/servers/${enc(name)}/versions/2.0.0/status`,
        headers: bearer(publishToken),
        payload: { status: "deprecated", statusMessage: "Please move to 3.x" },
      });
      assert.equal(response.statusCode, 200, response.body);
      const entry = response.json<Entry>();
      assert.equal(official(entry).status, "deprecated");
      assert.equal(official(entry).statusMessage, "Please move to 3.x");
      assert.equal(official(entry).isLatest, true, "deprecated stays latest");
    });

    it("400 for a body that names a bad field, a message with active, or no change", async () => {
      const url = `/v0.1/servers/${enc(name)}/versions/1.0.0/status`;
      const bad = await call({
        method: "PATCH",
        url,
        headers: bearer(publishToken),
        payload: { status: "gone" },
      });
      assert.equal(bad.statusCode, 400);
      assert.equal(problemOf(bad).errors?.[0]?.location, "body.status");
      const extra = await call({
        method: "PATCH",
        url,
        headers: bearer(publishToken),
        payload: { status: "deleted", reason: "x" },
      });
      assert.equal(extra.statusCode, 400);
      const long = await call({
        method: "PATCH",
        url,
        headers: bearer(publishToken),
        payload: { status: "deleted", statusMessage: "m".repeat(501) },
      });
      assert.equal(long.statusCode, 400);
      assert.equal(problemOf(long).errors?.[0]?.location, "body.statusMessage");
      const active = await call({
        method: "PATCH",
        url,
        headers: bearer(publishToken),
        payload: { status: "active", statusMessage: "x" },
      });
      assert.equal(active.statusCode, 400);
      const noop = await call({
        method: "PATCH",
        url,
        headers: bearer(publishToken),
        payload: { status: "active" },
      });
      assert.equal(noop.statusCode, 400);
      assert.match(problemOf(noop).detail, /No changes/);
      assert.equal((await call({ method: "PATCH", url, payload: { status: "deleted" } })).statusCode, 401);
      assert.equal(
        (await call({ method: "PATCH", url, headers: bearer(strangerToken), payload: { status: "deleted" } }))
          .statusCode,
        403,
      );
      const missing = await call({
        method: "PATCH",
        url: `/v0.1/servers/${enc(name)}/versions/0.0.0/status`,
        headers: bearer(publishToken),
        payload: { status: "deleted" },
      });
      assert.equal(missing.statusCode, 404);
    });

    it("changes all versions in one request", async () => {
      const response = await call({
        method: "PATCH",
        url: `/v0.1/servers/${enc(name)}/status`,
        headers: bearer(publishToken),
        payload: { status: "deprecated", statusMessage: "Unmaintained" },
      });
      assert.equal(response.statusCode, 200, response.body);
      const body = response.json<{ updatedCount: number; servers: Entry[] }>();
      assert.equal(body.updatedCount, 3);
      assert.ok(body.servers.every((entry) => official(entry).statusMessage === "Unmaintained"));
      const missing = await call({
        method: "PATCH",
        url: `/v0.1/servers/${enc("com.example/absent")}/status`,
        headers: bearer(publishToken),
        payload: { status: "deleted" },
      });
      assert.equal(missing.statusCode, 404);
    });
  });

  describe("operational endpoints", () => {
    it("health, ping and version at the root and under both prefixes", async () => {
      for (const prefix of ["", "/v0", "/v0.1"]) {
        const health = await call({ method: "GET", url: `${prefix}/health` });
        assert.deepEqual(health.json(), { status: "ok", github_client_id: "" });
        assert.deepEqual((await call({ method: "GET", url: `${prefix}/ping` })).json(), { pong: true });
        assert.deepEqual((await call({ method: "GET", url: `${prefix}/version` })).json(), {
          version: "9.9.9-test",
          git_commit: "abc123",
          build_time: "2026-01-01T00:00:00Z",
        });
      }
    });

    it("livez never needs the database; readyz checks it", async () => {
      assert.deepEqual((await call({ method: "GET", url: "/livez" })).json(), { status: "ok" });
      assert.deepEqual((await call({ method: "GET", url: "/readyz" })).json(), { status: "ok" });
    });

    it("serves Prometheus metrics with request, publish, validation and pool series", async () => {
      const response = await call({ method: "GET", url: "/metrics" });
      assert.equal(response.statusCode, 200);
      assert.match(String(response.headers["content-type"]), /^text\/plain/);
      const text = response.body;
      assert.match(
        text,
        /mcp_registry_http_requests_total\{method="GET",route="\/v0\.1\/servers",status="200"\} \d+/,
      );
      assert.match(
        text,
        /mcp_registry_http_request_duration_seconds_bucket\{le="0\.5",method="GET",route="\/v0\.1\/servers",status="200"\}/,
      );
      assert.match(text, /mcp_registry_http_requests_total\{method="GET",route="unmatched",status="404"\}/);
      assert.match(text, /mcp_registry_publish_total\{outcome="success"\} \d+/);
      assert.match(text, /mcp_registry_publish_total\{outcome="rejected"\} \d+/);
      assert.match(text, /mcp_registry_validation_total\{outcome="invalid"\} \d+/);
      assert.match(text, /mcp_registry_db_pool_max_connections 5/);
      assert.match(text, /mcp_registry_db_pool_connections \d+/);
    });

    it("serves an OpenAPI 3.1 document covering every path of the conformance spec, and a viewer", async () => {
      const doc = (await call({ method: "GET", url: "/openapi.json" })).json<{
        openapi: string;
        paths: Record<string, Record<string, unknown>>;
        components: { schemas: Record<string, unknown> };
      }>();
      assert.equal(doc.openapi, "3.1.0");
      for (const path of [
        "/v0.1/servers",
        "/v0.1/servers/{serverName}/versions",
        "/v0.1/servers/{serverName}/versions/{version}",
        "/v0.1/servers/{serverName}/versions/{version}/status",
        "/v0.1/servers/{serverName}/status",
        "/v0.1/publish",
        "/v0.1/validate",
        "/v0.1/auth/dns",
        "/v0.1/health",
      ]) {
        assert.ok(doc.paths[path], `${path} is documented`);
      }
      for (const schema of [
        "ServerDetail",
        "ServerResponse",
        "ServerList",
        "StatusUpdateRequest",
        "Problem",
      ]) {
        assert.ok(doc.components.schemas[schema], `${schema} is a component`);
      }
      const html = await call({ method: "GET", url: "/docs" });
      assert.equal(html.statusCode, 200);
      assert.match(html.body, /<script src="docs\/viewer\.js"><\/script>/);
      assert.doesNotMatch(
        html.body,
        /https?:\/\/(?!static\.modelcontextprotocol)[^"]*\.(js|css)/,
        "no CDN assets",
      );
      const script = await call({ method: "GET", url: "/v0.1/docs/viewer.js" });
      assert.match(String(script.headers["content-type"]), /javascript/);
      assert.match(script.body, /openapi\.json/);
    });
  });

  describe("the conformance contract", () => {
    it("has a route for every operation of openapi.yaml, under /v0.1 and /v0", function () {
      if (!conformanceAvailable) skipWithoutConformance(this);
      const operations = specOperations();
      assert.ok(operations.length >= 7);
      for (const { path, method } of operations) {
        for (const prefix of ["/v0.1", "/v0"]) {
          const url = path.replace(/^\/v0\.1/, prefix).replace(/\{(\w+)\}/g, ":$1");
          assert.ok(
            registry.app.hasRoute({ method: method.toUpperCase() as "GET", url }),
            `${method} ${url}`,
          );
        }
      }
    });

    it("answers with the shapes its own generated document declares", async () => {
      const doc = (await call({ method: "GET", url: "/openapi.json" })).json<Record<string, unknown>>();
      const ajv = new Ajv2020({ strict: false, allErrors: true });
      addFormats(ajv);
      ajv.addSchema(doc, "self");
      const check = (schema: string, value: unknown) => {
        const validate = ajv.getSchema(`self#/components/schemas/${schema}`);
        assert.ok(validate, schema);
        assert.ok(validate(value), `${schema}: ${ajv.errorsText(validate.errors)}`);
      };
      check("ServerList", (await call({ method: "GET", url: "/v0.1/servers?limit=3" })).json());
      const name = encodeURIComponent("com.example/alpha");
      check(
        "ServerResponse",
        (await call({ method: "GET", url: `/v0.1/servers/${name}/versions/latest` })).json(),
      );
      check("Health", (await call({ method: "GET", url: "/health" })).json());
      check("Version", (await call({ method: "GET", url: "/version" })).json());
      check("Problem", (await call({ method: "GET", url: "/nowhere" })).json());
      check(
        "ValidationResult",
        (await call({ method: "POST", url: "/v0.1/validate", payload: { name: "x" } })).json(),
      );
    });

    it("really checks responses against openapi.yaml (and would catch a wrong shape)", async function () {
      if (!conformanceAvailable) skipWithoutConformance(this);
      const list = (await call({ method: "GET", url: "/v0.1/servers?limit=1" })).json<List>();
      assert.equal(assertConformsToSpec("GET", "/v0.1/servers", 200, list), true);
      const broken = { ...list, servers: [{ _meta: {} }] };
      assert.throws(
        () => assertConformsToSpec("GET", "/v0.1/servers", 200, broken),
        /does not match openapi\.yaml/,
      );
    });
  });

  describe("edges of HTTP", () => {
    it("an unknown route is a problem+json 404 pointing to /v0.1 and /docs", async () => {
      const response = await call({ method: "GET", url: "/v1/servers" });
      assert.equal(response.statusCode, 404);
      assert.match(problemOf(response).detail, /\/v0\.1/);
      assert.match(problemOf(response).detail, /\/docs/);
    });

    it("redirects a trailing slash with 308, keeping the query", async () => {
      const response = await call({ method: "GET", url: "/v0.1/servers/?limit=2" });
      assert.equal(response.statusCode, 308);
      assert.equal(response.headers.location, "/v0.1/servers?limit=2");
      const post = await call({ method: "POST", url: "/v0.1/publish/", payload: {} });
      assert.equal(post.statusCode, 308, "308 keeps the method and body of a POST");
      const sneaky = await call({ method: "GET", url: "//evil.example/" });
      assert.equal(sneaky.statusCode, 308);
      assert.equal(sneaky.headers.location, "/evil.example", "never an open redirect to another host");
    });

    it("refuses NUL bytes in the path or query, raw or encoded", async () => {
      for (const url of [
        "/v0.1/servers?search=a%00b",
        `/v0.1/servers/${enc("com.example/a")}%00/versions`,
        "/v0.1/servers?search=a\u0000b",
      ]) {
        const response = await call({ method: "GET", url });
        assert.equal(response.statusCode, 400, url);
        assert.match(problemOf(response).detail, /NUL/);
      }
    });

    it("answers a malformed percent-encoding in the path with a problem+json 400", async () => {
      const response = await call({ method: "GET", url: "/v0.1/servers/%E0%A4%A/versions" });
      assert.equal(response.statusCode, 400);
    });

    it("allows any origin on reads and answers CORS preflights", async () => {
      const read = await call({
        method: "GET",
        url: "/v0.1/servers",
        headers: { origin: "https://ide.example" },
      });
      assert.equal(read.headers["access-control-allow-origin"], "*");
      const preflight = await call({
        method: "OPTIONS",
        url: `/v0.1/servers/${enc("com.example/alpha")}/versions`,
        headers: { origin: "https://ide.example", "access-control-request-method": "GET" },
      });
      assert.equal(preflight.statusCode, 204);
      assert.equal(preflight.headers["access-control-allow-origin"], "*");
      assert.match(String(preflight.headers["access-control-allow-methods"]), /GET/);
      assert.match(String(preflight.headers["access-control-allow-headers"]), /Authorization/);
    });

    it("echoes a sane X-Request-Id and makes one up otherwise", async () => {
      const given = await call({ method: "GET", url: "/ping", headers: { "x-request-id": "trace-123" } });
      assert.equal(given.headers["x-request-id"], "trace-123");
      const made = await call({
        method: "GET",
        url: "/ping",
        headers: { "x-request-id": "bad id with spaces" },
      });
      assert.match(String(made.headers["x-request-id"]), /^[0-9a-f-]{36}$/);
    });
  });
});
