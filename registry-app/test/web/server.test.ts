// The catalogue's HTTP side, in-process: the page and its files, their security headers and encodings,
// the size budget, what the page learns from the configuration, and that the API around it is unchanged.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import Fastify from "fastify";
import { problemFromError, sendProblem } from "../../src/http/problem";
import { registerCatalogue } from "../../src/web";
import { negotiateEncoding } from "../../src/web/routes";
import { testRegistry, type TestRegistry } from "../support/registry";

const BUDGET_BYTES = 100 * 1024;

function assetUrls(html: string): { script: string; style: string; icon: string } {
  const script = /<script defer src="(\/assets\/app\.[0-9a-f]{16}\.js)"><\/script>/.exec(html)?.[1];
  const style = /<link rel="stylesheet" href="(\/assets\/app\.[0-9a-f]{16}\.css)">/.exec(html)?.[1];
  const icon = /<link rel="icon" href="(\/assets\/favicon\.[0-9a-f]{16}\.svg)"/.exec(html)?.[1];
  assert.ok(script && style && icon, `asset links missing from:\n${html}`);
  return { script, style, icon };
}

function metaSettings(html: string): Record<string, unknown> {
  const content = /<meta name="mcp-registry-config" content="([^"]*)">/.exec(html)?.[1] ?? "";
  return JSON.parse(
    content.replace(/&#(\d+);/g, (_m, code: string) => String.fromCharCode(Number(code))),
  ) as Record<string, unknown>;
}

