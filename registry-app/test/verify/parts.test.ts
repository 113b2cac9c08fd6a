import assert from "node:assert/strict";
import { ConfigError, loadConfig } from "../../src/config";
import { generateSigningKeyHex } from "../../src/auth";
import { tarGzText, zipText } from "../../src/verify/archives";
import { mcpNamesIn } from "../../src/verify/common";
import { CredentialStore, parseCredentials } from "../../src/verify/credentials";
import { MetadataTokenSource } from "../../src/verify/metadata";
import { nuspecReadme } from "../../src/verify/nuget";
import { parseChallenge, parseImageReference } from "../../src/verify/oci";
import { isReleaseFile, normalizeProjectName, parseSimplePage } from "../../src/verify/pypi";
import { hostAllowed, normalizeBaseUrl } from "../../src/verify/urls";
import { json, Loopback, tarGz, zip } from "./fakes";

const base = {
  MCP_REGISTRY_DATABASE_URL: "postgres://u:p@db:5432/r",
  MCP_REGISTRY_JWT_PRIVATE_KEY: generateSigningKeyHex(),
};

function configProblems(env: Record<string, string>): string[] {
  try {
    loadConfig({ ...base, ...env });
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe("verify: parts", () => {
  describe("configuration", () => {
    it("is on by default with a database URL, off when embedded unless asked for", () => {
      assert.equal(loadConfig(base).MCP_REGISTRY_ENABLE_REGISTRY_VALIDATION, true);
      const embedded = { MCP_REGISTRY_JWT_PRIVATE_KEY: base.MCP_REGISTRY_JWT_PRIVATE_KEY };
      assert.equal(loadConfig(embedded).MCP_REGISTRY_ENABLE_REGISTRY_VALIDATION, false);
      assert.equal(
        loadConfig({ ...embedded, MCP_REGISTRY_ENABLE_REGISTRY_VALIDATION: "true" })
          .MCP_REGISTRY_ENABLE_REGISTRY_VALIDATION,
        true,
      );
      const config = loadConfig(base);
      assert.deepEqual(config.MCP_REGISTRY_NPM_REGISTRY_URLS, ["https://registry.npmjs.org"]);
      assert.deepEqual(config.MCP_REGISTRY_NUGET_URLS, ["https://api.nuget.org/v3/index.json"]);
      assert.ok(config.MCP_REGISTRY_OCI_REGISTRIES.includes("*.pkg.dev"));
    });

    it("normalises lists and names each bad variable without echoing secrets", () => {
      const config = loadConfig({
        ...base,
        MCP_REGISTRY_NPM_REGISTRY_URLS: " https://NPM.Example.com/repo/ ,http://localhost:4873",
        MCP_REGISTRY_OCI_REGISTRIES: "GHCR.io registry.local:5000 *.pkg.dev",
      });
      assert.deepEqual(config.MCP_REGISTRY_NPM_REGISTRY_URLS, [
        "https://npm.example.com/repo",
        "http://localhost:4873",
      ]);
      assert.deepEqual(config.MCP_REGISTRY_OCI_REGISTRIES, ["ghcr.io", "registry.local:5000", "*.pkg.dev"]);
      const problems = configProblems({
        MCP_REGISTRY_NPM_REGISTRY_URLS: "http://npm.example.com",
        MCP_REGISTRY_OCI_REGISTRIES: "https://ghcr.io",
        MCP_REGISTRY_PACKAGE_CREDENTIALS: JSON.stringify([
          { url: "https://npm.example.com", token: "hunter2", password: "x" },
        ]),
        MCP_REGISTRY_PACKAGE_TIMEOUT_MS: "5",
      });
      assert.equal(problems.length, 4, problems.join("\n"));
      assert.match(
        problems.find((p) => p.startsWith("MCP_REGISTRY_NPM_REGISTRY_URLS")) ?? "",
        /not an https:\/\/ base URL/,
      );
      assert.match(
        problems.find((p) => p.startsWith("MCP_REGISTRY_OCI_REGISTRIES")) ?? "",
        /not a host name/,
      );
      assert.match(
        problems.find((p) => p.startsWith("MCP_REGISTRY_PACKAGE_CREDENTIALS")) ?? "",
        /entry \[0\].*give exactly one of/,
      );
      assert.ok(!problems.join("\n").includes("hunter2"), "secrets are never echoed");
    });

    it("parses every credential form and refuses malformed entries by position", () => {
      assert.deepEqual(
        parseCredentials(
          JSON.stringify([
            { url: "https://a.example/npm/", token: "t" },
            { url: "https://b.example", tokenFile: "/run/secrets/b" },
            { url: "https://c.example", username: "u", passwordEnv: "C_PASSWORD" },
            { url: "https://d.example", gcpMetadata: true },
          ]),
        ).map((entry) => [entry.url, entry.auth.kind]),
        [
          ["https://a.example/npm", "bearer"],
          ["https://b.example", "bearer"],
          ["https://c.example", "basic"],
          ["https://d.example", "gcp-metadata"],
        ],
      );
      assert.deepEqual(parseCredentials(""), []);
      for (const [raw, message] of [
        ["{}", /JSON array/],
        ["not json", /JSON array/],
        [JSON.stringify([{ url: "https://a.example", tokn: "x" }]), /entry \[0\]: unknown field tokn/],
        [JSON.stringify([{ url: "ftp://a.example", token: "x" }]), /entry \[0\]\.url: expected an https/],
        [JSON.stringify([{ url: "https://a.example", username: "u" }]), /needs a password/],
        [
          JSON.stringify([{ url: "https://a.example", passwordFile: "/x" }]),
          /"username" needs a password|give exactly/,
        ],
        [JSON.stringify([{ url: "https://a.example", token: "x", gcpMetadata: true }]), /give exactly one/],
      ] as const) {
        assert.throws(() => parseCredentials(raw), message, raw);
      }
    });

    it("matches credentials by URL prefix at a path boundary, longest first, and reads files and variables at use", async () => {
      process.env.TEST_VERIFY_TOKEN = "from-env";
      try {
        const store = new CredentialStore(
          parseCredentials(
            JSON.stringify([
              { url: "https://reg.example", token: "host-wide" },
              { url: "https://reg.example/npm/private", tokenEnv: "TEST_VERIFY_TOKEN" },
              { url: "https://pkg.example", username: "u", password: "p" },
              { url: "https://ar.example", gcpMetadata: true },
            ]),
          ),
          async () => "google-token",
        );
        assert.equal(
          await store.authorization("https://reg.example/npm/private/pkg/1.0.0", "npm"),
          "Bearer from-env",
        );
        assert.equal(
          await store.authorization("https://reg.example/npm/privateer/pkg", "npm"),
          "Bearer host-wide",
        );
        assert.equal(await store.authorization("https://other.example/npm/private/pkg", "npm"), undefined);
        assert.equal(
          await store.authorization("https://pkg.example/x", "pypi"),
          `Basic ${Buffer.from("u:p").toString("base64")}`,
        );
        assert.equal(await store.authorization("https://ar.example/x", "npm"), "Bearer google-token");
        assert.equal(
          await store.authorization("https://ar.example/x", "pypi"),
          `Basic ${Buffer.from("oauth2accesstoken:google-token").toString("base64")}`,
        );
        assert.equal(
          await store.basicCredentials("https://reg.example/token"),
          undefined,
          "bearer tokens are not Basic",
        );
        delete process.env.TEST_VERIFY_TOKEN;
        await assert.rejects(
          store.authorization("https://reg.example/npm/private/x", "npm"),
          /variable TEST_VERIFY_TOKEN is not set/,
        );
      } finally {
        delete process.env.TEST_VERIFY_TOKEN;
      }
    });
  });

  describe("GKE metadata tokens", () => {
    let metadata: Loopback;
    let issued = 0;
    before(async () => {
      metadata = await Loopback.start();
      metadata.on("/computeMetadata/v1/instance/service-accounts/default/token", (request) => {
        if (request.headers["metadata-flavor"] !== "Google") return { status: 403, body: "" };
        issued += 1;
        return json({ access_token: `token-${issued}`, expires_in: 300, token_type: "Bearer" });
      });
    });
    after(() => metadata.close());

    it("shares one request among concurrent callers and renews a minute before expiry", async () => {
      let now = 1_000_000;
      const source = new MetadataTokenSource({ baseUrl: metadata.base, timeoutMs: 1_000, now: () => now });
      assert.deepEqual(await Promise.all([source.token(), source.token(), source.token()]), [
        "token-1",
        "token-1",
        "token-1",
      ]);
      now += 230_000;
      assert.equal(await source.token(), "token-1");
      now += 20_000;
      assert.equal(await source.token(), "token-2", "renewed within the last minute");
      const broken = new MetadataTokenSource({ baseUrl: `${metadata.base}/nowhere`, timeoutMs: 1_000 });
      await assert.rejects(broken.token(), /answered status 404/);
    });
  });

  describe("formats", () => {
    it("reads OCI references the way docker does", () => {
      assert.deepEqual(parseImageReference("weather"), {
        registry: "docker.io",
        apiHost: "registry-1.docker.io",
        repository: "library/weather",
        reference: "latest",
      });
      assert.deepEqual(parseImageReference("acme/weather:1.0"), {
        registry: "docker.io",
        apiHost: "registry-1.docker.io",
        repository: "acme/weather",
        reference: "1.0",
      });
      const digest = `sha256:${"a".repeat(64)}`;
      assert.deepEqual(parseImageReference(`europe-docker.pkg.dev/p/r/img:1.0@${digest}`), {
        registry: "europe-docker.pkg.dev",
        apiHost: "europe-docker.pkg.dev",
        repository: "p/r/img",
        reference: digest,
      });
      assert.equal(parseImageReference("localhost:5000/img")?.registry, "localhost:5000");
      for (const bad of ["", "UPPER/case", "img@sha256:short", "img:bad tag", "a//b"]) {
        assert.equal(parseImageReference(bad), undefined, bad);
      }
      assert.deepEqual(
        parseChallenge('Bearer realm="https://auth.example/token",service="reg",scope="repository:a:pull"'),
        {
          scheme: "bearer",
          params: { realm: "https://auth.example/token", service: "reg", scope: "repository:a:pull" },
        },
      );
    });

    it("finds whole mcp-name claims only", () => {
      assert.deepEqual(mcpNamesIn("x\nmcp-name: io.github.acme/weather\n"), ["io.github.acme/weather"]);
      assert.deepEqual(mcpNamesIn("<!-- mcp-name: io.github.acme/weather -->"), ["io.github.acme/weather"]);
      assert.deepEqual(mcpNamesIn("mcp-name: io.github.acme/weather."), ["io.github.acme/weather"]);
      assert.deepEqual(mcpNamesIn("mcp-name: io.github.acme/weather-extra"), [
        "io.github.acme/weather-extra",
      ]);
      assert.deepEqual(mcpNamesIn("mcp-name:io.github.acme/weather"), ["io.github.acme/weather"]);
      assert.deepEqual(mcpNamesIn("mcp-name io.github.acme/weather"), []);
    });

    it("reads Simple API pages (HTML and PEP 691 JSON) and release file names", () => {
      const html = parseSimplePage(
        '<a href="../../files/a_b-1.0-py3-none-any.whl#sha256=1" data-core-metadata="sha256=2">a_b-1.0-py3-none-any.whl</a>' +
          "<a href='https://files.example/a-b-1.0.tar.gz'>a-b-1.0.tar.gz</a>",
        "text/html",
        "https://pypi.example/simple/a-b/",
      );
      assert.deepEqual(html, [
        {
          filename: "a_b-1.0-py3-none-any.whl",
          url: "https://pypi.example/files/a_b-1.0-py3-none-any.whl",
          hasMetadata: true,
        },
        { filename: "a-b-1.0.tar.gz", url: "https://files.example/a-b-1.0.tar.gz", hasMetadata: false },
      ]);
      const page = parseSimplePage(
        JSON.stringify({
          files: [{ filename: "a_b-1.0-py3-none-any.whl", url: "x.whl", "core-metadata": false }],
        }),
        "application/vnd.pypi.simple.v1+json",
        "https://pypi.example/simple/a-b/",
      );
      assert.deepEqual(page, [
        {
          filename: "a_b-1.0-py3-none-any.whl",
          url: "https://pypi.example/simple/a-b/x.whl",
          hasMetadata: false,
        },
      ]);
      assert.equal(normalizeProjectName("Acme_Weather.MCP"), "acme-weather-mcp");
      assert.ok(isReleaseFile("acme_weather-1.0.0-py3-none-any.whl", "acme-weather", "1.0.0"));
      assert.ok(isReleaseFile("Acme-Weather-1.0.0.tar.gz", "acme_weather", "1.0.0"));
      assert.ok(!isReleaseFile("acme_weather-1.0.1-py3-none-any.whl", "acme-weather", "1.0.0"));
      assert.ok(!isReleaseFile("acme_weathers-1.0.0.tar.gz", "acme-weather", "1.0.0"));
    });

    it("reads zip and tar.gz entries, refusing corrupt archives and oversized entries", () => {
      const archive = zip({ "a/METADATA": "hello", "b.txt": "x".repeat(5000) });
      assert.equal(
        zipText(archive, (name) => name.endsWith("METADATA"), 1000),
        "hello",
      );
      assert.equal(
        zipText(archive, (name) => name === "missing", 1000),
        undefined,
      );
      assert.throws(() => zipText(archive, (name) => name === "b.txt", 1000), /larger than 1000 bytes/);
      assert.throws(() => zipText(Buffer.from("not a zip"), () => true, 1000), /not a zip archive/);
      const tar = tarGz({ "pkg-1.0/setup.py": "", "pkg-1.0/PKG-INFO": "Name: pkg" });
      assert.equal(
        tarGzText(tar, (path) => path.endsWith("/PKG-INFO"), 100_000),
        "Name: pkg",
      );
      assert.throws(() => tarGzText(Buffer.from("nope"), () => true, 1000), /not a gzip archive/);
      assert.equal(
        nuspecReadme("<package><metadata><readme>docs\\README.md</readme></metadata></package>"),
        "docs/README.md",
      );
      assert.equal(nuspecReadme("<package/>"), undefined);
    });

    it("compares base URLs and hosts as the allow-lists mean them", () => {
      assert.equal(normalizeBaseUrl("HTTPS://Reg.Example/Path/"), "https://reg.example/Path");
      assert.equal(normalizeBaseUrl("https://user:pw@reg.example"), undefined);
      assert.equal(normalizeBaseUrl("http://reg.example"), undefined);
      assert.equal(normalizeBaseUrl("http://127.0.0.1:4873"), "http://127.0.0.1:4873");
      assert.ok(hostAllowed("europe-docker.pkg.dev", ["*.pkg.dev"]));
      assert.ok(!hostAllowed("pkg.dev", ["*.pkg.dev"]));
      assert.ok(!hostAllowed("evilpkg.dev", ["*.pkg.dev"]));
      assert.ok(hostAllowed("GHCR.io", ["ghcr.io"]));
      assert.ok(!hostAllowed("ghcr.io:8443", ["ghcr.io"]));
    });
  });
});
