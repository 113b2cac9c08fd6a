import assert from "node:assert/strict";
import type { FastifyInstance } from "fastify";
import type { Auth } from "../../src/auth";
import { FakeOidcIssuer } from "./fakes";
import { authApp, testEnv } from "./support";

interface Answer {
  status: number;
  detail: string;
  registry_token: string;
}

const START = Date.UTC(2026, 0, 1, 12, 0, 0);

function oidcEnv(issuer: string, extra: Record<string, string> = {}) {
  return testEnv({
    MCP_REGISTRY_OIDC_ENABLED: "true",
    MCP_REGISTRY_OIDC_ISSUER: issuer,
    MCP_REGISTRY_OIDC_CLIENT_ID: "registry-client",
    MCP_REGISTRY_OIDC_EXTRA_CLAIMS: '{"hd":"acme.com"}',
    MCP_REGISTRY_OIDC_PUBLISH_PERMISSIONS: "*",
    MCP_REGISTRY_OIDC_EDIT_PERMISSIONS: "*",
    MCP_REGISTRY_AUTH_RATE_LIMIT_PER_MINUTE: "0",
    MCP_REGISTRY_JWKS_CACHE_SECONDS: "600",
    ...extra,
  });
}

describe("auth: /auth/oidc (generic OIDC, admins)", () => {
  let issuer: FakeOidcIssuer;
  let app: FastifyInstance;
  let now = START;
  const seconds = () => Math.floor(now / 1000);
  const good = () => ({ aud: "registry-client", sub: "admin@acme.com", hd: "acme.com" });

  async function login(oidcToken: string) {
    const res = await app.inject({
      method: "POST",
      url: "/v0/auth/oidc",
      payload: { oidc_token: oidcToken },
    });
    return { status: res.statusCode, body: res.json<Answer>() };
  }

  before(async () => {
    issuer = await FakeOidcIssuer.start();
    ({ app } = await authApp(oidcEnv(issuer.issuer), { now: () => now }));
  });
  after(async () => {
    await app.close();
    await issuer.close();
  });
  beforeEach(() => {
    now = START;
  });

  it("grants the configured publish and edit patterns", async () => {
    const res = await login(await issuer.sign(good(), { nowSeconds: seconds() }));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const who = await app.inject({
      method: "GET",
      url: "/v0/whoami",
      headers: { authorization: `Bearer ${res.body.registry_token}` },
    });
    assert.deepEqual(who.json<{ permissions: unknown }>().permissions, [
      { action: "publish", resource: "*" },
      { action: "edit", resource: "*" },
    ]);
    assert.equal(who.json<{ auth_method_sub: string }>().auth_method_sub, "admin@acme.com");
  });

  const failures: [string, () => Promise<string>, RegExp][] = [
    ["wrong key", () => issuer.sign(good(), { nowSeconds: seconds(), foreignKey: true }), /signature/],
    [
      "wrong audience",
      () => issuer.sign({ ...good(), aud: "other-client" }, { nowSeconds: seconds() }),
      /audience/,
    ],
    [
      "wrong issuer",
      () => issuer.sign({ ...good(), iss: "https://idp.evil" }, { nowSeconds: seconds() }),
      /issuer/,
    ],
    ["expired", () => issuer.sign(good(), { nowSeconds: seconds() - 7200, expiresIn: 3600 }), /expired/],
    [
      "future nbf",
      () => issuer.sign(good(), { nowSeconds: seconds(), nbf: seconds() + 3600 }),
      /not yet valid/,
    ],
    [
      "extra claim mismatch",
      () => issuer.sign({ ...good(), hd: "evil.com" }, { nowSeconds: seconds() }),
      /claim hd/,
    ],
    [
      "extra claim missing",
      () => issuer.sign({ aud: "registry-client", sub: "x" }, { nowSeconds: seconds() }),
      /claim hd/,
    ],
  ];
  for (const [name, make, reason] of failures) {
    it(`rejects: ${name}`, async () => {
      const res = await login(await make());
      assert.equal(res.status, 401, JSON.stringify(res.body));
      assert.match(res.body.detail, reason);
    });
  }

  it("caches discovery and JWKS, refetches the JWKS after the cache age and on rotation", async () => {
    const fresh = await FakeOidcIssuer.start();
    const { app: cached } = await authApp(oidcEnv(fresh.issuer), { now: () => now });
    const loginTo = async (token: string) =>
      (await cached.inject({ method: "POST", url: "/v0/auth/oidc", payload: { oidc_token: token } }))
        .statusCode;
    for (let i = 0; i < 5; i += 1) {
      assert.equal(await loginTo(await fresh.sign(good(), { nowSeconds: seconds() })), 200);
    }
    assert.deepEqual(fresh.requests, { discovery: 1, jwks: 1 });

    // Rotation: a new kid inside the cooldown is refused without hammering the IdP …
    await fresh.rotate("key-2");
    now = START + 10_000;
    assert.equal(await loginTo(await fresh.sign(good(), { nowSeconds: seconds() })), 401);
    assert.equal(fresh.requests.jwks, 1);
    // … and after the cooldown one refetch picks the new key up.
    now = START + 31_000;
    assert.equal(await loginTo(await fresh.sign(good(), { nowSeconds: seconds() })), 200);
    assert.equal(fresh.requests.jwks, 2);
    // Cache age exceeded: refetched once more, discovery stays cached.
    now = START + 31_000 + 601_000;
    assert.equal(await loginTo(await fresh.sign(good(), { nowSeconds: seconds() })), 200);
    assert.deepEqual(fresh.requests, { discovery: 1, jwks: 3 });
    await cached.close();
    await fresh.close();
  });

  it("refuses a discovery document naming another issuer (502)", async () => {
    const lying = await FakeOidcIssuer.start();
    lying.discoveryIssuerOverride = "https://accounts.example.com";
    const { app: victim } = await authApp(oidcEnv(lying.issuer), { now: () => now });
    const res = await victim.inject({
      method: "POST",
      url: "/v0/auth/oidc",
      payload: { oidc_token: await lying.sign(good(), { nowSeconds: seconds() }) },
    });
    assert.equal(res.statusCode, 502);
    assert.match(res.json<Answer>().detail, /issuer mismatch/);
    await victim.close();
    await lying.close();
  });

  it("answers 502 when the issuer is unreachable", async () => {
    const { app: offline } = await authApp(oidcEnv("http://127.0.0.1:9"), { now: () => now });
    const res = await offline.inject({
      method: "POST",
      url: "/v0/auth/oidc",
      payload: { oidc_token: await issuer.sign(good(), { nowSeconds: seconds() }) },
    });
    assert.equal(res.statusCode, 502);
    await offline.close();
  });

  it("does not exist unless OIDC is configured", async () => {
    const { app: plain } = await authApp(testEnv());
    const res = await plain.inject({ method: "POST", url: "/v0/auth/oidc", payload: { oidc_token: "x" } });
    assert.equal(res.statusCode, 404);
    await plain.close();
  });
});