describe("web: the catalogue's pages and files", function () {
  this.timeout(120_000);
  let registry: TestRegistry;

  before(async () => {
    registry = await testRegistry("web-server", {
      MCP_REGISTRY_GITHUB_CLIENT_ID: "Iv1.public-id",
      MCP_REGISTRY_GITHUB_CLIENT_SECRET: "github-secret-never-shown",
    });
  });
  after(async () => registry.close());

  it("serves the page at /, /servers/{name}, /publish and the OIDC callback under a strict CSP", async () => {
    const home = await registry.app.inject({ method: "GET", url: "/" });
    assert.equal(home.statusCode, 200, home.body);
    assert.equal(home.headers["content-type"], "text/html; charset=utf-8");
    const csp = String(home.headers["content-security-policy"]);
    assert.equal(
      csp,
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https:; connect-src 'self'; " +
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    );
    assert.doesNotMatch(csp, /unsafe-|data:|\*/);
    assert.equal(home.headers["x-content-type-options"], "nosniff");
    assert.equal(home.headers["referrer-policy"], "no-referrer");
    assert.equal(home.headers["x-frame-options"], "DENY");
    assert.equal(home.headers["cache-control"], "no-cache");
    // Nothing a strict CSP would refuse: no inline script, no style attribute, no event handler attribute.
    for (const script of home.body.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)) {
      assert.match(script[1] ?? "", /\ssrc="\/assets\//, "a script without src");
      assert.equal(script[2], "", "an inline script");
    }
    assert.doesNotMatch(home.body, /<style|\sstyle=|\son[a-z]+=/i);
    for (const url of [
      "/servers/com.example/weather",
      "/servers/io.github.a%2Fb",
      "/publish",
      "/oauth/callback?code=x&state=y",
    ]) {
      const page = await registry.app.inject({ method: "GET", url });
      assert.equal(page.statusCode, 200, url);
      assert.equal(page.body, home.body, `${url} is not the same page`);
      assert.equal(page.headers["content-security-policy"], csp);
    }
    const head = await registry.app.inject({ method: "HEAD", url: "/" });
    assert.equal(head.statusCode, 200);
    assert.equal(head.body, "");
  });

  it("answers If-None-Match with 304 and names files by their content hash, cached for a year", async () => {
    const home = await registry.app.inject({ method: "GET", url: "/" });
    const etag = String(home.headers.etag);
    const again = await registry.app.inject({ method: "GET", url: "/", headers: { "if-none-match": etag } });
    assert.equal(again.statusCode, 304);
    assert.equal(again.body, "");
    const urls = assetUrls(home.body);
    for (const [url, type] of [
      [urls.script, "text/javascript; charset=utf-8"],
      [urls.style, "text/css; charset=utf-8"],
      [urls.icon, "image/svg+xml"],
    ] as const) {
      const plain = await registry.app.inject({ method: "GET", url });
      assert.equal(plain.statusCode, 200, url);
      assert.equal(plain.headers["content-type"], type);
      assert.equal(plain.headers["content-encoding"], undefined);
      assert.equal(plain.headers["cache-control"], "public, max-age=31536000, immutable");
      assert.equal(plain.headers["x-content-type-options"], "nosniff");
      assert.equal(plain.headers.vary, "accept-encoding");
      const hash = createHash("sha256").update(plain.rawPayload).digest("hex").slice(0, 16);
      assert.ok(url.includes(`.${hash}.`), `${url} is not named by the hash of its bytes (${hash})`);
      const brotli = await registry.app.inject({
        method: "GET",
        url,
        headers: { "accept-encoding": "gzip, deflate, br" },
      });
      assert.equal(brotli.headers["content-encoding"], "br");
      assert.deepEqual(brotliDecompressSync(brotli.rawPayload), plain.rawPayload);
      const gzip = await registry.app.inject({ method: "GET", url, headers: { "accept-encoding": "gzip" } });
      assert.equal(gzip.headers["content-encoding"], "gzip");
      assert.deepEqual(gunzipSync(gzip.rawPayload), plain.rawPayload);
    }
    const stale = await registry.app.inject({ method: "GET", url: "/assets/app.0000000000000000.js" });
    assert.equal(stale.statusCode, 404);
    assert.match(String(stale.headers["content-type"]), /application\/problem\+json/);
    assert.equal(stale.headers["cache-control"], "no-store");
    assert.match(JSON.parse(stale.body).detail, /reload the page/);
  });

  it("keeps the home page's HTML, CSS and JavaScript within 100 KiB compressed", async () => {
    const sizes: Record<string, { identity: number; gzip: number; br: number }> = {};
    const home = await registry.app.inject({ method: "GET", url: "/" });
    const urls = assetUrls(home.body);
    for (const [name, url] of [
      ["html", "/"],
      ["css", urls.style],
      ["js", urls.script],
    ] as const) {
      const size = async (encoding: string) =>
        (await registry.app.inject({ method: "GET", url, headers: { "accept-encoding": encoding } }))
          .rawPayload.length;
      sizes[name] = { identity: await size("identity"), gzip: await size("gzip"), br: await size("br") };
    }
    const total = (key: "identity" | "gzip" | "br") =>
      Object.values(sizes).reduce((sum, s) => sum + s[key], 0);
    console.log(
      `      home page: ${Object.entries(sizes)
        .map(([name, s]) => `${name} ${s.identity} B (gzip ${s.gzip}, br ${s.br})`)
        .join(
          "; ",
        )}; total gzip ${(total("gzip") / 1024).toFixed(1)} KiB, br ${(total("br") / 1024).toFixed(1)} KiB`,
    );
    assert.ok(total("gzip") <= BUDGET_BYTES, `gzip total ${total("gzip")} B is over the 100 KiB budget`);
    assert.ok(total("br") <= total("gzip"));
  });

  it("tells the page the login methods and GitHub client id, never a secret", async () => {
    const home = await registry.app.inject({ method: "GET", url: "/" });
    const settings = metaSettings(home.body);
    assert.deepEqual(settings, {
      readAuth: "none",
      oidcIssuer: "",
      oidcClientId: "",
      loginMethods: registry.registry.auth.loginMethods,
      githubClientId: "Iv1.public-id",
      version: "9.9.9-test",
      categories: registry.runtime.classifications.categories().map(({ id, title }) => ({ id, title })),
    });
    assert.ok((settings.categories as unknown[]).length >= 15, "the built-in taxonomy");
    assert.ok((settings.loginMethods as string[]).includes("dns"));
    assert.doesNotMatch(home.body, /github-secret-never-shown/);
    assert.doesNotMatch(home.body, new RegExp(registry.config.MCP_REGISTRY_DATABASE_URL ?? "postgres://"));
  });

  it("leaves the API, its documentation and the unknown-route answers as they were", async () => {
    const list = await registry.app.inject({ method: "GET", url: "/v0.1/servers" });
    assert.equal(list.statusCode, 200);
    assert.match(String(list.headers["content-type"]), /^application\/json/);
    assert.equal(list.headers["content-security-policy"], undefined, "the API got the page's headers");
    for (const url of ["/docs", "/openapi.json", "/v0.1/docs", "/health"]) {
      assert.equal((await registry.app.inject({ method: "GET", url })).statusCode, 200, url);
    }
    const unknown = await registry.app.inject({ method: "GET", url: "/servers" });
    assert.equal(unknown.statusCode, 404);
    assert.match(String(unknown.headers["content-type"]), /application\/problem\+json/);
    const slash = await registry.app.inject({ method: "GET", url: "/publish/" });
    assert.equal(slash.statusCode, 308);
    assert.equal(slash.headers.location, "/publish");
  });
});

