import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { generateSigningKeyHex } from "../../src/auth";
import { MIGRATIONS } from "../../src/store";
import { freshDatabaseUrl } from "../support/postgres";
import { freePort, startMain } from "../support/process";

/** The compiled entry point's contract, exercised as a child process: config errors, migrate, serve, drain. */
describe("lifecycle: the main process", function () {
  this.timeout(120_000);

  it("stops on bad configuration with one line per bad variable, naming it and the expected form", async () => {
    const main = startMain([], {
      MCP_REGISTRY_DATABASE_URL: "mysql://root:hunter2@db/registry",
      MCP_REGISTRY_DATABASE_POOL_SIZE: "lots",
      MCP_REGISTRY_SERVER_ADDRESS: "8080",
      MCP_REGISTRY_ENABLE_ANONYMOUS_AUTH: "sure",
      MCP_REGISTRY_JWT_PRIVATE_KEY: "abcdef",
    });
    const { code } = await main.exited;
    assert.equal(code, 2);
    const lines = main.stderr;
    assert.equal(lines.length, 5, lines.join("\n"));
    const byVariable = new Map(lines.map((line) => [line.split(":")[0], line]));
    assert.match(
      byVariable.get("MCP_REGISTRY_DATABASE_URL") ?? "",
      /expected a postgres:\/\/user:password@host:5432\/db URL/,
    );
    assert.match(
      byVariable.get("MCP_REGISTRY_DATABASE_POOL_SIZE") ?? "",
      /expected an integer from 1 to 500, got "lots"/,
    );
    assert.match(byVariable.get("MCP_REGISTRY_SERVER_ADDRESS") ?? "", /expected \[host\]:port such as :8080/);
    assert.match(byVariable.get("MCP_REGISTRY_ENABLE_ANONYMOUS_AUTH") ?? "", /expected true or false/);
    assert.match(byVariable.get("MCP_REGISTRY_JWT_PRIVATE_KEY") ?? "", /64 hex digits/);
    assert.doesNotMatch(lines.join("\n"), /hunter2|abcdef/, "secrets are never echoed");
  });

  it("refuses to serve an unmigrated database when DDL at start is off; `migrate` fixes it", async () => {
    const env = {
      MCP_REGISTRY_DATABASE_URL: await freshDatabaseUrl("main_migrate"),
      MCP_REGISTRY_JWT_PRIVATE_KEY: generateSigningKeyHex(),
      MCP_REGISTRY_MIGRATE_ON_START: "false",
      MCP_REGISTRY_SERVER_ADDRESS: `127.0.0.1:${await freePort()}`,
    };
    const refused = startMain(["serve"], env);
    assert.equal((await refused.exited).code, 1);
    assert.match(refused.stdout.join("\n"), /schema is at version 0.*run the migrate command/);
    const migrate = startMain(["migrate"], env);
    assert.equal((await migrate.exited).code, 0, migrate.stderr.join("\n"));
    const every = MIGRATIONS.map((migration) => migration.version).join(",");
    assert.ok(migrate.stdout.join("\n").includes(`"applied":[${every}]`), migrate.stdout.join("\n"));
    const again = startMain(["migrate"], env);
    assert.equal((await again.exited).code, 0);
    assert.match(again.stdout.join("\n"), /"applied":\[\]/);
  });

  it("serves on the configured address (even when the seed source is down) and drains in-flight requests on SIGTERM, then exits 0", async () => {
    const port = await freePort();
    const main = startMain([], {
      MCP_REGISTRY_DATABASE_URL: await freshDatabaseUrl("main_serve"),
      MCP_REGISTRY_JWT_PRIVATE_KEY: generateSigningKeyHex(),
      MCP_REGISTRY_SERVER_ADDRESS: `127.0.0.1:${port}`,
      MCP_REGISTRY_SHUTDOWN_GRACE_SECONDS: "10",
      // Nothing listens there: the seed fails, the registry serves anyway.
      MCP_REGISTRY_SEED_FROM: `http://127.0.0.1:${await freePort()}/seed.json`,
    });
    try {
      await main.waitFor(/registry is serving/);
      assert.match(main.stdout.join("\n"), /"level":"error".*seeding failed; serving what is stored/);
      const base = `http://127.0.0.1:${port}`;
      assert.deepEqual(await (await fetch(`${base}/livez`)).json(), { status: "ok" });
      assert.deepEqual(await (await fetch(`${base}/readyz`)).json(), { status: "ok" });

      // A request whose body is still arriving when SIGTERM comes must still get its answer.
      const body = JSON.stringify({ name: "com.example/drain", version: "1.0.0", description: "d" });
      const answer = new Promise<number>((resolve, reject) => {
        const request = http.request(
          `${base}/v0.1/publish`,
          {
            method: "POST",
            headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
          },
          (response) => {
            response.resume();
            resolve(response.statusCode ?? 0);
          },
        );
        request.on("error", reject);
        request.write(body.slice(0, 10));
        setTimeout(() => {
          main.child.kill("SIGTERM");
          setTimeout(() => request.end(body.slice(10)), 500);
        }, 200);
      });
      assert.equal(await answer, 401, "the in-flight request was answered (no token: 401)");
      const { code, signal } = await main.exited;
      assert.equal(signal, null);
      assert.equal(code, 0);
      const log = main.stdout.join("\n");
      assert.match(log, /"msg":"draining"/);
      assert.match(log, /"msg":"stopped"/);
      await assert.rejects(fetch(`${base}/livez`), "nothing listens any more");
    } finally {
      main.child.kill("SIGKILL");
    }
  });

  it("with no database URL, runs embedded PostgreSQL under the data dir, seeds the demo catalogue and allows anonymous publishing", async function () {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "registry-embedded-"));
    const port = await freePort();
    const main = startMain([], {
      MCP_REGISTRY_EMBEDDED_DATA_DIR: dataDir,
      MCP_REGISTRY_EMBEDDED_PORT: String(await freePort()),
      MCP_REGISTRY_SERVER_ADDRESS: `127.0.0.1:${port}`,
    });
    try {
      await main.waitFor(/registry is serving/, 90_000);
      const base = `http://127.0.0.1:${port}`;
      const list = (await (await fetch(`${base}/v0.1/servers?version=latest`)).json()) as {
        servers: Array<{ server: { name: string; version: string } }>;
      };
      const names = list.servers.map((entry) => `${entry.server.name}@${entry.server.version}`);
      assert.ok(names.includes("com.example/weather@1.1.0"), names.join(", "));
      assert.ok(names.length >= 6);
      const login = await fetch(`${base}/v0.1/auth/none`, { method: "POST" });
      assert.equal(login.status, 200);
      const { registry_token: token } = (await login.json()) as { registry_token: string };
      const published = await fetch(`${base}/v0.1/publish`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify({
          name: "io.modelcontextprotocol.anonymous/local",
          version: "0.0.1",
          description: "local test",
        }),
      });
      assert.equal(published.status, 200, await published.text());
      assert.ok(
        fs.existsSync(path.join(dataDir, "pg", "PG_VERSION")),
        "the cluster lives under the data dir",
      );
      main.child.kill("SIGTERM");
      assert.equal((await main.exited).code, 0);
      assert.ok(
        !fs.existsSync(path.join(dataDir, "pg", "postmaster.pid")),
        "PostgreSQL was stopped with the app",
      );
    } finally {
      main.child.kill("SIGKILL");
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
