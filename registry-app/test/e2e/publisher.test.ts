import assert from "node:assert/strict";
import net from "node:net";
import type { AuthDeps } from "../../src/auth";
import { ed25519PublisherKey } from "../auth/keys";
import { assertConformsToSpec, assertValidServerJson } from "../support/conformance";
import { serverJson, testRegistry, type TestRegistry } from "../support/registry";

interface Entry {
  server: { name: string; version: string };
  _meta: {
    "io.modelcontextprotocol.registry/official": {
      status: string;
      statusMessage?: string;
      isLatest: boolean;
    };
  };
}

/**
 * The journey of a publisher over real HTTP on loopback, the way mcp-publisher drives it: log in,
 * publish (falling back to /validate on a 422), read the version with include_deleted, change its status.
 */
describe("e2e: a publisher over HTTP (mcp-publisher's calls)", function () {
  this.timeout(60_000);
  const key = ed25519PublisherKey();
  const txt = new Map<string, string[][]>([["acme.example", [["v=spf1 -all"], [key.record]]]]);
  const deps: AuthDeps = {
    resolveTxt: async (domain) => {
      const records = txt.get(domain);
      if (records === undefined) throw Object.assign(new Error("no records"), { code: "ENOTFOUND" });
      return records;
    },
  };
  let registry: TestRegistry;
  let base: string;

  before(async () => {
    registry = await testRegistry("e2e", { MCP_REGISTRY_ENABLE_ANONYMOUS_AUTH: "true" }, { authDeps: deps });
    base = await registry.app.listen({ host: "127.0.0.1", port: 0 });
  });
  after(async () => registry.close());

  async function request(method: string, path: string, body?: unknown, token?: string) {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: {
        ...(body !== undefined && { "content-type": "application/json" }),
        ...(token !== undefined && { authorization: `Bearer ${token}` }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    const json = text === "" ? undefined : (JSON.parse(text) as unknown);
    if (response.ok) assertConformsToSpec(method, path, response.status, json);
    return { status: response.status, type: response.headers.get("content-type") ?? "", json };
  }

  async function dnsLogin(domain: string, signWith = key, at = Date.now()) {
    const timestamp = new Date(at).toISOString();
    return request("POST", "/v0/auth/dns", { domain, timestamp, signed_timestamp: signWith.sign(timestamp) });
  }

  it("dns login -> publish -> status update, with 401, 403 and 422 on the way", async () => {
    // 401: a key the domain does not publish, and a stale timestamp.
    const wrongKey = await dnsLogin("acme.example", ed25519PublisherKey());
    assert.equal(wrongKey.status, 401);
    assert.match(wrongKey.type, /problem\+json/);
    assert.equal((await dnsLogin("acme.example", key, Date.now() - 60_000)).status, 401);

    const login = await dnsLogin("acme.example");
    assert.equal(login.status, 200, JSON.stringify(login.json));
    const token = (login.json as { registry_token: string }).registry_token;

    const document = serverJson("example.acme/weather", "1.0.0", { description: "Forecasts for Acme sites" });
    // 401 without the token.
    assert.equal((await request("POST", "/v0/publish", document)).status, 401);
    // 403 outside the granted namespaces (example.acme/* and example.acme.*).
    const foreign = await request("POST", "/v0/publish", serverJson("com.other/weather", "1.0.0"), token);
    assert.equal(foreign.status, 403);
    assert.match((foreign.json as { detail: string }).detail, /example\.acme\/\*/);
    // 422, then mcp-publisher asks /validate for the findings.
    const invalid = { ...document, version: "^1.0.0" };
    const rejected = await request("POST", "/v0/publish", invalid, token);
    assert.equal(rejected.status, 422);
    const findings = await request("POST", "/v0/validate", invalid);
    assert.equal(findings.status, 200);
    const issues = (findings.json as { valid: boolean; issues: Array<{ path: string; severity: string }> })
      .issues;
    assert.ok(issues.some((issue) => issue.path === "version" && issue.severity === "error"));

    const published = await request("POST", "/v0/publish", document, token);
    assert.ok(published.status === 200 || published.status === 201, JSON.stringify(published.json));
    const entry = published.json as Entry;
    assertValidServerJson(entry.server);
    assert.equal(entry._meta["io.modelcontextprotocol.registry/official"].isLatest, true);
    // A subdomain namespace is granted too (example.acme.*).
    assert.equal(
      (await request("POST", "/v0/publish", serverJson("example.acme.eu/weather", "1.0.0"), token)).status,
      200,
    );

    // mcp-publisher status: read with include_deleted, then PATCH the status.
    const path = `/v0/servers/${encodeURIComponent("example.acme/weather")}/versions/1.0.0`;
    const current = await request("GET", `${path}?include_deleted=true`);
    assert.equal(current.status, 200);
    const deprecated = await request(
      "PATCH",
      `${path}/status`,
      { status: "deprecated", statusMessage: "Use 2.x" },
      token,
    );
    assert.equal(deprecated.status, 200, JSON.stringify(deprecated.json));
    assert.equal(
      (deprecated.json as Entry)._meta["io.modelcontextprotocol.registry/official"].status,
      "deprecated",
    );
    const deleted = await request(
      "PATCH",
      `${path}/status`,
      { status: "deleted", statusMessage: "Withdrawn" },
      token,
    );
    assert.equal(deleted.status, 200);
    assert.equal((await request("GET", path)).status, 404, "deleted versions are hidden by default");
    const withDeleted = await request("GET", `${path}?include_deleted=true`);
    assert.equal(
      (withDeleted.json as Entry)._meta["io.modelcontextprotocol.registry/official"].status,
      "deleted",
    );
    // 403 for a status change outside the namespace.
    const stranger = await request(
      "PATCH",
      `/v0/servers/${encodeURIComponent("com.example/other")}/versions/1.0.0/status`,
      { status: "deleted" },
      token,
    );
    assert.equal(stranger.status, 403);
  });

  it("anonymous login with an empty body, as `mcp-publisher login none` sends it, under /v0 and /v0.1", async () => {
    for (const prefix of ["/v0", "/v0.1"]) {
      const response = await fetch(`${base}${prefix}/auth/none`, { method: "POST" });
      assert.equal(response.status, 200);
      const { registry_token: token, expires_at: expiresAt } = (await response.json()) as {
        registry_token: string;
        expires_at: number;
      };
      assert.ok(expiresAt > Date.now() / 1000);
      const name = `io.modelcontextprotocol.anonymous/demo${prefix.replace(/\W/g, "")}`;
      assert.equal(
        (await request("POST", `${prefix}/publish`, serverJson(name, "0.1.0"), token)).status,
        200,
      );
      assert.equal(
        (await request("POST", `${prefix}/publish`, serverJson("com.example/x", "0.1.0"), token)).status,
        403,
      );
    }
  });

  it("answers requests the HTTP parser refuses (raw NUL byte in the path) with problem+json", async () => {
    const { port } = new URL(base);
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(Number(port), "127.0.0.1", () => {
        socket.write("GET /v0.1/servers\u0000x HTTP/1.1\r\nHost: localhost\r\n\r\n");
      });
      let text = "";
      socket.on("data", (chunk) => (text += chunk.toString("utf8")));
      socket.on("end", () => resolve(text));
      socket.on("error", reject);
    });
    assert.match(raw, /^HTTP\/1\.1 400 /);
    assert.match(raw, /content-type: application\/problem\+json/i);
    assert.match(raw, /"status":400/);
  });

  it("rate-limits publishes per client IP with 429 and Retry-After", async () => {
    const limited = await testRegistry("e2e_limit", { MCP_REGISTRY_PUBLISH_RATE_LIMIT_PER_MINUTE: "2" });
    try {
      const token = await limited.token([{ action: "publish", resource: "com.example/*" }]);
      const statuses: number[] = [];
      let retryAfter: string | undefined;
      for (let i = 0; i < 3; i += 1) {
        const response = await limited.app.inject({
          method: "POST",
          url: "/v0/publish",
          headers: { authorization: `Bearer ${token}` },
          payload: serverJson("com.example/limited", `1.0.${i}`),
        });
        statuses.push(response.statusCode);
        retryAfter = response.headers["retry-after"] as string | undefined;
      }
      assert.deepEqual(statuses, [200, 200, 429]);
      assert.match(String(retryAfter), /^\d+$/);
    } finally {
      await limited.close();
    }
  });
});