describe("auth: private reads (MCP_REGISTRY_READ_AUTH=oidc)", () => {
  let issuer: FakeOidcIssuer;
  let app: FastifyInstance;
  let auth: Auth;
  const now = START;
  const nowSeconds = START / 1000;

  before(async () => {
    issuer = await FakeOidcIssuer.start();
    ({ app, auth } = await authApp(
      oidcEnv(issuer.issuer, { MCP_REGISTRY_READ_AUTH: "oidc", MCP_REGISTRY_ENABLE_ANONYMOUS_AUTH: "true" }),
      { now: () => now },
    ));
  });
  after(async () => {
    await app.close();
    await issuer.close();
  });

  const read = (authorization?: string) =>
    app.inject({ method: "GET", url: "/v0/servers", headers: authorization ? { authorization } : {} });

  it("refuses reads without a token", async () => {
    const res = await read();
    assert.equal(res.statusCode, 401);
    assert.equal(res.headers["www-authenticate"], 'Bearer realm="mcp-registry"');
  });

  it("allows reads with an ID token of the configured issuer (audience and extra claims enforced)", async () => {
    const token = await issuer.sign(
      { aud: "registry-client", sub: "reader", hd: "acme.com" },
      { nowSeconds },
    );
    assert.equal((await read(`Bearer ${token}`)).statusCode, 200);
    const wrongAud = await issuer.sign({ aud: "other", sub: "reader", hd: "acme.com" }, { nowSeconds });
    assert.equal((await read(`Bearer ${wrongAud}`)).statusCode, 401);
    const wrongHd = await issuer.sign({ aud: "registry-client", sub: "reader", hd: "x.com" }, { nowSeconds });
    assert.equal((await read(`Bearer ${wrongHd}`)).statusCode, 401);
    const expired = await issuer.sign(
      { aud: "registry-client", sub: "reader", hd: "acme.com" },
      { nowSeconds: nowSeconds - 7200, expiresIn: 60 },
    );
    assert.equal((await read(`Bearer ${expired}`)).statusCode, 401);
  });

  it("allows reads with a registry token from /auth/oidc, not from other methods", async () => {
    const viaOidc = await auth.issueToken("oidc", "reader", []);
    assert.equal((await read(`Bearer ${viaOidc.registry_token}`)).statusCode, 200);
    const anonymous = await app.inject({ method: "POST", url: "/v0/auth/none" });
    const res = await read(`Bearer ${anonymous.json<Answer>().registry_token}`);
    assert.equal(res.statusCode, 401);
    assert.match(res.json<Answer>().detail, /OIDC login/);
  });

  it("is a no-op when reads are public (the default)", async () => {
    const { app: open } = await authApp(testEnv());
    assert.equal((await open.inject({ method: "GET", url: "/v0/servers" })).statusCode, 200);
    await open.close();
  });
});
