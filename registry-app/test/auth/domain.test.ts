import assert from "node:assert/strict";
import type { FastifyInstance } from "fastify";
import type { AuthDeps } from "../../src/auth";
import { ecdsaP384PublisherKey, ed25519PublisherKey, type PublisherKey } from "./keys";
import { authApp, testEnv } from "./support";

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");

interface Problem {
  status: number;
  detail: string;
  errors?: { location: string }[];
}

async function login(app: FastifyInstance, method: string, body: unknown) {
  const res = await app.inject({ method: "POST", url: `/v0/auth/${method}`, payload: body as object });
  return {
    status: res.statusCode,
    body: res.json<Problem & { registry_token: string }>(),
    headers: res.headers,
  };
}

async function whoami(app: FastifyInstance, token: string) {
  const res = await app.inject({
    method: "GET",
    url: "/v0/whoami",
    headers: { authorization: `Bearer ${token}` },
  });
  return res.json<{ auth_method: string; auth_method_sub: string; permissions: unknown }>();
}

function signed(key: PublisherKey, domain: string, at = NOW) {
  const timestamp = iso(at);
  return { domain, timestamp, signed_timestamp: key.sign(timestamp) };
}

describe("auth: /auth/dns", () => {
  const records = new Map<string, string[][]>();
  const lookedUp: string[] = [];
  const deps: AuthDeps = {
    now: () => NOW,
    resolveTxt: async (domain) => {
      lookedUp.push(domain);
      const found = records.get(domain);
      if (found === undefined) throw Object.assign(new Error("not found"), { code: "ENOTFOUND" });
      return found;
    },
  };
  let app: FastifyInstance;
  const ed = ed25519PublisherKey();
  const ec = ecdsaP384PublisherKey();

  before(async () => {
    records.set("example.com", [
      ["google-site-verification=abc"],
      [ed.record.slice(0, 20), ed.record.slice(20)],
    ]);
    records.set("ecdsa.example", [[ec.record]]);
    records.set("other.org", [[ed25519PublisherKey().record]]);
    ({ app } = await authApp(testEnv({ MCP_REGISTRY_AUTH_RATE_LIMIT_PER_MINUTE: "0" }), deps));
  });
  after(() => app.close());

  it("grants <reversed>/* and <reversed>.* for an Ed25519 key in a (chunked) TXT record", async () => {
    const res = await login(app, "dns", signed(ed, "Example.COM."));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const claims = await whoami(app, res.body.registry_token);
    assert.equal(claims.auth_method, "dns");
    assert.equal(claims.auth_method_sub, "example.com");
    assert.deepEqual(claims.permissions, [
      { action: "publish", resource: "com.example/*" },
      { action: "publish", resource: "com.example.*" },
    ]);
  });

  it("accepts an ECDSA P-384 key (compressed point, R||S signature over SHA-384)", async () => {
    const res = await login(app, "dns", signed(ec, "ecdsa.example"));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual((await whoami(app, res.body.registry_token)).permissions, [
      { action: "publish", resource: "example.ecdsa/*" },
      { action: "publish", resource: "example.ecdsa.*" },
    ]);
  });

  it("accepts ECDSA signatures whose R or S lost a leading zero byte (Go big.Int encoding)", async () => {
    // About 1 in 128 signatures has a leading zero in R or S; search for one, then strip it as Go does.
    for (let attempt = 0; attempt < 2000; attempt += 1) {
      const body = signed(ec, "ecdsa.example");
      const sig = Buffer.from(body.signed_timestamp, "hex");
      const zeroInR = sig[0] === 0;
      const zeroInS = sig[48] === 0;
      if (!zeroInR && !zeroInS) continue;
      const stripped = zeroInR
        ? Buffer.concat([sig.subarray(1, 48), sig.subarray(48)])
        : Buffer.concat([sig.subarray(0, 48), sig.subarray(49)]);
      const res = await login(app, "dns", { ...body, signed_timestamp: stripped.toString("hex") });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return;
    }
    assert.fail("no signature with a leading zero byte in 2000 attempts");
  });

  it("rejects a signature made with the wrong key", async () => {
    const res = await login(app, "dns", signed(ed25519PublisherKey(), "example.com"));
    assert.equal(res.status, 401);
    assert.match(res.body.detail, /does not match any key/);
  });

  it("rejects a domain mismatch: a valid signature for example.com presented for other.org", async () => {
    const res = await login(app, "dns", signed(ed, "other.org"));
    assert.equal(res.status, 401);
    assert.match(res.body.detail, /other\.org/);
  });

  it("rejects stale and future timestamps beyond ±15 s, accepts inside the window", async () => {
    for (const offset of [-16_000, 16_000, -3_600_000]) {
      const res = await login(app, "dns", signed(ed, "example.com", NOW + offset));
      assert.equal(res.status, 401, `offset ${offset}`);
      assert.match(res.body.detail, /outside the allowed window/);
    }
    assert.equal((await login(app, "dns", signed(ed, "example.com", NOW - 14_000))).status, 200);
    assert.equal((await login(app, "dns", signed(ed, "example.com", NOW + 14_000))).status, 200);
  });

  it("rejects a signature over a different timestamp than the one sent", async () => {
    const body = { ...signed(ed, "example.com"), timestamp: iso(NOW + 1000) };
    assert.equal((await login(app, "dns", body)).status, 401);
  });

  it("answers 401 when the domain has no MCPv1 record", async () => {
    const res = await login(app, "dns", signed(ed, "nothing.example"));
    assert.equal(res.status, 401);
    assert.match(res.body.detail, /No valid "v=MCPv1/);
  });

  it("answers 400 naming each bad field, without any DNS lookup", async () => {
    const before = lookedUp.length;
    const res = await login(app, "dns", {
      domain: "127.0.0.1",
      timestamp: "yesterday",
      signed_timestamp: "xyz",
    });
    assert.equal(res.status, 400);
    assert.deepEqual(res.body.errors?.map((e) => e.location).sort(), [
      "body.domain",
      "body.signed_timestamp",
      "body.timestamp",
    ]);
    for (const domain of ["example.com/x", "example.com:443", "localhost", "a..b.com", "-a.com", ""]) {
      assert.equal((await login(app, "dns", signed(ed, domain))).status, 400, domain);
    }
    const scalar = await app.inject({
      method: "POST",
      url: "/v0/auth/dns",
      headers: { "content-type": "application/json" },
      payload: '"not an object"',
    });
    assert.equal(scalar.statusCode, 400);
    const broken = await app.inject({
      method: "POST",
      url: "/v0/auth/dns",
      headers: { "content-type": "application/json" },
      payload: '{"domain": ',
    });
    assert.equal(broken.statusCode, 400);
    assert.match(broken.json<Problem>().detail, /not valid JSON/);
    const poisoned = await app.inject({
      method: "POST",
      url: "/v0/auth/dns",
      headers: { "content-type": "application/json" },
      payload: '{"__proto__": {"isAdmin": true}, "domain": "example.com"}',
    });
    assert.equal(poisoned.statusCode, 400);
    assert.equal(lookedUp.length, before);
  });

  it("gives up after the DNS timeout with 502", async () => {
    const { app: slow } = await authApp(testEnv({ MCP_REGISTRY_AUTH_DNS_TIMEOUT_MS: "200" }), {
      now: () => NOW,
      resolveTxt: () => new Promise(() => undefined),
    });
    const started = Date.now();
    const res = await login(slow, "dns", signed(ed, "example.com"));
    assert.equal(res.status, 502);
    assert.match(res.body.detail, /timeout/);
    assert.ok(Date.now() - started < 2000);
    await slow.close();
  });
});

describe("auth: /auth/http", () => {
  const ed = ed25519PublisherKey();
  const served = new Map<string, { status: number; body: string; headers?: Record<string, string> }>();
  const fetched: string[] = [];
  const addresses = new Map<string, string[]>();
  const fakeFetch: typeof fetch = async (input, init) => {
    const url = String(input);
    fetched.push(url);
    assert.equal(init?.redirect, "manual", "redirects must not be followed");
    const page = served.get(url);
    if (page === undefined) return new Response("not found", { status: 404 });
    if (page.body === "HANG") {
      return new Promise((_resolve, reject) =>
        init?.signal?.addEventListener("abort", () => reject(new Error("aborted"))),
      );
    }
    return new Response(page.body, { status: page.status, headers: page.headers });
  };
  const deps: AuthDeps = {
    now: () => NOW,
    fetch: fakeFetch,
    lookup: async (host) => addresses.get(host) ?? ["93.184.216.34"],
  };
  let app: FastifyInstance;
  const wellKnown = (domain: string) => `https://${domain}/.well-known/mcp-registry-auth`;

  before(async () => {
    served.set(wellKnown("example.com"), { status: 200, body: `${ed.record}\n` });
    served.set(wellKnown("moved.example"), { status: 302, body: "", headers: { location: "https://x/" } });
    served.set(wellKnown("huge.example"), { status: 200, body: `${ed.record}\n${"#".repeat(5000)}` });
    served.set(wellKnown("slow.example"), { status: 200, body: "HANG" });
    served.set(wellKnown("internal.example"), { status: 200, body: ed.record });
    addresses.set("internal.example", ["93.184.216.34", "10.0.0.7"]);
    addresses.set("metadata.example", ["169.254.169.254"]);
    addresses.set("v6loop.example", ["::1"]);
    addresses.set("mapped.example", ["::ffff:127.0.0.1"]);
    ({ app } = await authApp(
      testEnv({ MCP_REGISTRY_AUTH_RATE_LIMIT_PER_MINUTE: "0", MCP_REGISTRY_AUTH_HTTP_TIMEOUT_MS: "300" }),
      deps,
    ));
  });
  after(() => app.close());

  it("grants <reversed>/* only, from the well-known document", async () => {
    const res = await login(app, "http", signed(ed, "example.com"));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const claims = await whoami(app, res.body.registry_token);
    assert.equal(claims.auth_method, "http");
    assert.deepEqual(claims.permissions, [{ action: "publish", resource: "com.example/*" }]);
    assert.ok(fetched.includes(wellKnown("example.com")));
  });

  it("rejects the wrong key, a domain mismatch and stale or future timestamps", async () => {
    assert.equal((await login(app, "http", signed(ed25519PublisherKey(), "example.com"))).status, 401);
    served.set(wellKnown("other.org"), { status: 200, body: ed25519PublisherKey().record });
    assert.equal((await login(app, "http", signed(ed, "other.org"))).status, 401);
    assert.equal((await login(app, "http", signed(ed, "example.com", NOW - 20_000))).status, 401);
    assert.equal((await login(app, "http", signed(ed, "example.com", NOW + 20_000))).status, 401);
  });

  it("does not follow redirects, caps the body at 4096 bytes and times out", async () => {
    const moved = await login(app, "http", signed(ed, "moved.example"));
    assert.equal(moved.status, 401);
    assert.match(moved.body.detail, /status 302/);
    const huge = await login(app, "http", signed(ed, "huge.example"));
    assert.equal(huge.status, 401);
    assert.match(huge.body.detail, /too large/);
    const slow = await login(app, "http", signed(ed, "slow.example"));
    assert.equal(slow.status, 401);
    assert.match(slow.body.detail, /timeout/);
  });

  it("refuses domains resolving to private, loopback or link-local addresses (SSRF) without fetching", async () => {
    for (const domain of ["internal.example", "metadata.example", "v6loop.example", "mapped.example"]) {
      const count = fetched.length;
      const res = await login(app, "http", signed(ed, domain));
      assert.equal(res.status, 400, domain);
      assert.match(res.body.detail, /non-public address/);
      assert.equal(fetched.length, count, `${domain} must not be fetched`);
    }
  });

  it("reaches private addresses only with MCP_REGISTRY_HTTP_AUTH_ALLOW_PRIVATE=true", async () => {
    const { app: allowing } = await authApp(testEnv({ MCP_REGISTRY_HTTP_AUTH_ALLOW_PRIVATE: "true" }), deps);
    assert.equal((await login(allowing, "http", signed(ed, "internal.example"))).status, 200);
    await allowing.close();
  });
});
