import assert from "node:assert/strict";
import { createHmac, createPublicKey, generateKeyPairSync } from "node:crypto";
import { SignJWT } from "jose";
import { authEnv, createAuth, generateSigningKeyHex, parseSigningKey } from "../../src/auth";
import { ProblemError } from "../../src/errors";
import { testEnv } from "./support";

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
const publishAll = [{ action: "publish" as const, resource: "com.example/*" }];

async function rejects401(promise: Promise<unknown>, reason: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof ProblemError, String(error));
    assert.equal(error.status, 401);
    assert.match(error.detail, reason);
    return true;
  });
}

function b64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

describe("auth: signing key", () => {
  it("accepts a hex 32-byte seed and a PKCS#8 PEM (as @pulumi/tls emits) for the same key", () => {
    const hex = generateSigningKeyHex();
    assert.match(hex, /^[0-9a-f]{64}$/);
    const fromHex = parseSigningKey(hex);
    const pem = fromHex.export({ format: "pem", type: "pkcs8" }).toString();
    assert.match(pem, /BEGIN PRIVATE KEY/);
    const fromPem = parseSigningKey(pem);
    const fromEscapedPem = parseSigningKey(pem.replace(/\n/g, "\\n"));
    const pub = (k: ReturnType<typeof parseSigningKey>) =>
      createPublicKey(k).export({ format: "der", type: "spki" }).toString("hex");
    assert.equal(pub(fromPem), pub(fromHex));
    assert.equal(pub(fromEscapedPem), pub(fromHex));
  });

  it("stops start-up with a message naming the variable for a missing, short or non-Ed25519 key", () => {
    const rsaPem = generateKeyPairSync("rsa", { modulusLength: 1024 })
      .privateKey.export({ format: "pem", type: "pkcs8" })
      .toString();
    const cases: [Record<string, string>, RegExp][] = [
      [{}, /required/],
      [{ MCP_REGISTRY_JWT_PRIVATE_KEY: "" }, /required/],
      [{ MCP_REGISTRY_JWT_PRIVATE_KEY: "abcd" }, /64 hex digits/],
      [{ MCP_REGISTRY_JWT_PRIVATE_KEY: "not a key" }, /hex 32-byte Ed25519 seed/],
      [{ MCP_REGISTRY_JWT_PRIVATE_KEY: rsaPem }, /rsa, expected ed25519/],
      [
        { MCP_REGISTRY_JWT_PRIVATE_KEY: "-----BEGIN PRIVATE KEY-----\ngarbage\n-----END PRIVATE KEY-----" },
        /could not be parsed/,
      ],
    ];
    for (const [vars, message] of cases) {
      const result = authEnv.safeParse(vars);
      assert.equal(result.success, false);
      const issue = result.error?.issues[0];
      assert.deepEqual(issue?.path, ["MCP_REGISTRY_JWT_PRIVATE_KEY"]);
      assert.match(issue?.message ?? "", message);
      assert.doesNotMatch(issue?.message ?? "", /garbage/, "the key must not be echoed");
    }
  });

  it("parses the other variables with defaults and rejects bad values by name", () => {
    const env = testEnv();
    assert.equal(env.MCP_REGISTRY_TOKEN_TTL_SECONDS, 300);
    assert.equal(env.MCP_REGISTRY_GITHUB_API_URL, "https://api.github.com");
    assert.equal(env.MCP_REGISTRY_GITHUB_OIDC_AUDIENCE, "mcp-registry");
    assert.equal(env.MCP_REGISTRY_ENABLE_ANONYMOUS_AUTH, false);
    assert.equal(env.MCP_REGISTRY_READ_AUTH, "none");
    const parsed = testEnv({
      MCP_REGISTRY_OIDC_PUBLISH_PERMISSIONS: "com.acme/*, io.github.acme/*",
      MCP_REGISTRY_OIDC_EXTRA_CLAIMS: '[{"hd":"acme.com"},{"email_verified":true}]',
      MCP_REGISTRY_GITHUB_API_URL: "https://ghe.acme.com/api/v3/",
    });
    assert.deepEqual(parsed.MCP_REGISTRY_OIDC_PUBLISH_PERMISSIONS, ["com.acme/*", "io.github.acme/*"]);
    assert.deepEqual(parsed.MCP_REGISTRY_OIDC_EXTRA_CLAIMS, { hd: "acme.com", email_verified: true });
    assert.equal(parsed.MCP_REGISTRY_GITHUB_API_URL, "https://ghe.acme.com/api/v3");
    const bad: Record<string, string> = {
      MCP_REGISTRY_TOKEN_TTL_SECONDS: "5",
      MCP_REGISTRY_ENABLE_ANONYMOUS_AUTH: "maybe",
      MCP_REGISTRY_GITHUB_API_URL: "http://github.internal",
      MCP_REGISTRY_OIDC_EXTRA_CLAIMS: "{not json",
      MCP_REGISTRY_OIDC_EDIT_PERMISSIONS: "com.acme/**;drop",
      MCP_REGISTRY_READ_AUTH: "basic",
    };
    const result = authEnv.safeParse({ MCP_REGISTRY_JWT_PRIVATE_KEY: generateSigningKeyHex(), ...bad });
    assert.equal(result.success, false);
    const named = new Set(result.error?.issues.map((issue) => issue.path[0]));
    assert.deepEqual([...named].sort(), Object.keys(bad).sort());
  });

  it("refuses inconsistent OIDC settings at createAuth with one line per variable", async () => {
    await assert.rejects(
      createAuth(testEnv({ MCP_REGISTRY_OIDC_ENABLED: "true" })),
      /MCP_REGISTRY_OIDC_ISSUER: required[\s\S]*\nMCP_REGISTRY_OIDC_CLIENT_ID: required/,
    );
    await assert.rejects(createAuth(testEnv({ MCP_REGISTRY_READ_AUTH: "oidc" })), /MCP_REGISTRY_READ_AUTH/);
  });
});

