import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { LightMyRequestResponse } from "fastify";
import type { Problem, Validation } from "../support/answers";
import { bearer, serverJson, testRegistry, type TestRegistry } from "../support/registry";
import { freePort } from "../support/process";
import { basicAuth, guarded, json, Loopback, ociImage, sha256Hex, tarGz, zip } from "./fakes";

const NAME = "com.example/weather";
const stdio = { type: "stdio" };

/**
 * Package verification end to end: the registry's publish, edit and /validate against loopback fakes
 * of the npm registry API, the PyPI JSON and Simple APIs, a NuGet v3 feed, an OCI distribution
 * registry with token auth, MCPB download hosts and the GKE metadata server.
 */
describe("verify: package ownership against loopback registries", function () {
  this.timeout(60_000);
  const fakes: Loopback[] = [];
  let npm: Loopback;
  let npmPrivate: Loopback;
  let npmGoogle: Loopback;
  let metadata: Loopback;
  let pypi: Loopback;
  let pypiSimple: Loopback;
  let nuget: Loopback;
  let nugetBare: Loopback;
  let oci: Loopback;
  let ociPrivate: Loopback;
  let cdn: Loopback;
  let mcpbHost: Loopback;
  let mcpbStorage: Loopback;
  let elsewhere: Loopback;
  let secretDir: string;
  let registry: TestRegistry;
  let token: string;
  let version = 0;

  const start = async (host?: string) => {
    const fake = await Loopback.start(host);
    fakes.push(fake);
    return fake;
  };

  before(async () => {
    npm = await start();
    npmPrivate = await start();
    npmGoogle = await start();
    metadata = await start();
    pypi = await start();
    pypiSimple = await start();
    nuget = await start();
    nugetBare = await start();
    oci = await start();
    ociPrivate = await start();
    mcpbHost = await start();
    // Other hosts (same machine, another name and port) for redirects and blob storage.
    cdn = await start("localhost");
    mcpbStorage = await start("localhost");
    elsewhere = await start("localhost");
    secretDir = fs.mkdtempSync(path.join(os.tmpdir(), "verify-secrets-"));
    fs.writeFileSync(path.join(secretDir, "npm-token"), "s3cret-npm-token\n");
    process.env.TEST_OCI_PASSWORD = "oci-pass";
    registry = await testRegistry("verify", {
      MCP_REGISTRY_ENABLE_REGISTRY_VALIDATION: "true",
      MCP_REGISTRY_PACKAGE_ALLOW_PRIVATE: "true",
      MCP_REGISTRY_PACKAGE_TIMEOUT_MS: "1500",
      MCP_REGISTRY_PACKAGE_MAX_BYTES: "200000",
      MCP_REGISTRY_NPM_REGISTRY_URLS: `${npm.base}, ${npmPrivate.base}/private, ${npmGoogle.base}`,
      MCP_REGISTRY_PYPI_URLS: `${pypi.base},${pypiSimple.base}/simple-only`,
      MCP_REGISTRY_NUGET_URLS: `${nuget.base}/v3/index.json ${nugetBare.base}/v3/index.json`,
      MCP_REGISTRY_OCI_REGISTRIES: `${oci.host},${ociPrivate.host}`,
      MCP_REGISTRY_MCPB_HOSTS: `${mcpbHost.host},${mcpbStorage.host}`,
      MCP_REGISTRY_GCP_METADATA_URL: metadata.base,
      MCP_REGISTRY_PACKAGE_CREDENTIALS: JSON.stringify([
        { url: `${npmPrivate.base}/private`, tokenFile: path.join(secretDir, "npm-token") },
        { url: npmGoogle.base, gcpMetadata: true },
        { url: ociPrivate.base, username: "puller", passwordEnv: "TEST_OCI_PASSWORD" },
      ]),
    });
    token = await registry.token([{ action: "publish", resource: "com.example/*" }]);
  });

  after(async () => {
    await registry.close();
    await Promise.all(fakes.map((fake) => fake.close()));
    fs.rmSync(secretDir, { recursive: true, force: true });
    delete process.env.TEST_OCI_PASSWORD;
  });

  /** Publishes NAME at a fresh version with these packages. */
  async function publish(packages: unknown[], name = NAME): Promise<LightMyRequestResponse> {
    version += 1;
    return registry.app.inject({
      method: "POST",
      url: "/v0.1/publish",
      headers: bearer(token),
      payload: serverJson(name, `1.0.${version}`, { packages }),
    });
  }

  async function validate(packages: unknown[], target = registry): Promise<Validation> {
    const response = await target.app.inject({
      method: "POST",
      url: "/v0.1/validate",
      payload: serverJson(NAME, "9.9.9", { packages }),
    });
    assert.equal(response.statusCode, 200, response.body);
    return response.json<Validation>();
  }

  function assertRefused(
    response: LightMyRequestResponse,
    status: number,
    location: string,
    message: RegExp,
  ): Problem {
    assert.equal(response.statusCode, status, response.body);
    assert.match(String(response.headers["content-type"]), /problem\+json/);
    const problem = response.json<Problem>();
    const error = problem.errors?.find((candidate) => candidate.location === location);
    assert.ok(error, `an error at ${location}: ${response.body}`);
    assert.match(error.message, message);
    return problem;
  }

  const npmPackage = (identifier: string, packageVersion: string, base?: string) => ({
    registryType: "npm",
    ...(base !== undefined && { registryBaseUrl: base }),
    identifier,
    version: packageVersion,
    transport: stdio,
  });

  describe("npm", () => {
    before(() => {
      npm.on("/@acme%2Fweather/1.2.3", json({ name: "@acme/weather", version: "1.2.3", mcpName: NAME }));
      npm.on("/@acme%2Fweather/1.0.0", json({ name: "@acme/weather", version: "1.0.0" }));
      npm.on(
        "/@acme%2Fweather/0.9.0",
        json({ name: "@acme/weather", version: "0.9.0", mcpName: "com.other/weather" }),
      );
      npm.on("/slow/1.0.0", "hang");
      npm.on("/huge/1.0.0", json({ mcpName: NAME, readme: "x".repeat(300_000) }));
      npm.on("/moved/1.0.0", { status: 302, headers: { location: `${elsewhere.base}/moved/1.0.0` } });
      npm.on("/flaky/1.0.0", { status: 503, body: "{}" });
    });

    it("publishes when package.json names the server (mcpName), and remembers the proof", async () => {
      const before = npm.requests("/@acme%2Fweather/1.2.3");
      assert.equal((await publish([npmPackage("@acme/weather", "1.2.3")])).statusCode, 200);
      assert.equal((await publish([npmPackage("@acme/weather", "1.2.3")])).statusCode, 200);
      assert.equal(
        npm.requests("/@acme%2Fweather/1.2.3") - before,
        1,
        "the second publish used the cached proof",
      );
    });

    it("422 with the exact fix when mcpName is missing", async () => {
      const response = await publish([npmPackage("@acme/weather", "1.0.0")]);
      const problem = assertRefused(
        response,
        422,
        "body.packages[0]",
        /has no "mcpName" in its package\.json; add "mcpName": "com\.example\/weather" to package\.json, publish that as a new version of @acme\/weather, set packages\[0\]\.version to it, then publish com\.example\/weather 1\.0\.\d+ again/,
      );
      assert.match(problem.detail, /Package ownership is not proven/);
    });

    it("422 when mcpName names another server, 422 when the package does not exist", async () => {
      assertRefused(
        await publish([npmPackage("@acme/weather", "0.9.0")]),
        422,
        "body.packages[0]",
        /"mcpName": "com\.other\/weather".*names another server/,
      );
      assertRefused(
        await publish([npmPackage("@acme/nothing", "1.0.0")]),
        422,
        "body.packages[0]",
        /was not found in http:\/\/127\.0\.0\.1:\d+; publish it there/,
      );
    });

    it("names the package among several (packages[1]) and refuses a registry not on the list", async () => {
      const response = await publish([
        npmPackage("@acme/weather", "1.2.3"),
        npmPackage("@acme/weather", "1.0.0"),
        npmPackage("@acme/weather", "1.2.3", "https://npm.evil.example"),
      ]);
      assertRefused(response, 422, "body.packages[1]", /no "mcpName"/);
      assertRefused(
        response,
        422,
        "body.packages[2]",
        /registryBaseUrl "https:\/\/npm\.evil\.example" is not a npm registry this registry verifies against/,
      );
      assert.equal(response.json<Problem>().errors?.length, 2);
    });

    it("503 naming the registry when it is down, slow or failing; 502 when oversized or redirected elsewhere", async () => {
      const down = `http://127.0.0.1:${await freePort()}`;
      const closed = await testRegistry("verify_down", {
        MCP_REGISTRY_ENABLE_REGISTRY_VALIDATION: "true",
        MCP_REGISTRY_PACKAGE_ALLOW_PRIVATE: "true",
        MCP_REGISTRY_NPM_REGISTRY_URLS: down,
      });
      try {
        const response = await closed.app.inject({
          method: "POST",
          url: "/v0.1/publish",
          headers: bearer(await closed.token([{ action: "publish", resource: "*" }])),
          payload: serverJson(NAME, "1.0.0", { packages: [npmPackage("@acme/weather", "1.2.3")] }),
        });
        const problem = assertRefused(response, 503, "body.packages[0]", /could not be reached/);
        assert.ok(problem.detail.includes(down), problem.detail);
        assert.match(String(response.headers["retry-after"]), /^\d+$/);
      } finally {
        await closed.close();
      }
      const slow = await publish([npmPackage("slow", "1.0.0")]);
      assertRefused(slow, 503, "body.packages[0]", /did not answer within 1500 ms/);
      assertRefused(
        await publish([npmPackage("flaky", "1.0.0")]),
        503,
        "body.packages[0]",
        /answered status 503/,
      );
      assertRefused(
        await publish([npmPackage("huge", "1.0.0")]),
        502,
        "body.packages[0]",
        /more bytes than this registry reads/,
      );
      assertRefused(
        await publish([npmPackage("moved", "1.0.0")]),
        502,
        "body.packages[0]",
        /redirected to another host \(localhost:\d+\)/,
      );
      assert.equal(elsewhere.requests("/moved/1.0.0"), 0, "the other host was never asked");
    });

    it("a private registry with a token from a mounted file; without it a 502 says credentials are missing", async () => {
      const protectedPath = "/private/@acme%2Finternal/2.0.0";
      npmPrivate.on(protectedPath, guarded("Bearer s3cret-npm-token", json({ mcpName: NAME })));
      const base = `${npmPrivate.base}/private`;
      assert.equal((await publish([npmPackage("@acme/internal", "2.0.0", base)])).statusCode, 200);
      assert.equal(npmPrivate.seen.at(-1)?.authorization, "Bearer s3cret-npm-token");
      // A rotated Secret file applies without a restart; the old token is refused by the registry.
      fs.writeFileSync(path.join(secretDir, "npm-token"), "rotated-token\n");
      npmPrivate.on(
        "/private/@acme%2Finternal/2.0.1",
        guarded("Bearer s3cret-npm-token", json({ mcpName: NAME })),
      );
      const refused = await publish([npmPackage("@acme/internal", "2.0.1", base)]);
      assertRefused(
        refused,
        502,
        "body.packages[0]",
        /refused access .* configure credentials .*MCP_REGISTRY_PACKAGE_CREDENTIALS/,
      );
      assert.ok(
        !refused.body.includes("rotated-token") && !refused.body.includes("s3cret"),
        "no secret in the answer",
      );
      fs.writeFileSync(path.join(secretDir, "npm-token"), "s3cret-npm-token\n");
      // The public registry never receives the private registry's token.
      assert.equal((await publish([npmPackage("@acme/weather", "1.2.3")])).statusCode, 200);
      assert.ok(npm.seen.every((request) => request.authorization === undefined));
    });

    it("Artifact Registry through Workload Identity: a metadata-server token, fetched once and reused", async () => {
      metadata.on("/computeMetadata/v1/instance/service-accounts/default/token", (request) =>
        request.headers["metadata-flavor"] === "Google"
          ? json({ access_token: "ya29.workload-token", expires_in: 3599, token_type: "Bearer" })
          : { status: 403, body: "missing Metadata-Flavor" },
      );
      for (const id of ["a", "b"])
        npmGoogle.on(`/@acme%2F${id}/1.0.0`, guarded("Bearer ya29.workload-token", json({ mcpName: NAME })));
      const base = npmGoogle.base;
      assert.equal(
        (await publish([npmPackage("@acme/a", "1.0.0", base), npmPackage("@acme/b", "1.0.0", base)]))
          .statusCode,
        200,
      );
      assert.equal(metadata.requests("/computeMetadata/v1/instance/service-accounts/default/token"), 1);
    });
  });

  describe("PyPI", () => {
    const metadataText = (line: string) =>
      `Metadata-Version: 2.1\nName: acme-weather\nVersion: 1.0.0\n\n# Acme weather\n\n${line}\n`;

    before(() => {
      pypi.on(
        "/pypi/acme-weather/1.0.0/json",
        json({ info: { description: `# Weather\n\nmcp-name: ${NAME}\n` } }),
      );
      pypi.on("/pypi/acme-weather/0.1.0/json", json({ info: { description: "# Weather, no proof" } }));
      pypi.on("/pypi/acme-weather/0.2.0/json", json({ info: { description: `mcp-name: ${NAME}-extra` } }));
      // Artifact Registry serves only the Simple API: a wheel, an sdist and PEP 658 metadata.
      const simple = (files: string) => ({
        status: 200,
        headers: { "content-type": "text/html" },
        body: `<!DOCTYPE html><html><body>${files}</body></html>`,
      });
      pypiSimple.on(
        "/simple-only/simple/acme-weather/",
        simple(
          `<a href="../../files/acme_weather-1.0.0-py3-none-any.whl#sha256=00">acme_weather-1.0.0-py3-none-any.whl</a>` +
            `<a href="../../files/acme-weather-2.0.0.tar.gz">acme-weather-2.0.0.tar.gz</a>` +
            `<a href="../../files/acme_weather-3.0.0-py3-none-any.whl" data-core-metadata="sha256=00">acme_weather-3.0.0-py3-none-any.whl</a>` +
            `<a href="${elsewhere.base}/files/acme_weather-4.0.0-py3-none-any.whl">acme_weather-4.0.0-py3-none-any.whl</a>`,
        ),
      );
      pypiSimple.on("/simple-only/files/acme_weather-1.0.0-py3-none-any.whl", {
        status: 200,
        body: zip({
          "acme_weather/__init__.py": "",
          "acme_weather-1.0.0.dist-info/METADATA": metadataText(`mcp-name: ${NAME}`),
        }),
      });
      pypiSimple.on("/simple-only/files/acme-weather-2.0.0.tar.gz", {
        status: 200,
        body: tarGz({
          "acme-weather-2.0.0/setup.py": "",
          "acme-weather-2.0.0/PKG-INFO": metadataText("no proof here"),
        }),
      });
      pypiSimple.on("/simple-only/files/acme_weather-3.0.0-py3-none-any.whl.metadata", {
        status: 200,
        body: metadataText(`mcp-name: ${NAME}`),
      });
    });

    const pypiPackage = (packageVersion: string, base?: string) => ({
      registryType: "pypi",
      ...(base !== undefined && { registryBaseUrl: base }),
      identifier: "acme-weather",
      version: packageVersion,
      transport: stdio,
    });

    it("the JSON API: proof present, missing, or naming another server (whole names only)", async () => {
      assert.equal((await publish([pypiPackage("1.0.0")])).statusCode, 200);
      assertRefused(
        await publish([pypiPackage("0.1.0")]),
        422,
        "body.packages[0]",
        /has no "mcp-name: com\.example\/weather" line in its description \(README\); add that line, publish a new release of acme-weather with it/,
      );
      assertRefused(
        await publish([pypiPackage("0.2.0")]),
        422,
        "body.packages[0]",
        /names another server .*mcp-name: com\.example\/weather-extra/,
      );
    });

    it("the Simple API (Artifact Registry): wheel METADATA, PEP 658 metadata, sdist PKG-INFO, missing versions", async () => {
      const base = `${pypiSimple.base}/simple-only`;
      assert.equal((await publish([pypiPackage("1.0.0", base)])).statusCode, 200);
      assert.equal((await publish([pypiPackage("3.0.0", base)])).statusCode, 200);
      assert.equal(
        pypiSimple.requests("/simple-only/files/acme_weather-3.0.0-py3-none-any.whl"),
        0,
        "metadata only",
      );
      assertRefused(
        await publish([pypiPackage("2.0.0", base)]),
        422,
        "body.packages[0]",
        /has no "mcp-name: com\.example\/weather" line/,
      );
      assertRefused(
        await publish([pypiPackage("5.0.0", base)]),
        422,
        "body.packages[0]",
        /no files for that version/,
      );
      // A file link to another host is not followed.
      assertRefused(
        await publish([pypiPackage("4.0.0", base)]),
        422,
        "body.packages[0]",
        /no files for that version on this host/,
      );
    });
  });

  describe("NuGet", () => {
    before(() => {
      for (const [fake, readme] of [
        [nuget, true],
        [nugetBare, false],
      ] as const) {
        fake.on(
          "/v3/index.json",
          json({
            version: "3.0.0",
            resources: [
              { "@id": `${fake.base}/v3-flatcontainer/`, "@type": "PackageBaseAddress/3.0.0" },
              ...(readme
                ? [
                    {
                      "@id": `${fake.base}/v3-flatcontainer/{lower_id}/{lower_version}/readme`,
                      "@type": "ReadmeUriTemplate/6.13.0",
                    },
                  ]
                : []),
            ],
          }),
        );
        fake.on(
          "/v3-flatcontainer/acme.weather/index.json",
          json({ versions: ["1.0.0", "1.1.0", "2.0.0-beta.1"] }),
        );
      }
      nuget.on("/v3-flatcontainer/acme.weather/1.0.0/readme", {
        status: 200,
        body: `# Acme\n\nmcp-name: ${NAME}\n`,
      });
      nuget.on("/v3-flatcontainer/acme.weather/1.1.0/readme", { status: 200, body: "# Acme, no proof" });
      const nupkg = (readme: string | undefined) =>
        zip({
          "Acme.Weather.nuspec": `<?xml version="1.0"?><package><metadata><id>Acme.Weather</id>${readme === undefined ? "" : "<readme>docs\\README.md</readme>"}</metadata></package>`,
          ...(readme === undefined ? {} : { "docs/README.md": readme }),
        });
      nugetBare.on("/v3-flatcontainer/acme.weather/1.0.0/acme.weather.1.0.0.nupkg", {
        status: 200,
        body: nupkg(`mcp-name: ${NAME}`),
      });
      nugetBare.on("/v3-flatcontainer/acme.weather/1.1.0/acme.weather.1.1.0.nupkg", {
        status: 200,
        body: nupkg(undefined),
      });
    });

    const nugetPackage = (packageVersion: string, base?: string) => ({
      registryType: "nuget",
      ...(base !== undefined && { registryBaseUrl: base }),
      identifier: "Acme.Weather",
      version: packageVersion,
      transport: stdio,
    });

    it("the README endpoint of the flat container: present, missing, unknown version", async () => {
      assert.equal((await publish([nugetPackage("1.0.0")])).statusCode, 200);
      assertRefused(
        await publish([nugetPackage("1.1.0")]),
        422,
        "body.packages[0]",
        /NuGet package Acme\.Weather 1\.1\.0 has no "mcp-name: com\.example\/weather" line in its README/,
      );
      assertRefused(await publish([nugetPackage("3.0.0")]), 422, "body.packages[0]", /was not found/);
    });

    it("feeds without README endpoint: the README packed in the .nupkg", async () => {
      const base = `${nugetBare.base}/v3/index.json`;
      assert.equal((await publish([nugetPackage("1.0.0", base)])).statusCode, 200);
      assertRefused(
        await publish([nugetPackage("1.1.0", base)]),
        422,
        "body.packages[0]",
        /has no README; add a README with the line "mcp-name: com\.example\/weather"/,
      );
    });
  });

  describe("OCI", () => {
    const image = (identifier: string) => ({ registryType: "oci", identifier, transport: stdio });
    let ociHost: string;

    before(() => {
      ociHost = oci.host;
      // Token auth as registries do it: 401 with a Bearer challenge, then a token from the realm.
      const challenge = `Bearer realm="${oci.base}/token",service="fake-registry",scope="repository:acme/weather:pull"`;
      oci.on("/token", json({ token: "pull-token" }));
      ociImage(
        oci,
        "acme/weather",
        "1.0.0",
        { [OCI_LABEL]: NAME },
        { index: true, authorization: "Bearer pull-token", challenge, blobOn: cdn },
      );
      ociImage(
        oci,
        "acme/weather",
        "0.9.0",
        { maintainer: "acme" },
        { authorization: "Bearer pull-token", challenge },
      );
      ociImage(
        oci,
        "acme/weather",
        "0.8.0",
        { [OCI_LABEL]: "com.other/weather" },
        { authorization: "Bearer pull-token", challenge },
      );
      // A private registry whose token service wants the configured Basic credentials.
      const privateChallenge = `Bearer realm="${ociPrivate.base}/auth",service="private"`;
      ociPrivate.on(
        "/auth",
        guarded(basicAuth("puller", "oci-pass"), json({ access_token: "private-token" })),
      );
      ociImage(
        ociPrivate,
        "team/weather",
        "2.0.0",
        { [OCI_LABEL]: NAME },
        { authorization: "Bearer private-token", challenge: privateChallenge },
      );
    });

    it("the label names the server: token flow, image index, blob served from another host and checked by digest", async () => {
      const published = await publish([image(`${ociHost}/acme/weather:1.0.0`)]);
      assert.equal(published.statusCode, 200, published.body);
      assert.ok(oci.requests("/token") >= 1);
      assert.equal(cdn.seen.at(-1)?.authorization, undefined, "the pull token stays on the registry's host");
    });

    it("422 without the label, with a label of another server, for an unknown tag or a registry not on the list", async () => {
      assertRefused(
        await publish([image(`${ociHost}/acme/weather:0.9.0`)]),
        422,
        "body.packages[0]",
        /has no label io\.modelcontextprotocol\.server\.name; add LABEL io\.modelcontextprotocol\.server\.name="com\.example\/weather" to the Dockerfile/,
      );
      assertRefused(
        await publish([image(`${ociHost}/acme/weather:0.8.0`)]),
        422,
        "body.packages[0]",
        /"com\.other\/weather", which names another server/,
      );
      assertRefused(
        await publish([image(`${ociHost}/acme/weather:7.7.7`)]),
        422,
        "body.packages[0]",
        /was not found/,
      );
      assertRefused(
        await publish([image("quay.io/acme/weather:1.0.0")]),
        422,
        "body.packages[0]",
        /names the registry quay\.io, which this registry does not verify against/,
      );
    });

    it("a private registry: Basic credentials to its token service from a variable", async () => {
      assert.equal((await publish([image(`${ociPrivate.host}/team/weather:2.0.0`)])).statusCode, 200);
      assert.equal(
        ociPrivate.seen.find((request) => request.path === "/auth")?.authorization,
        basicAuth("puller", "oci-pass"),
      );
    });

    it("a config blob that does not match its digest is a 502, never a pass", async () => {
      const { configDigest } = ociImage(oci, "acme/tampered", "1.0.0", { [OCI_LABEL]: NAME });
      oci.on(`/v2/acme/tampered/blobs/${configDigest}`, {
        status: 200,
        body: JSON.stringify({ config: { Labels: { [OCI_LABEL]: NAME } } }),
      });
      assertRefused(
        await publish([image(`${ociHost}/acme/tampered:1.0.0`)]),
        502,
        "body.packages[0]",
        /does not match its digest/,
      );
    });

    it("a token service that fails is a 503 naming the registry; a private one without credentials a 502", async () => {
      const challenge = `Bearer realm="${oci.base}/broken-token",service="fake-registry"`;
      oci.on("/broken-token", { status: 500, body: "{}" });
      ociImage(
        oci,
        "acme/flaky",
        "1.0.0",
        { [OCI_LABEL]: NAME },
        { authorization: "Bearer never", challenge },
      );
      const flaky = await publish([image(`${ociHost}/acme/flaky:1.0.0`)]);
      const problem = assertRefused(flaky, 503, "body.packages[0]", /answered status 500/);
      assert.ok(problem.detail.includes(ociHost), problem.detail);
      // A token service that wants credentials this registry was not given.
      const locked = `Bearer realm="${oci.base}/locked-token",service="fake-registry"`;
      oci.on("/locked-token", guarded(basicAuth("someone", "else"), json({ token: "never" })));
      ociImage(
        oci,
        "acme/locked",
        "1.0.0",
        { [OCI_LABEL]: NAME },
        { authorization: "Bearer never", challenge: locked },
      );
      assertRefused(
        await publish([image(`${ociHost}/acme/locked:1.0.0`)]),
        502,
        "body.packages[0]",
        /refused access to a pull token \(status 401\); the operator of this MCP registry must configure credentials/,
      );
      assert.equal(oci.seen.find((request) => request.path === "/locked-token")?.authorization, undefined);
    });
  });

  describe("MCPB", () => {
    const bundle = Buffer.from("PK fake mcpb bundle bytes");
    const mcpb = (url: string, fileSha256 = sha256Hex(bundle)) => ({
      registryType: "mcpb",
      identifier: url,
      fileSha256,
      transport: stdio,
    });

    before(() => {
      mcpbHost.on("/acme/releases/download/v1/weather.mcpb", { status: 200, body: bundle });
      mcpbHost.on("/acme/releases/download/v2/weather.mcpb", {
        status: 302,
        headers: { location: `${mcpbStorage.base}/asset/2` },
      });
      mcpbStorage.on("/asset/2", { status: 200, body: bundle });
      mcpbHost.on("/acme/releases/download/v3/weather.mcpb", {
        status: 302,
        headers: { location: `${elsewhere.base}/asset/3` },
      });
    });

    it("an allowed host and a matching fileSha256 pass, also through a redirect to another allowed host", async () => {
      assert.equal(
        (await publish([mcpb(`${mcpbHost.base}/acme/releases/download/v1/weather.mcpb`)])).statusCode,
        200,
      );
      assert.equal(
        (await publish([mcpb(`${mcpbHost.base}/acme/releases/download/v2/weather.mcpb`)])).statusCode,
        200,
      );
    });

    it("a wrong fileSha256 names the right one; a host not on the list and a missing file are 422", async () => {
      const url = `${mcpbHost.base}/acme/releases/download/v1/weather.mcpb`;
      assertRefused(
        await publish([mcpb(url, "0".repeat(64))]),
        422,
        "body.packages[0]",
        new RegExp(`set "fileSha256": "${sha256Hex(bundle)}"`),
      );
      assertRefused(
        await publish([mcpb(`${elsewhere.base}/weather.mcpb`)]),
        422,
        "body.packages[0]",
        /which this registry does not accept MCPB downloads from/,
      );
      assertRefused(
        await publish([mcpb(`${mcpbHost.base}/acme/releases/download/v9/weather.mcpb`)]),
        422,
        "body.packages[0]",
        /was not found \(status 404\)/,
      );
      assertRefused(
        await publish([mcpb(`${mcpbHost.base}/acme/releases/download/v3/weather.mcpb`)]),
        502,
        "body.packages[0]",
        /redirected to another host/,
      );
    });
  });

  describe("/validate, edit and ingestion", () => {
    it("/validate reports the same findings: errors when verification is on, warnings when it is off", async () => {
      const packages = [npmPackage("@acme/weather", "1.0.0"), npmPackage("@acme/weather", "1.2.3")];
      const on = await validate(packages);
      assert.equal(on.valid, false);
      const finding = on.issues.find((issue) => issue.type === "package");
      assert.deepEqual(
        { path: finding?.path, severity: finding?.severity, reference: finding?.reference },
        { path: "packages[0]", severity: "error", reference: "package-ownership" },
      );
      assert.match(finding?.message ?? "", /add "mcpName": "com\.example\/weather"/);
      const off = await testRegistry("verify_off", {
        MCP_REGISTRY_PACKAGE_ALLOW_PRIVATE: "true",
        MCP_REGISTRY_NPM_REGISTRY_URLS: npm.base,
      });
      try {
        const result = await validate(packages, off);
        assert.equal(result.valid, true);
        assert.deepEqual(
          result.issues
            .filter((issue) => issue.type === "package")
            .map((issue) => [issue.path, issue.severity]),
          [["packages[0]", "warning"]],
        );
        // Off means publish does not verify.
        const response = await off.app.inject({
          method: "POST",
          url: "/v0.1/publish",
          headers: bearer(await off.token([{ action: "publish", resource: "*" }])),
          payload: serverJson(NAME, "1.0.0", { packages }),
        });
        assert.equal(response.statusCode, 200, response.body);
      } finally {
        await off.close();
      }
    });

    it("/validate shows an unreachable registry as a warning, not a silent pass", async () => {
      const result = await validate([npmPackage("slow", "1.0.0")]);
      const warning = result.issues.find((issue) => issue.reference === "package-registry-unavailable");
      assert.equal(warning?.severity, "warning");
      assert.match(
        warning?.message ?? "",
        /did not answer within 1500 ms; publishing answers 503 or 502 until it does/,
      );
    });

    it("edits verify the new document's packages; ingestion (seed, import, sync) does not", async () => {
      const proven = npmPackage("@acme/weather", "1.2.3");
      const first = await publish([proven]);
      assert.equal(first.statusCode, 200, first.body);
      const stored = `1.0.${version}`;
      const edit = await registry.app.inject({
        method: "PUT",
        url: `/v0.1/servers/${encodeURIComponent(NAME)}/versions/${stored}`,
        headers: bearer(await registry.token([{ action: "edit", resource: NAME }])),
        payload: serverJson(NAME, stored, { packages: [proven, npmPackage("@acme/weather", "1.0.0")] }),
      });
      assertRefused(edit, 422, "body.packages[1]", /no "mcpName"/);
      const report = await registry.runtime.ingestor.publishAll(
        [
          {
            origin: "seed[0]",
            document: serverJson("com.example/seeded", "1.0.0", {
              packages: [npmPackage("@acme/weather", "1.0.0")],
            }),
          },
        ],
        "seed",
      );
      assert.equal(report.published, 1);
    });

    it("SSRF: without MCP_REGISTRY_PACKAGE_ALLOW_PRIVATE a loopback registry is refused with the reason", async () => {
      const guardedRegistry = await testRegistry("verify_ssrf", {
        MCP_REGISTRY_ENABLE_REGISTRY_VALIDATION: "true",
        MCP_REGISTRY_NPM_REGISTRY_URLS: npm.base,
      });
      try {
        const before = npm.seen.length;
        const response = await guardedRegistry.app.inject({
          method: "POST",
          url: "/v0.1/publish",
          headers: bearer(await guardedRegistry.token([{ action: "publish", resource: "*" }])),
          payload: serverJson(NAME, "1.0.0", { packages: [npmPackage("@acme/weather", "1.2.3")] }),
        });
        assertRefused(response, 502, "body.packages[0]", /private or loopback address/);
        assert.equal(npm.seen.length, before, "no request reached the loopback registry");
      } finally {
        await guardedRegistry.close();
      }
    });
  });
});

const OCI_LABEL = "io.modelcontextprotocol.server.name";
