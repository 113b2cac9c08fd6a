import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { postgresOwner } from "../../src/embedded";
import { systemCaller } from "../../src/service";
import { Database, migrate, MIGRATIONS } from "../../src/store";
import { freshDatabaseUrl } from "../support/postgres";
import { freePort } from "../support/process";
import { serverJson, testRegistry } from "../support/registry";

const PGBOUNCER = ["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"].find((candidate) => fs.existsSync(candidate));

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, "127.0.0.1", () => {
        socket.end();
        resolve(true);
      });
      socket.on("error", () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`pgbouncer did not listen on ${port}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Production connects through CloudNativePG's Pooler: PgBouncer in transaction mode. This runs the
 * registry through a real PgBouncer configured that way (when it is installed).
 */
describe("store: through PgBouncer in transaction mode", function () {
  this.timeout(120_000);
  let bouncer: ChildProcess | undefined;
  let dir: string;
  let pooledUrl: string;

  before(async function () {
    if (PGBOUNCER === undefined) {
      console.warn("    (skipped: pgbouncer is not installed; apt-get install pgbouncer to run it)");
      this.skip();
    }
    const direct = new URL(await freshDatabaseUrl("pooler"));
    const port = await freePort();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "registry-pgbouncer-"));
    fs.writeFileSync(
      path.join(dir, "userlist.txt"),
      `"${direct.username}" "${decodeURIComponent(direct.password)}"\n`,
    );
    fs.writeFileSync(
      path.join(dir, "pgbouncer.ini"),
      [
        "[databases]",
        `* = host=${direct.hostname} port=${direct.port}`,
        "[pgbouncer]",
        "listen_addr = 127.0.0.1",
        `listen_port = ${port}`,
        "unix_socket_dir =",
        "auth_type = plain",
        `auth_file = ${path.join(dir, "userlist.txt")}`,
        "pool_mode = transaction",
        // Fewer server connections than the app's pool: transactions really are multiplexed.
        "default_pool_size = 2",
        "max_client_conn = 100",
        "ignore_startup_parameters = extra_float_digits",
        "",
      ].join("\n"),
    );
    const owner = postgresOwner();
    if (owner) spawnSync("chown", ["-R", `${owner.uid}:${owner.gid}`, dir]);
    // PgBouncer refuses to run as root; -u drops to the postgres user.
    bouncer = spawn(PGBOUNCER, [...(owner ? ["-u", "postgres"] : []), path.join(dir, "pgbouncer.ini")], {
      stdio: "ignore",
    });
    await waitForPort(port, 10_000);
    direct.port = String(port);
    pooledUrl = direct.toString();
  });

  after(() => {
    bouncer?.kill("SIGTERM");
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("connects (no startup parameter PgBouncer refuses), migrates concurrently and enforces the statement timeout", async () => {
    const db = new Database({
      url: pooledUrl,
      poolSize: 6,
      connectTimeoutMs: 5_000,
      statementTimeoutMs: 500,
    });
    try {
      const runs = await Promise.all([migrate(db), migrate(db), migrate(db)]);
      // Each migration runs exactly once, whichever run gets to it first.
      assert.deepEqual(
        runs.flatMap((run) => run.applied).sort((a, b) => a - b),
        MIGRATIONS.map((migration) => migration.version),
      );
      await assert.rejects(
        db.transaction((tx) => tx.query("SELECT pg_sleep(3)")),
        (error: Error & { status?: number }) => error.status === 503,
        "a statement over the timeout is cancelled and answered as a retryable 503",
      );
      // SET LOCAL did not leak into the pooled server connection.
      const { rows } = await db.query<{ timeout: string }>(
        "SELECT current_setting('statement_timeout') AS timeout",
      );
      assert.equal(rows[0]?.timeout, "0");
    } finally {
      await db.close();
    }
  });

  it("keeps per-name locking and exactly one latest under concurrent publishes", async () => {
    // PgBouncer before 1.21 (Debian's 1.18 here) keeps no prepared statements across server connections.
    const registry = await testRegistry("pooler_app", {
      MCP_REGISTRY_DATABASE_URL: pooledUrl,
      MCP_REGISTRY_DATABASE_PREPARED_STATEMENTS: "false",
    });
    try {
      const service = registry.runtime.service;
      const admin = systemCaller("test");
      await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          service.publish(admin, serverJson("com.example/pooled", `1.${i}.0`)),
        ),
      );
      const { rows } = await registry.runtime.db.query<{ version: string }>(
        "SELECT version FROM server_versions WHERE name = 'com.example/pooled' AND is_latest",
      );
      assert.deepEqual(rows, [{ version: "1.11.0" }]);
      // The publish's lock timeout is transaction-local: no pooled server connection keeps it.
      const settings = await Promise.all(
        Array.from({ length: 6 }, () =>
          registry.runtime.db.query<{ timeout: string }>("SELECT current_setting('lock_timeout') AS timeout"),
        ),
      );
      assert.deepEqual(
        settings.map((result) => result.rows[0]?.timeout),
        Array.from({ length: 6 }, () => "0"),
      );
      const list = await registry.app.inject({ method: "GET", url: "/v0.1/servers?limit=5" });
      assert.equal(list.statusCode, 200);
    } finally {
      await registry.close();
    }
  });

  it("names the variable to turn off when the pooler keeps no prepared statements (before 1.21)", async () => {
    const version = /PgBouncer (\d+)\.(\d+)/.exec(
      spawnSync(PGBOUNCER as string, ["--version"], { encoding: "utf8" }).stdout,
    );
    const keepsThem = Number(version?.[1]) > 1 || (Number(version?.[1]) === 1 && Number(version?.[2]) >= 21);
    const db = new Database({
      url: pooledUrl,
      poolSize: 6,
      connectTimeoutMs: 5_000,
      statementTimeoutMs: 5_000,
      preparedStatements: true,
    });
    try {
      // Six client connections over two server connections: a statement prepared on one server
      // session is soon bound on another.
      const runs = Promise.all(
        Array.from({ length: 6 }, async () => {
          for (let i = 0; i < 20; i += 1) await db.query("SELECT $1::int AS n", [i], { prepare: true });
        }),
      );
      if (keepsThem) await runs;
      else await assert.rejects(runs, /MCP_REGISTRY_DATABASE_PREPARED_STATEMENTS=false/);
    } finally {
      await db.close();
    }
  });
});