describe("auth: registry tokens", () => {
  let now = NOW;
  const clock = () => now;
  beforeEach(() => {
    now = NOW;
  });

  it("issues {registry_token, expires_at} with the documented claims and verifies them", async () => {
    const auth = await createAuth(testEnv({ MCP_REGISTRY_TOKEN_TTL_SECONDS: "120" }), { now: clock });
    const { registry_token: token, expires_at: expiresAt } = await auth.issueToken(
      "dns",
      "example.com",
      publishAll,
    );
    assert.equal(expiresAt, NOW / 1000 + 120);
    const [header] = token.split(".");
    assert.deepEqual(JSON.parse(Buffer.from(header ?? "", "base64url").toString()), {
      alg: "EdDSA",
      typ: "JWT",
    });
    const claims = await auth.authenticate(`Bearer ${token}`);
    assert.deepEqual(claims, {
      iss: "mcp-registry",
      iat: NOW / 1000,
      nbf: NOW / 1000,
      exp: NOW / 1000 + 120,
      auth_method: "dns",
      auth_method_sub: "example.com",
      permissions: publishAll,
    });
  });

  it("rejects a missing, malformed or non-Bearer Authorization header", async () => {
    const auth = await createAuth(testEnv(), { now: clock });
    await rejects401(auth.authenticate(undefined), /Missing Authorization/);
    await rejects401(auth.authenticate("Basic dXNlcjpwYXNz"), /Bearer <token>/);
    await rejects401(auth.authenticate("Bearer not-a-jwt"), /malformed/);
  });

  it("rejects expired tokens and tokens before nbf", async () => {
    const auth = await createAuth(testEnv(), { now: clock });
    const { registry_token: token } = await auth.issueToken("dns", "example.com", publishAll);
    now = NOW + 301_000 + 5_000;
    await rejects401(auth.authenticate(`Bearer ${token}`), /expired/);
    now = NOW - 60_000;
    await rejects401(auth.authenticate(`Bearer ${token}`), /not yet valid/);
  });

  it("reuses a verified token for a minute, still checking its times, and never reuses a failure", async () => {
    const auth = await createAuth(testEnv(), { now: clock });
    const { registry_token: token } = await auth.issueToken("dns", "example.com", publishAll);
    const first = await auth.authenticate(`Bearer ${token}`);
    assert.equal(await auth.authenticate(`Bearer ${token}`), first, "the second check reuses the first");
    assert.throws(() => first.permissions.push({ action: "edit", resource: "*" }), TypeError);
    const [head, body, signature = ""] = token.split(".");
    const forged = `${head}.${body}.${signature.slice(0, -2)}${signature.endsWith("AA") ? "BA" : "AA"}`;
    await rejects401(auth.authenticate(`Bearer ${forged}`), /signature verification failed|malformed/);
    await rejects401(auth.authenticate(`Bearer ${forged}`), /signature verification failed|malformed/);
    now = NOW + 59_000;
    assert.equal(await auth.authenticate(`Bearer ${token}`), first);
    now = NOW + 61_000;
    const again = await auth.authenticate(`Bearer ${token}`);
    assert.notEqual(again, first, "after a minute the signature is verified again");
    assert.deepEqual(again, first);
    now = NOW - 60_000;
    await rejects401(auth.authenticate(`Bearer ${token}`), /not yet valid/);
    // Reused until NOW + 340 s, yet refused once exp (NOW + 300 s, plus tolerance) has passed.
    now = NOW + 280_000;
    await auth.authenticate(`Bearer ${token}`);
    now = NOW + 301_000 + 5_000;
    await rejects401(auth.authenticate(`Bearer ${token}`), /expired/);
  });

  it("rejects tokens signed by another registry's key and tokens of another issuer", async () => {
    const seed = generateSigningKeyHex();
    const ours = await createAuth(testEnv({ MCP_REGISTRY_JWT_PRIVATE_KEY: seed }), { now: clock });
    const other = await createAuth(testEnv(), { now: clock });
    const foreign = await other.issueToken("dns", "example.com", publishAll);
    await rejects401(ours.authenticate(`Bearer ${foreign.registry_token}`), /signature verification failed/);
    const sameKeyOtherIssuer = await createAuth(
      testEnv({ MCP_REGISTRY_JWT_PRIVATE_KEY: seed, MCP_REGISTRY_JWT_ISSUER: "other-registry" }),
      { now: clock },
    );
    const wrongIss = await sameKeyOtherIssuer.issueToken("dns", "example.com", publishAll);
    await rejects401(ours.authenticate(`Bearer ${wrongIss.registry_token}`), /wrong issuer/);
  });

  it("rejects alg none and HS256 tokens keyed with the registry's public key", async () => {
    const seed = generateSigningKeyHex();
    const auth = await createAuth(testEnv({ MCP_REGISTRY_JWT_PRIVATE_KEY: seed }), { now: clock });
    const iat = NOW / 1000;
    const claims = {
      iss: "mcp-registry",
      iat,
      nbf: iat,
      exp: iat + 300,
      auth_method: "none",
      auth_method_sub: "x",
      permissions: [{ action: "publish", resource: "*" }],
    };
    const none = `${b64url({ alg: "none", typ: "JWT" })}.${b64url(claims)}.`;
    await rejects401(auth.authenticate(`Bearer ${none}`), /Invalid registry token/);

    const publicPem = createPublicKey(parseSigningKey(seed))
      .export({ format: "pem", type: "spki" })
      .toString();
    const signingInput = `${b64url({ alg: "HS256", typ: "JWT" })}.${b64url(claims)}`;
    const mac = createHmac("sha256", publicPem).update(signingInput).digest("base64url");
    await rejects401(auth.authenticate(`Bearer ${signingInput}.${mac}`), /algorithm not allowed/);
    const hsJose = await new SignJWT(claims)
      .setProtectedHeader({ alg: "HS256" })
      .sign(new TextEncoder().encode(publicPem));
    await rejects401(auth.authenticate(`Bearer ${hsJose}`), /algorithm not allowed/);
  });

  it("rejects a correctly signed token whose claims are malformed", async () => {
    const seed = generateSigningKeyHex();
    const auth = await createAuth(testEnv({ MCP_REGISTRY_JWT_PRIVATE_KEY: seed }), { now: clock });
    const iat = NOW / 1000;
    const token = await new SignJWT({
      auth_method: "dns",
      auth_method_sub: "x",
      permissions: [{ action: "own", resource: "*" }],
    })
      .setProtectedHeader({ alg: "EdDSA" })
      .setIssuer("mcp-registry")
      .setIssuedAt(iat)
      .setNotBefore(iat)
      .setExpirationTime(iat + 60)
      .sign(parseSigningKey(seed));
    await rejects401(auth.authenticate(`Bearer ${token}`), /malformed claims/);
  });

  it("refuses to mint or accept tokens touching a blocked namespace unless they hold *", async () => {
    const env = testEnv({ MCP_REGISTRY_BLOCKED_NAMESPACES: "com.evil, io.github.spammer/*" });
    const auth = await createAuth(env, { now: clock });
    await assert.rejects(
      auth.issueToken("dns", "evil.com", [{ action: "publish", resource: "com.evil/*" }]),
      (e) => {
        assert.ok(e instanceof ProblemError && e.status === 403 && /com\.evil\/\* is blocked/.test(e.detail));
        return true;
      },
    );
    await assert.rejects(
      auth.issueToken("dns", "x.evil.com", [{ action: "publish", resource: "com.evil.x/*" }]),
      /blocked/,
    );
    await auth.issueToken("oidc", "admin", [{ action: "publish", resource: "*" }]);
    await auth.issueToken("dns", "evilcorp.com", [{ action: "publish", resource: "com.evilcorp/*" }]);

    // A token minted before the block stops working as soon as the registry runs with the block.
    const seed = generateSigningKeyHex();
    const before = await createAuth(testEnv({ MCP_REGISTRY_JWT_PRIVATE_KEY: seed }), { now: clock });
    const token = await before.issueToken("github-at", "spammer", [
      { action: "publish", resource: "io.github.spammer/*" },
    ]);
    const after = await createAuth(
      testEnv({ MCP_REGISTRY_JWT_PRIVATE_KEY: seed, MCP_REGISTRY_BLOCKED_NAMESPACES: "io.github.spammer" }),
      { now: clock },
    );
    await assert.rejects(
      after.authenticate(`Bearer ${token.registry_token}`),
      (e) => e instanceof ProblemError && e.status === 403,
    );
  });
});
