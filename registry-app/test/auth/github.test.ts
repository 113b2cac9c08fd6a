import assert from "node:assert/strict";
import type { FastifyInstance } from "fastify";
import { FakeGitHub, FakeOidcIssuer } from "./fakes";
import { authApp, testEnv } from "./support";

interface Answer {
  status: number;
  detail: string;
  registry_token: string;
}

async function login(app: FastifyInstance, method: string, body: unknown) {
  const res = await app.inject({ method: "POST", url: `/v0.1/auth/${method}`, payload: body as object });
  return { status: res.statusCode, body: res.json<Answer>() };
}

async function permissionsOf(app: FastifyInstance, token: string) {
  const res = await app.inject({
    method: "GET",
    url: "/v0/whoami",
    headers: { authorization: `Bearer ${token}` },
  });
  return res.json<{ auth_method: string; auth_method_sub: string; permissions: { resource: string }[] }>();
}

describe("auth: /auth/github-at", () => {
  let github: FakeGitHub;
  let app: FastifyInstance;

  before(async () => {
    // GitHub Enterprise Server serves the REST API under /api/v3: the configurable base URL covers it.
    github = await FakeGitHub.start(
      {
        gho_alice: { login: "alice", orgs: ["acme", "bad/../org", "*"] },
        gho_weird: { login: "*", orgs: [] },
      },
      "/api/v3",
    );
    ({ app } = await authApp(
      testEnv({
        MCP_REGISTRY_GITHUB_API_URL: github.apiUrl,
        MCP_REGISTRY_AUTH_RATE_LIMIT_PER_MINUTE: "0",
        MCP_REGISTRY_AUTH_OUTBOUND_TIMEOUT_MS: "300",
        MCP_REGISTRY_AUTH_OUTBOUND_MAX_BYTES: "4096",
      }),
    ));
  });
  after(async () => {
    await app.close();
    await github.close();
  });
  afterEach(() => github.overrides.clear());

  it("grants io.github.<login>/* and io.github.<org>/* for public orgs, via the GHE base URL", async () => {
    const res = await login(app, "github-at", { github_token: "gho_alice" });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const claims = await permissionsOf(app, res.body.registry_token);
    assert.equal(claims.auth_method, "github-at");
    assert.equal(claims.auth_method_sub, "alice");
    // Hostile org names from the API never become permission patterns.
    assert.deepEqual(
      claims.permissions.map((p) => p.resource),
      ["io.github.alice/*", "io.github.acme/*"],
    );
    const calls = github.seen.slice(-2);
    assert.deepEqual(
      calls.map((c) => c.path),
      ["/user", "/users/alice/orgs?per_page=100"],
    );
    assert.ok(calls.every((c) => c.authorization === "Bearer gho_alice" && c.userAgent === "mcp-registry"));
  });

  it("answers 401 for a token GitHub rejects (wrong key)", async () => {
    const res = await login(app, "github-at", { github_token: "gho_wrong" });
    assert.equal(res.status, 401);
    assert.match(res.body.detail, /GitHub rejected the token/);
  });

  it("refuses a user whose login is not GitHub login syntax", async () => {
    const res = await login(app, "github-at", { github_token: "gho_weird" });
    assert.equal(res.status, 502);
  });

  it("validates the body before calling GitHub", async () => {
    const count = github.seen.length;
    assert.equal((await login(app, "github-at", {})).status, 400);
    assert.equal((await login(app, "github-at", { github_token: "has space" })).status, 400);
    assert.equal((await login(app, "github-at", { github_token: 42 })).status, 400);
    assert.equal(github.seen.length, count);
  });

  it("answers 502 on GitHub errors, oversized responses and timeouts", async () => {
    github.overrides.set("/user", { status: 500, body: "{}" });
    assert.equal((await login(app, "github-at", { github_token: "gho_alice" })).status, 502);
    github.overrides.set("/user", {
      status: 200,
      body: JSON.stringify({ login: "alice", pad: "x".repeat(5000) }),
    });
    const huge = await login(app, "github-at", { github_token: "gho_alice" });
    assert.equal(huge.status, 502);
    assert.match(huge.body.detail, /too large/);
    github.overrides.set("/user", "hang");
    const slow = await login(app, "github-at", { github_token: "gho_alice" });
    assert.equal(slow.status, 502);
    assert.match(slow.body.detail, /timeout/);
    github.overrides.set("/user", { status: 403, body: '{"message":"API rate limit exceeded"}' });
    const limited = await login(app, "github-at", { github_token: "gho_alice" });
    assert.equal(limited.status, 502);
    assert.match(limited.body.detail, /rate limit/);
    github.overrides.set("/user", { status: 200, body: "[not json" });
    assert.equal((await login(app, "github-at", { github_token: "gho_alice" })).status, 502);
  });
});

