// "The CRD schema and /publish agree": every document of the shared dataset, and mutated invalid ones, go both to
// the real API server (server-side dry-run creates of MCPServer objects, with the program's CRD) and to the real
// registry's POST /v0.1/validate; the verdicts must match. The API server may only be more lenient, and only on the
// checks it cannot make (listed below). Fields server.json lacks are dropped by both (last test).
import { strict as assert } from "node:assert";
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { KubeApiError, type KubeObject } from "../cluster/kube-client";
import { requireToolchain } from "../charts/fixtures";
import {
  API,
  registryEnv,
  removeDir,
  startRegistry,
  startTestCluster,
  type TestCluster,
  type TestRegistryServer,
} from "./harness";

// Beside the repository, as ../shared/charts is (present in CI).
const DATASET = resolve(__dirname, "..", "..", "..", "shared", "datasets", "servers-2025-05.json");
const NAMESPACE = "agreement";

type Document = Record<string, unknown>;
interface Verdict {
  accepted: boolean;
  why: string;
}

const clone = (document: Document): Document => structuredClone(document);

/**
 * Invalid documents, each made from a valid one by one change. `apiServer: false` marks the checks the API server
 * cannot make (they need the registry's database or code that CEL cannot express); the controller reports those as
 * `Invalid` from the registry's answer instead.
 */
const MUTATIONS: { what: string; apiServer: boolean; change: (d: Document) => void }[] = [
  { what: "a version range", apiServer: true, change: (d) => (d.version = "^1.0.0") },
  { what: "a wildcard version", apiServer: true, change: (d) => (d.version = "1.x") },
  { what: 'the reserved version "latest"', apiServer: true, change: (d) => (d.version = "Latest") },
  { what: "a name without a namespace", apiServer: true, change: (d) => (d.name = "weather") },
  { what: "a one-letter namespace", apiServer: true, change: (d) => (d.name = "a/weather") },
  {
    what: "a description of 101 characters",
    apiServer: true,
    change: (d) => (d.description = "x".repeat(101)),
  },
  { what: "no description", apiServer: true, change: (d) => delete d.description },
  { what: "no version", apiServer: true, change: (d) => delete d.version },
  {
    what: "the registry's own _meta key",
    apiServer: true,
    change: (d) => (d._meta = { "io.modelcontextprotocol.registry/official": { status: "active" } }),
  },
  {
    what: "a website URL that is not a URL",
    apiServer: true,
    change: (d) => (d.websiteUrl = "acme weather"),
  },
  {
    what: "an unknown package registry type",
    apiServer: true,
    change: (d) =>
      (d.packages = [{ registryType: "cpan", identifier: "Weather", transport: { type: "stdio" } }]),
  },
  {
    what: "a stdio transport with a URL",
    apiServer: true,
    change: (d) =>
      (d.packages = [
        {
          registryType: "npm",
          identifier: "@acme/weather",
          version: "1.0.0",
          transport: { type: "stdio", url: "https://a.example/mcp" },
        },
      ]),
  },
  {
    what: "an HTTP transport without a URL",
    apiServer: true,
    change: (d) =>
      (d.packages = [
        { registryType: "npm", identifier: "@acme/weather", version: "1.0.0", transport: { type: "sse" } },
      ]),
  },
  {
    what: "a remote of an unknown transport",
    apiServer: true,
    change: (d) => (d.remotes = [{ type: "websocket", url: "https://a.example/mcp" }]),
  },
  {
    what: "a remote URL with whitespace",
    apiServer: true,
    change: (d) => (d.remotes = [{ type: "sse", url: "https://a.example/m cp" }]),
  },
  {
    what: "a package version that is a range",
    apiServer: false,
    change: (d) =>
      (d.packages = [
        { registryType: "npm", identifier: "@acme/weather", version: "^1.0.0", transport: { type: "stdio" } },
      ]),
  },
  {
    what: "a remote URL on localhost",
    apiServer: false,
    change: (d) => (d.remotes = [{ type: "streamable-http", url: "https://localhost/mcp" }]),
  },
];

