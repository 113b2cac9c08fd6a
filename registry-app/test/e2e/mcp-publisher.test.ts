import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { serverJson, testRegistry, type TestRegistry } from "../support/registry";
import { json, Loopback } from "../verify/fakes";

const REPO_ROOT = path.resolve(__dirname, "../../..");
/** The official CLI's release this registry is checked against: platformVersions.mcpPublisher in infra/versions.ts. */
const PUBLISHER_VERSION =
  /^\s*mcpPublisher:\s*"([^"]+)"/m.exec(
    fs.readFileSync(path.join(REPO_ROOT, "infra", "versions.ts"), "utf8"),
  )?.[1] ?? "(unpinned)";
const BUILD_HINT = "scripts/toolchain.sh builds it (or set MCP_PUBLISHER_BIN to a built binary)";

/** MCP_PUBLISHER_BIN, or the binary of the cached toolchain (scripts/toolchain.sh builds it when the cache is cold). */
function publisherBinary(): string {
  if (process.env.MCP_PUBLISHER_BIN) return process.env.MCP_PUBLISHER_BIN;
  const result = spawnSync(path.join(REPO_ROOT, "scripts", "toolchain.sh"), [], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  const folder = result.status === 0 ? (result.stdout.trim().split("\n").pop() ?? "") : "";
  return path.join(folder, "mcp-publisher");
}

interface Run {
  code: number;
  out: string;
}

/**
 * The real mcp-publisher binary against the registry over loopback HTTP: login none, validate,
 * publish, validate of the published version (exit 0), status and logout, and a publish refused
 * by package verification with the fix in the CLI's output.
 */
describe(`e2e: the official mcp-publisher ${PUBLISHER_VERSION}`, function () {
  this.timeout(120_000);
  let bin = "";
  let registry: TestRegistry;
  let npm: Loopback;
  let home: string;
  let base: string;

  before(async function () {
    bin = publisherBinary();
    if (!fs.existsSync(bin)) {
      if (process.env.CI === "true") throw new Error(`mcp-publisher is missing at ${bin}; ${BUILD_HINT}`);
      console.warn(`    (skipped: mcp-publisher is missing at ${bin}; ${BUILD_HINT})`);
      this.skip();
    }
    npm = await Loopback.start();
    registry = await testRegistry("mcp_publisher", {
      MCP_REGISTRY_ENABLE_ANONYMOUS_AUTH: "true",
      MCP_REGISTRY_ENABLE_REGISTRY_VALIDATION: "true",
      MCP_REGISTRY_PACKAGE_ALLOW_PRIVATE: "true",
      MCP_REGISTRY_NPM_REGISTRY_URLS: npm.base,
    });
    base = await registry.app.listen({ host: "127.0.0.1", port: 0 });
    home = fs.mkdtempSync(path.join(os.tmpdir(), "mcp-publisher-home-"));
  });

  after(async () => {
    await registry?.close();
    await npm?.close();
    if (home !== undefined) fs.rmSync(home, { recursive: true, force: true });
  });

  /** Runs the CLI in the temporary home (its token file lives there), with the given server.json. */
  function publisher(args: string[], document?: Record<string, unknown>): Promise<Run> {
    if (document !== undefined)
      fs.writeFileSync(path.join(home, "server.json"), JSON.stringify(document, null, 2));
    return new Promise((resolve) => {
      execFile(
        bin,
        args,
        { cwd: home, env: { PATH: process.env.PATH ?? "", HOME: home }, timeout: 60_000 },
        (error, stdout, stderr) => {
          const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1;
          resolve({ code, out: `${stdout}${stderr}` });
        },
      );
    });
  }

  const expectExit = (run: Run, code: number, what: string) =>
    assert.equal(run.code === 0 ? 0 : 1, code, `${what} exited ${run.code}:\n${run.out}`);

  const NAME = "io.modelcontextprotocol.anonymous/weather";

  it("login none, validate, publish, validate again (exit 0 with the duplicate as a warning), status, logout", async () => {
    expectExit(await publisher(["login", "none", "--registry", base]), 0, "login none");
    const document = serverJson(NAME, "1.0.0", { description: "Forecasts" });
    const first = await publisher(["validate"], document);
    expectExit(first, 0, "validate");
    assert.match(first.out, /server\.json is valid/);
    const published = await publisher(["publish"], document);
    expectExit(published, 0, "publish");
    assert.match(published.out, /1\.0\.0/);

    // CI runs validate on every commit: an already-published version stays valid.
    const again = await publisher(["validate"], document);
    expectExit(again, 0, "validate of a published version");
    assert.match(again.out, /server\.json is valid/);
    // v1.7.0 prints issues only for invalid documents; the warning is in the answer it got.
    const answer = await fetch(`${base}/v0.1/validate`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(document),
    });
    const result = (await answer.json()) as {
      valid: boolean;
      issues: Array<{ type: string; severity: string }>;
    };
    assert.equal(result.valid, true);
    assert.ok(result.issues.some((issue) => issue.type === "registry" && issue.severity === "warning"));

    const duplicate = await publisher(["publish"], document);
    expectExit(duplicate, 1, "publish of a published version");
    assert.match(duplicate.out, /already published/);

    expectExit(
      await publisher(["status", "--status", "deprecated", "--message", "Use 2.x", NAME, "1.0.0"]),
      0,
      "status",
    );
    const entry = (await (
      await fetch(`${base}/v0.1/servers/${encodeURIComponent(NAME)}/versions/1.0.0?include_deleted=true`)
    ).json()) as { _meta: Record<string, { status: string }> };
    assert.equal(entry._meta["io.modelcontextprotocol.registry/official"]?.status, "deprecated");
    expectExit(await publisher(["logout"]), 0, "logout");
    expectExit(await publisher(["publish"], serverJson(NAME, "1.0.1")), 1, "publish after logout");
  });

  it("publish refused by package verification shows the fix; with the proof in place it succeeds", async () => {
    expectExit(await publisher(["login", "none", "--registry", base]), 0, "login none");
    npm.on("/weather-mcp/2.0.0", json({ name: "weather-mcp", version: "2.0.0" }));
    const document = serverJson(NAME, "2.0.0", {
      packages: [
        { registryType: "npm", identifier: "weather-mcp", version: "2.0.0", transport: { type: "stdio" } },
      ],
    });
    const refused = await publisher(["publish"], document);
    expectExit(refused, 1, "publish without mcpName");
    assert.match(
      refused.out,
      /add "mcpName": "io\.modelcontextprotocol\.anonymous\/weather" to package\.json/,
    );
    npm.on("/weather-mcp/2.0.0", json({ name: "weather-mcp", version: "2.0.0", mcpName: NAME }));
    expectExit(await publisher(["publish"], document), 0, "publish with mcpName");
  });
});
