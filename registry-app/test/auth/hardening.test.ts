import assert from "node:assert/strict";
import { Writable } from "node:stream";
import Fastify from "fastify";
import { createAuth } from "../../src/auth";
import { RateLimiter } from "../../src/auth/rate-limit";
import { isNonPublicAddress } from "../../src/auth/outbound";
import { ProblemError } from "../../src/errors";
import { ed25519PublisherKey } from "./keys";
import { authApp, testEnv } from "./support";

describe("auth: hardening", () => {
  it("rate-limits /auth/* per client IP with 429 and Retry-After, across both prefixes", async () => {
    let now = Date.UTC(2026, 0, 1, 12, 0, 0);
    const { app } = await authApp(
      testEnv({ MCP_REGISTRY_AUTH_RATE_LIMIT_PER_MINUTE: "3", MCP_REGISTRY_ENABLE_ANONYMOUS_AUTH: "true" }),
      { now: () => now },
    );
    const hit = (ip: string, prefix = "/v0") =>
      app.inject({ method: "POST", url: `${prefix}/auth/none`, remoteAddress: ip });
    assert.equal((await hit("198.51.100.1")).statusCode, 200);
    assert.equal((await hit("198.51.100.1", "/v0.1")).statusCode, 200);
    assert.equal((await hit("198.51.100.1")).statusCode, 200);
    now += 20_000;
    const limited = await hit("198.51.100.1", "/v0.1");
    assert.equal(limited.statusCode, 429);
    assert.equal(limited.headers["retry-after"], "40");
    assert.match(limited.json<{ detail: string }>().detail, /3 auth requests per minute/);
    assert.equal((await hit("198.51.100.2")).statusCode, 200, "another client is not affected");
    now += 40_000;
    assert.equal((await hit("198.51.100.1")).statusCode, 200, "the window resets");
    await app.close();
  });

  it("rate-limits POST /publish through the publishRateLimit preHandler", async () => {
    const { app } = await authApp(testEnv({ MCP_REGISTRY_PUBLISH_RATE_LIMIT_PER_MINUTE: "2" }));
    const publish = () =>
      app.inject({ method: "POST", url: "/v0/publish", payload: {}, remoteAddress: "203.0.113.9" });
    assert.equal((await publish()).statusCode, 200);
    assert.equal((await publish()).statusCode, 200);
    const limited = await publish();
    assert.equal(limited.statusCode, 429);
    assert.ok(Number(limited.headers["retry-after"]) >= 1);
    await app.close();
  });

  it("a limit of 0 disables the app-level limiter", () => {
    const limiter = new RateLimiter(0, () => 0, "auth");
    for (let i = 0; i < 1000; i += 1) limiter.hit("x");
    const one = new RateLimiter(1, () => 0, "auth");
    one.hit("x");
    assert.throws(
      () => one.hit("x"),
      (e) => e instanceof ProblemError && e.status === 429,
    );
  });

  it("answers 413 to auth bodies above the limit, before any verification work", async () => {
    let lookups = 0;
    const { app } = await authApp(testEnv({ MCP_REGISTRY_AUTH_BODY_LIMIT_BYTES: "1024" }), {
      resolveTxt: async () => {
        lookups += 1;
        return [];
      },
    });
    const res = await app.inject({
      method: "POST",
      url: "/v0/auth/dns",
      payload: { domain: "example.com", timestamp: "x", signed_timestamp: "ab".repeat(600) },
    });
    assert.equal(res.statusCode, 413);
    assert.equal(lookups, 0);
    await app.close();
  });

  it("classifies non-public addresses for the SSRF guard", () => {
    for (const address of [
      "10.1.2.3",
      "127.0.0.1",
      "169.254.169.254",
      "172.20.0.1",
      "192.168.1.1",
      "100.64.0.1",
      "0.0.0.0",
      "::1",
      "fe80::1",
      "fd00::1",
      "::ffff:10.0.0.1",
      "not-an-ip",
    ]) {
      assert.equal(isNonPublicAddress(address), true, address);
    }
    for (const address of ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"]) {
      assert.equal(isNonPublicAddress(address), false, address);
    }
  });

  it("never echoes secrets in responses or request logs", async () => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const auth = await createAuth(testEnv({ MCP_REGISTRY_GITHUB_API_URL: "http://127.0.0.1:9" }));
    const app = Fastify({ logger: { level: "trace", stream } });
    auth.registerRoutes(app, "/v0");
    await app.ready();
    const secret = "gho_SuperSecretToken123";
    const key = ed25519PublisherKey();
    const signature = key.sign(new Date().toISOString());
    const responses = [
      await app.inject({ method: "POST", url: "/v0/auth/github-at", payload: { github_token: secret } }),
      await app.inject({
        method: "POST",
        url: "/v0/auth/github-oidc",
        payload: { oidc_token: `${secret}.x.y` },
      }),
      await app.inject({
        method: "POST",
        url: "/v0/auth/dns",
        payload: { domain: "bad domain", timestamp: "now", signed_timestamp: signature },
      }),
    ];
    const everything = [...lines, ...responses.map((r) => r.body)].join("\n");
    assert.ok(lines.length > 0, "the logger was exercised");
    assert.doesNotMatch(everything, /SuperSecretToken/);
    assert.ok(!everything.includes(signature));
    await app.close();
  });
});