describe("auth: /auth/github-oidc", () => {
  let issuer: FakeOidcIssuer;
  let app: FastifyInstance;
  const nowMs = Date.UTC(2026, 0, 1, 12, 0, 0);
  const nowSeconds = nowMs / 1000;
  const good = { aud: "mcp-registry", repository_owner: "acme", sub: "repo:acme/tool:ref:refs/heads/main" };

  before(async () => {
    issuer = await FakeOidcIssuer.start();
    ({ app } = await authApp(
      testEnv({
        MCP_REGISTRY_GITHUB_OIDC_ISSUER: issuer.issuer,
        MCP_REGISTRY_AUTH_RATE_LIMIT_PER_MINUTE: "0",
      }),
      { now: () => nowMs },
    ));
  });
  after(async () => {
    await app.close();
    await issuer.close();
  });

  it("grants io.github.<repository_owner>/*", async () => {
    const token = await issuer.sign(good, { nowSeconds });
    const res = await login(app, "github-oidc", { oidc_token: token });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const claims = await permissionsOf(app, res.body.registry_token);
    assert.equal(claims.auth_method, "github-oidc");
    assert.deepEqual(
      claims.permissions.map((p) => p.resource),
      ["io.github.acme/*"],
    );
  });

  const failures: [string, () => Promise<string>, RegExp][] = [
    ["wrong key", () => issuer.sign(good, { nowSeconds, foreignKey: true }), /signature verification failed/],
    ["unknown kid", () => issuer.sign(good, { nowSeconds, kid: "nope" }), /no matching signing key/],
    ["wrong audience", () => issuer.sign({ ...good, aud: "someone-else" }, { nowSeconds }), /wrong audience/],
    [
      "wrong issuer",
      () => issuer.sign({ ...good, iss: "https://evil.example" }, { nowSeconds }),
      /wrong issuer/,
    ],
    ["expired", () => issuer.sign(good, { nowSeconds: nowSeconds - 3600, expiresIn: 600 }), /expired/],
    ["not yet valid", () => issuer.sign(good, { nowSeconds, nbf: nowSeconds + 600 }), /not yet valid/],
    ["no repository_owner", () => issuer.sign({ aud: "mcp-registry" }, { nowSeconds }), /repository_owner/],
    [
      "hostile repository_owner",
      () => issuer.sign({ ...good, repository_owner: "a*" }, { nowSeconds }),
      /repository_owner/,
    ],
  ];
  for (const [name, make, reason] of failures) {
    it(`rejects a token: ${name}`, async () => {
      const res = await login(app, "github-oidc", { oidc_token: await make() });
      assert.equal(res.status, 401, JSON.stringify(res.body));
      assert.match(res.body.detail, reason);
    });
  }

  it("rejects alg none and HS256 tokens", async () => {
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
    const payload = { ...good, iss: issuer.issuer, exp: nowSeconds + 60 };
    const none = `${b64({ alg: "none" })}.${b64(payload)}.`;
    assert.equal((await login(app, "github-oidc", { oidc_token: none })).status, 401);
    const hs = `${b64({ alg: "HS256", kid: "key-1" })}.${b64(payload)}.${Buffer.from("sig").toString("base64url")}`;
    const res = await login(app, "github-oidc", { oidc_token: hs });
    assert.equal(res.status, 401);
    assert.match(res.body.detail, /algorithm not allowed/);
  });
});