describe("MCPServer CRD and the registry's /publish validation agree", function () {
  this.timeout(600_000);
  let cluster: TestCluster | undefined;
  let registry: TestRegistryServer | undefined;
  let counter = 0;

  before(async function () {
    if (!existsSync(DATASET)) {
      if (process.env.CI === "true") throw new Error(`${DATASET} is absent: CI must provide ../shared`);
      console.log(`      skipped: ${DATASET} is absent`);
      this.skip();
    }
    const binDir = requireToolchain(this);
    cluster = await startTestCluster(binDir);
    registry = await startRegistry(await registryEnv(cluster, "*"));
    await cluster.client.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: NAMESPACE } });
  });

  after(async () => {
    await registry?.close();
    await cluster?.plane.stop();
    if (cluster) removeDir(cluster.dir);
  });

  /** A server-side dry-run create: admission, schema, CEL and pruning run, nothing is stored. */
  async function apiServer(
    document: Document,
    fieldValidation: "Strict" | "Warn" = "Strict",
  ): Promise<Verdict & { spec?: Document }> {
    const object: KubeObject = {
      apiVersion: API,
      kind: "MCPServer",
      metadata: { name: `doc-${++counter}`, namespace: NAMESPACE },
      spec: document,
    };
    try {
      const stored = await cluster!.client.json<{ spec: Document }>(
        "POST",
        `/apis/${API}/namespaces/${NAMESPACE}/mcpservers?dryRun=All&fieldValidation=${fieldValidation}`,
        object,
      );
      return { accepted: true, why: "", spec: stored.spec };
    } catch (error) {
      // 422: schema or CEL; 400: strict field validation (an unknown field), kubectl's default.
      if (error instanceof KubeApiError && (error.status === 422 || error.status === 400))
        return { accepted: false, why: error.message };
      throw error;
    }
  }

  async function validate(document: Document): Promise<Verdict & { warnings: string[] }> {
    const response = await fetch(`${registry!.url}/v0.1/validate`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(document),
    });
    assert.equal(response.status, 200, await response.clone().text());
    const answer = (await response.json()) as {
      valid: boolean;
      issues: { severity: string; message: string }[];
    };
    return {
      accepted: answer.valid,
      why: answer.issues
        .filter((i) => i.severity === "error")
        .map((i) => i.message)
        .join("; "),
      warnings: answer.issues.filter((i) => i.severity === "warning").map((i) => i.message),
    };
  }

  /** Runs `work` over `items`, a few at a time (the API server and registry share 2 busy cores). */
  async function inBatches<T, R>(items: readonly T[], work: (item: T) => Promise<R>): Promise<R[]> {
    const results: R[] = [];
    for (let i = 0; i < items.length; i += 8) {
      results.push(...(await Promise.all(items.slice(i, i + 8).map(work))));
    }
    return results;
  }

  it("both accept every document of the shared dataset, and the API server stores each unchanged", async () => {
    const documents = JSON.parse(readFileSync(DATASET, "utf8")) as Document[];
    assert.equal(documents.length, 464);
    const started = Date.now();
    const verdicts = await inBatches(documents, async (document) => ({
      name: String(document.name),
      document,
      api: await apiServer(document),
      registry: await validate(document),
    }));
    const disagreements = verdicts
      .filter((v) => v.api.accepted !== v.registry.accepted)
      .map((v) => `${v.name}: API server ${v.api.why || "accepts"}; registry ${v.registry.why || "accepts"}`);
    assert.deepEqual(disagreements, []);
    assert.deepEqual(
      verdicts.filter((v) => !v.registry.accepted).map((v) => `${v.name}: ${v.registry.why}`),
      [],
    );
    // Nothing pruned or defaulted: what the controller reads back is the document the team wrote.
    for (const v of verdicts) assert.deepEqual(v.api.spec, v.document, v.name);
    console.log(
      `      ${verdicts.length} documents, both verdicts each, in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
  });

  it("both refuse mutated documents, except the checks only the registry can make", async () => {
    const base = (JSON.parse(readFileSync(DATASET, "utf8")) as Document[])[0]!;
    const results = await inBatches(MUTATIONS, async (mutation) => {
      const document = clone(base);
      mutation.change(document);
      return { mutation, api: await apiServer(document), registry: await validate(document) };
    });
    const wrong: string[] = [];
    for (const { mutation, api, registry: answer } of results) {
      if (answer.accepted) wrong.push(`${mutation.what}: the registry accepts it`);
      if (api.accepted === mutation.apiServer)
        wrong.push(
          `${mutation.what}: the API server ${api.accepted ? "accepts" : `refuses (${api.why})`}, expected ${mutation.apiServer ? "a refusal" : "acceptance (a registry-only check)"}`,
        );
    }
    assert.deepEqual(wrong, []);
    // The API server is never stricter than the registry: every refusal above is one /validate also makes.
    assert.ok(results.every((r) => r.api.accepted || !r.registry.accepted));
  });
  it("both drop a field server.json does not have: the registry with a warning, the API server by pruning", async () => {
    const document = {
      ...(JSON.parse(readFileSync(DATASET, "utf8")) as Document[])[0]!,
      homepage: "https://a.example",
    };
    const answer = await validate(document);
    assert.equal(answer.accepted, true, answer.why);
    // Package-ownership warnings aside: /validate checks packages whatever the switch, and npm is out of reach here.
    assert.deepEqual(
      answer.warnings.filter((warning) => !warning.startsWith("the package registry ")),
      ["homepage is not a server.json field and was dropped"],
    );
    // kubectl's default (strict) refuses it outright; a client that only warns gets it pruned, as the registry does.
    const strict = await apiServer(document);
    assert.equal(strict.accepted, false);
    assert.match(strict.why, /unknown field "spec.homepage"/);
    const lenient = await apiServer(document, "Warn");
    assert.equal(lenient.accepted, true, lenient.why);
    const { homepage: _dropped, ...rest } = document;
    assert.deepEqual(lenient.spec, rest);
  });
});
