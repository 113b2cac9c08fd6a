// The restore drill's verification script against a real PostgreSQL: two databases stand in for the live
// source and its restore. Needs initdb, pg_ctl and psql (Debian's postgresql packages); required when CI=true.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { RESTORE_DRILL_SCRIPT_PATH } from "../../infra/data/restore-drill";

function findTool(tool: string): string | undefined {
  const dirs = [...(process.env.PATH ?? "").split(path.delimiter)];
  const versions = fs.existsSync("/usr/lib/postgresql")
    ? fs.readdirSync("/usr/lib/postgresql").sort().reverse()
    : [];
  dirs.push(...versions.map((v) => `/usr/lib/postgresql/${v}/bin`));
  return dirs.map((dir) => path.join(dir, tool)).find((candidate) => fs.existsSync(candidate));
}

const tools = { initdb: findTool("initdb"), pgCtl: findTool("pg_ctl"), psql: findTool("psql") };
const asRoot = process.getuid?.() === 0;

/** Runs a PostgreSQL server binary as the `postgres` user when we are root (initdb refuses root). */
function server(args: string[]): void {
  const [cmd, ...rest] = asRoot ? ["runuser", "-u", "postgres", "--", ...args] : args;
  const result = spawnSync(cmd!, rest, { encoding: "utf8" });
  if (result.status !== 0) throw new Error(`${args.join(" ")} failed: ${result.stderr}${result.stdout}`);
}

describe("restore drill: verification script on a real PostgreSQL", function () {
  this.timeout(60_000);
  let dir = "";
  const port = 15000 + Math.floor(Math.random() * 1000);
  const uri = (db: string) => `postgresql:///${db}?host=${dir}&port=${port}&user=postgres`;

  function sql(db: string, statements: string): void {
    const result = spawnSync(
      tools.psql!,
      ["--no-psqlrc", "-v", "ON_ERROR_STOP=1", "-q", uri(db), "-c", statements],
      {
        encoding: "utf8",
      },
    );
    if (result.status !== 0) throw new Error(result.stderr);
  }

  function drill(env: Record<string, string> = {}) {
    return spawnSync("bash", [RESTORE_DRILL_SCRIPT_PATH], {
      encoding: "utf8",
      env: {
        PATH: `${path.dirname(tools.psql!)}:${process.env.PATH}`,
        SOURCE_URI: uri("source"),
        RESTORE_URI: uri("restored"),
        CONNECT_ATTEMPTS: "1",
        MARGIN_SECONDS: "300",
        ...env,
      },
    });
  }

  const schema = `CREATE EXTENSION IF NOT EXISTS pg_trgm;
    CREATE TABLE server_versions (name text, version text, published_at timestamptz NOT NULL, status text,
      PRIMARY KEY (name, version));
    CREATE TABLE settings (key text PRIMARY KEY, value text);`;
  const rows = `INSERT INTO server_versions VALUES
    ('io.example/a', '1.0.0', now() - interval '2 days', 'active'),
    ('io.example/a', '1.1.0', now() - interval '1 day', 'active'),
    ('io.example/b', '0.1.0', now() - interval '1 hour', 'active');`;

  before(function () {
    if (!tools.initdb || !tools.pgCtl || !tools.psql) {
      if (process.env.CI === "true") throw new Error("initdb, pg_ctl and psql are required when CI=true");
      this.skip();
    }
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "drill-pg-"));
    if (asRoot) spawnSync("chown", ["postgres:postgres", dir]);
    server([tools.initdb!, "-D", path.join(dir, "data"), "-A", "trust", "-U", "postgres", "--no-sync"]);
    server([
      tools.pgCtl!,
      "-D",
      path.join(dir, "data"),
      "-o",
      `-k ${dir} -p ${port} -c listen_addresses=''`,
      "-l",
      path.join(dir, "log"),
      "-w",
      "start",
    ]);
  });

  after(() => {
    if (dir !== "" && tools.pgCtl) {
      try {
        server([tools.pgCtl, "-D", path.join(dir, "data"), "-m", "immediate", "stop"]);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
  });

  beforeEach(() => {
    // One statement per call: psql -c runs a multi-statement string in one transaction.
    for (const statement of [
      "DROP DATABASE IF EXISTS source",
      "DROP DATABASE IF EXISTS restored",
      "CREATE DATABASE source",
      "CREATE DATABASE restored",
    ])
      sql("postgres", statement);
    for (const db of ["source", "restored"]) sql(db, schema + rows);
  });

  it("passes when the restore matches the source", () => {
    const result = drill();
    assert.equal(result.status, 0, result.stdout + result.stderr);
    // The newest row defines the recovery point and falls inside the safety margin.
    assert.match(result.stdout, /OK server_versions: 2 rows, keys [0-9a-f]{32}/);
    assert.match(result.stdout, /restore verified/);
  });

  it("passes when the source has rows newer than the recovery point and rows changed since", () => {
    sql(
      "source",
      `INSERT INTO server_versions VALUES ('io.example/c', '2.0.0', now(), 'active');
       UPDATE server_versions SET status = 'deprecated' WHERE name = 'io.example/a';`,
    );
    const result = drill();
    assert.equal(result.status, 0, result.stdout + result.stderr);
  });

  it("fails when a row published before the recovery point is missing from the restore", () => {
    sql("restored", "DELETE FROM server_versions WHERE version = '1.0.0';");
    const result = drill();
    assert.equal(result.status, 1);
    assert.match(result.stdout, /MISMATCH server_versions: source 2 \S+ restored 1 \S+/);
    assert.match(result.stderr, /FAILED with 1 mismatch/);
  });

  it("fails when a row's key differs even with equal counts", () => {
    sql("restored", "UPDATE server_versions SET version = '1.0.1' WHERE version = '1.0.0';");
    const result = drill();
    assert.equal(result.status, 1);
    assert.match(result.stdout, /MISMATCH server_versions/);
  });

  it("fails when a table or pg_trgm is missing from the restore", () => {
    sql("restored", "DROP TABLE settings; DROP EXTENSION pg_trgm;");
    const result = drill();
    assert.equal(result.status, 1);
    assert.match(result.stdout, /MISMATCH public tables/);
    assert.match(result.stdout, /MISMATCH pg_trgm/);
  });

  it("fails, without comparing, when a database is unreachable", () => {
    const result = drill({
      RESTORE_URI: `postgresql:///missing?host=${dir}&port=${port}&user=postgres`,
      CONNECT_RETRY_SECONDS: "0",
    });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /the restored database did not accept connections/);
  });

  it("rejects a malformed margin", () => {
    const result = drill({ MARGIN_SECONDS: "5m" });
    assert.equal(result.status, 2);
    assert.match(result.stderr, /MARGIN_SECONDS must be a whole number/);
  });
});

describe("restore drill: script lint", () => {
  it("is shellcheck-clean", function () {
    const shellcheck = findTool("shellcheck");
    if (shellcheck === undefined) {
      if (process.env.CI === "true") throw new Error("shellcheck is required when CI=true");
      this.skip();
    }
    const result = spawnSync(shellcheck, [RESTORE_DRILL_SCRIPT_PATH], { encoding: "utf8" });
    assert.equal(result.status, 0, result.stdout);
  });
});