describe("web: catalogue settings with private reads", function () {
  this.timeout(120_000);
  let registry: TestRegistry;
  before(async () => {
    registry = await testRegistry("web-server-private", {
      MCP_REGISTRY_OIDC_ENABLED: "true",
      MCP_REGISTRY_OIDC_ISSUER: "https://login.example.com/realms/acme",
      MCP_REGISTRY_OIDC_CLIENT_ID: "registry-web",
      MCP_REGISTRY_READ_AUTH: "oidc",
    });
  });
  after(async () => registry.close());

  it("serves the page without a token, lets the page reach the issuer, and names the issuer and client", async () => {
    const home = await registry.app.inject({ method: "GET", url: "/" });
    assert.equal(home.statusCode, 200);
    assert.match(
      String(home.headers["content-security-policy"]),
      /connect-src 'self' https:\/\/login\.example\.com;/,
    );
    const settings = metaSettings(home.body);
    assert.equal(settings.readAuth, "oidc");
    assert.equal(settings.oidcIssuer, "https://login.example.com/realms/acme");
    assert.equal(settings.oidcClientId, "registry-web");
    assert.equal(settings.categories, undefined, "a signed-out visitor learns nothing of the catalogue");
    assert.equal((await registry.app.inject({ method: "GET", url: "/v0.1/servers" })).statusCode, 401);
  });
});

describe("web: catalogue failures and encodings", () => {
  it("answers 503 in words when the catalogue cannot be built, and recovers on the next request", async () => {
    const app = Fastify();
    app.setErrorHandler(
      (error, _request, reply) => void sendProblem(reply, problemFromError(error, 1024).body),
    );
    let attempts = 0;
    registerCatalogue(app, {
      settings: {
        readAuth: "none",
        oidcIssuer: "",
        oidcClientId: "",
        loginMethods: [],
        githubClientId: "",
        version: "1",
      },
      loadAssets: async () => {
        attempts += 1;
        throw new Error("esbuild-wasm is not installed");
      },
    });
    const failed = await app.inject({ method: "GET", url: "/" });
    assert.equal(failed.statusCode, 503);
    assert.match(JSON.parse(failed.body).detail, /could not be loaded: esbuild-wasm is not installed/);
    await app.inject({ method: "GET", url: "/publish" });
    assert.equal(attempts, 2, "a failed load is retried, not remembered");
    await app.close();
  });

  it("picks brotli, then gzip, honouring q=0", () => {
    assert.equal(negotiateEncoding("gzip, deflate, br"), "br");
    assert.equal(negotiateEncoding("gzip"), "gzip");
    assert.equal(negotiateEncoding("br;q=0, gzip;q=0.5"), "gzip");
    assert.equal(negotiateEncoding("*"), "br");
    assert.equal(negotiateEncoding("*;q=0, identity"), "identity");
    assert.equal(negotiateEncoding(undefined), "identity");
  });
});
