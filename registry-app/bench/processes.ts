import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pino } from "pino";
import { generateSigningKeyHex } from "../src/auth";
import { startEmbeddedPostgres } from "../src/embedded";
import { freePort } from "../test/support/process";
import { attachStandby, withClient } from "../test/support/replication";

export const APP_DIR = path.resolve(__dirname, "..");

/** Where the bench compiles the service: the production entry (dist/src/main.js), not tsx. */
export const BUILD_DIR = path.join(APP_DIR, "bench", "dist");

/** Compiles src/ as the image does (tsconfig.build.json), into bench/dist; returns the entry point. */
export function buildService(): string {
  const tsc = require.resolve("typescript/bin/tsc");
  const result = spawnSync(process.execPath, [tsc, "-p", "tsconfig.build.json", "--outDir", BUILD_DIR], {
    cwd: APP_DIR,
    stdio: "inherit",
  });
  if (result.status !== 0) throw new Error("compiling the service failed");
  return path.join(BUILD_DIR, "src", "main.js");
}

/** A PostgreSQL for the bench: an admin URL that may CREATE DATABASE, and a way to stop it. */
export interface BenchDatabase {
  adminUrl: string;
  description: string;
  /** PostgreSQL's processes (postmaster and backends) when the bench runs it; empty for an external one. */
  processIds(): number[];
  /** Adds a streaming standby (only to the bench's own embedded server). */
  attachStandby?(): Promise<BenchStandby>;
  stop(): Promise<void>;
}

/** A streaming standby of the bench's server, with the same durable settings. */
export interface BenchStandby {
  url(database: string): string;
  processIds(): number[];
  /** Waits until it has replayed everything the primary has written so far. */
  caughtUp(): Promise<void>;
  stop(): Promise<void>;
}

export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/**
 * BENCH_DATABASE_URL (a user allowed to CREATE DATABASE), or an embedded PostgreSQL with default
 * (durable) settings in a temporary directory: fsync and synchronous commit stay on, as in production.
 */
export async function startDatabase(): Promise<BenchDatabase> {
  const external = process.env.BENCH_DATABASE_URL?.trim();
  if (external) {
    // With the postmaster's pid (BENCH_POSTGRES_PID) the database's CPU time is measured too.
    const postmaster = Number(process.env.BENCH_POSTGRES_PID ?? NaN);
    // With its data directory on this machine (BENCH_POSTGRES_DATA_DIR), a standby can be added.
    const dataDir = process.env.BENCH_POSTGRES_DATA_DIR;
    return {
      adminUrl: external,
      description: "external (BENCH_DATABASE_URL)",
      processIds: () => (Number.isInteger(postmaster) ? [postmaster, ...childrenOf(postmaster)] : []),
      attachStandby:
        dataDir === undefined
          ? undefined
          : () => standbyOf({ dataDir, port: Number(new URL(external).port || 5432), adminUrl: external }),
      stop: async () => undefined,
    };
  }
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "registry-bench-pg-"));
  const port = await freePort();
  const embedded = await startEmbeddedPostgres(dataDir, port, pino({ level: "silent" }));
  const version = await withClient(embedded.url, async (client) => {
    const { rows } = await client.query<{ server_version: string }>("SHOW server_version");
    return rows[0]?.server_version ?? "?";
  });
  const adminUrl = withDatabase(embedded.url, "postgres");
  return {
    adminUrl,
    attachStandby: () => standbyOf({ dataDir: path.join(dataDir, "pg"), port, adminUrl }),
    description: `embedded PostgreSQL ${version} (default settings: fsync on, synchronous_commit on)`,
    processIds: () => {
      const postmaster = Number(
        fs.readFileSync(path.join(dataDir, "pg", "postmaster.pid"), "utf8").split("\n")[0],
      );
      return [postmaster, ...childrenOf(postmaster)];
    },
    stop: async () => {
      await embedded.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function standbyOf(primary: {
  dataDir: string;
  port: number;
  adminUrl: string;
}): Promise<BenchStandby> {
  const standby = await attachStandby(primary);
  return {
    url: standby.server.url,
    processIds: () => [standby.server.pid, ...childrenOf(standby.server.pid)],
    caughtUp: () => standby.caughtUp(),
    stop: () => standby.close(),
  };
}

/** A new empty database on the bench server; returns its URL. */
export async function createDatabase(adminUrl: string, name: string): Promise<string> {
  await withClient(adminUrl, (client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
  await withClient(adminUrl, (client) => client.query(`CREATE DATABASE "${name}"`));
  return withDatabase(adminUrl, name);
}

export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  await withClient(adminUrl, (client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
}

/** One signing key for every service the bench starts, so a token of one is valid on the others. */
const SIGNING_KEY = generateSigningKeyHex();

/** The environment of the service under test: no MCP_REGISTRY_* variable of the caller's shell leaks in. */
export function serviceEnv(databaseUrl: string, extra: Record<string, string>): NodeJS.ProcessEnv {
  const base = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith("MCP_REGISTRY_")),
  );
  return {
    ...base,
    NODE_ENV: "production",
    MCP_REGISTRY_DATABASE_URL: databaseUrl,
    MCP_REGISTRY_JWT_PRIVATE_KEY: SIGNING_KEY,
    MCP_REGISTRY_LOG_LEVEL: "info",
    // The bench's packages are made up; verification would measure (and fail on) the npm registry.
    MCP_REGISTRY_ENABLE_REGISTRY_VALIDATION: "false",
    ...extra,
  };
}

export interface CommandResult {
  code: number | null;
  seconds: number;
  /** CPU time (user + system) of the command, as last read from /proc before it exited (20 ms apart). */
  cpuSeconds: number;
  lines: string[];
}

/** Runs a one-shot command of the service (import, migrate) to completion, timing it. */
export async function runCommand(
  entry: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<CommandResult> {
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, [entry, ...args], {
    cwd: APP_DIR,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const chunks: Buffer[] = [];
  child.stdout.on("data", (chunk: Buffer) => chunks.push(chunk));
  child.stderr.on("data", (chunk: Buffer) => chunks.push(chunk));
  let cpuSeconds = 0;
  const sample = setInterval(() => {
    try {
      cpuSeconds = cpuSecondsOf(child.pid as number);
    } catch {
      // it exited meanwhile
    }
  }, 20);
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  clearInterval(sample);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return {
    code,
    seconds,
    cpuSeconds,
    lines: Buffer.concat(chunks).toString("utf8").split("\n").filter(Boolean),
  };
}

/** Resident memory of a process from /proc: current (VmRSS) and peak (VmHWM), in MiB. */
export function memoryOf(pid: number): { rssMiB: number; hwmMiB: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN);
  return { rssMiB: kib("VmRSS") / 1024, hwmMiB: kib("VmHWM") / 1024 };
}

const CLOCK_TICKS = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;

/** CPU time in user and kernel mode, in seconds, from the text of a `/proc/<pid>/stat`. */
export function cpuTimesFromStat(stat: string): { user: number; system: number } {
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { user: Number(fields[11]) / CLOCK_TICKS, system: Number(fields[12]) / CLOCK_TICKS };
}

/** CPU time a process has used so far in user and kernel mode, in seconds. */
export function cpuTimesOf(pid: number): { user: number; system: number } {
  return cpuTimesFromStat(fs.readFileSync(`/proc/${pid}/stat`, "utf8"));
}

/** CPU time (user + system) a process has used so far, in seconds. */
export function cpuSecondsOf(pid: number): number {
  const { user, system } = cpuTimesOf(pid);
  return user + system;
}

/** Direct children of a process (PostgreSQL's backends are children of the postmaster). */
function childrenOf(parent: number): number[] {
  const children: number[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === parent)
        children.push(Number(entry));
    } catch {
      // the process ended meanwhile
    }
  }
  return children;
}

/**
 * CPU seconds PostgreSQL has used so far: the postmaster, its live children, and the children that
 * already exited (their time accrues to the postmaster once it reaps them), so backends that come and
 * go between two readings are counted.
 */
export function postgresCpuSeconds(pids: number[]): number {
  const [postmaster, ...children] = pids;
  if (postmaster === undefined) return NaN;
  const stat = fs.readFileSync(`/proc/${postmaster}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // utime, stime, cutime, cstime: fields 14 to 17.
  const own = fields.slice(11, 15).reduce((sum, value) => sum + Number(value), 0) / CLOCK_TICKS;
  return own + [...cpuSnapshot(children).values()].reduce((sum, seconds) => sum + seconds, 0);
}

/** CPU seconds per live process. */
export function cpuSnapshot(pids: number[]): Map<number, number> {
  const snapshot = new Map<number, number>();
  for (const pid of pids) {
    try {
      snapshot.set(pid, cpuSecondsOf(pid));
    } catch {
      // the process ended meanwhile
    }
  }
  return snapshot;
}

/**
 * CPU seconds used between two snapshots: processes alive at both count their difference, processes
 * born in between count whole; processes that ended in between are lost (an undercount, never negative).
 */
export function cpuSecondsBetween(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, seconds] of after) total += seconds - (before.get(pid) ?? 0);
  return total;
}

export interface ServiceProcess {
  child: ChildProcess;
  pid: number;
  baseUrl: string;
  logFile: string;
  stop(): Promise<void>;
}

/** "512Mi", "1Gi" or a number of bytes, as a container's memory limit is written. */
export function parseMemoryLimit(value: string): number {
  const match = /^(\d+)(Ki|Mi|Gi)?$/.exec(value.trim());
  if (match === null)
    throw new Error(`BENCH_SERVICE_MEMORY_LIMIT: "${value}" is not bytes, or a number with Ki, Mi or Gi`);
  const unit = { Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 }[match[2] as "Ki" | "Mi" | "Gi"] ?? 1;
  return Number(match[1]) * unit;
}

/**
 * A new memory cgroup (v1 or v2) under this process's own, limited to `bytes`: a service started in
 * it sizes its heap as in a container with that limit (Node reads the limit at start: under 512 Mi,
 * a 256 MiB old generation and a 1 MiB semi-space instead of 16 MiB), and the kernel ends it if
 * it goes over. Returns the file a process writes its pid to in order to join, and a cleanup.
 */
function memoryCgroup(bytes: number, label: string): { procs: string; remove: () => void } {
  const lines = fs.readFileSync("/proc/self/cgroup", "utf8").split("\n");
  const v1 = lines.find((line) => /^\d+:memory:/.test(line));
  const v2 = lines.find((line) => line.startsWith("0::"));
  const candidates: Array<{ dir: string; file: string }> = [];
  if (v1 !== undefined)
    candidates.push({
      dir: path.join("/sys/fs/cgroup/memory", v1.split(":")[2] as string),
      file: "memory.limit_in_bytes",
    });
  if (v2 !== undefined)
    candidates.push({ dir: path.join("/sys/fs/cgroup", v2.slice(3)), file: "memory.max" });
  const errors: string[] = [];
  for (const { dir, file } of candidates) {
    const group = path.join(dir, `bench-${label}-${process.pid}`);
    try {
      fs.mkdirSync(group);
      fs.writeFileSync(path.join(group, file), String(bytes));
      return {
        procs: path.join(group, "cgroup.procs"),
        remove: () => {
          try {
            fs.rmdirSync(group);
          } catch (error) {
            console.error(`could not remove the cgroup ${group}: ${(error as Error).message}`);
          }
        },
      };
    } catch (error) {
      errors.push(`${group}: ${(error as Error).message}`);
      if (fs.existsSync(group)) fs.rmdirSync(group);
    }
  }
  throw new Error(
    `BENCH_SERVICE_MEMORY_LIMIT needs a memory cgroup this process may create (run as root with cgroups ` +
      `mounted read-write): ${errors.join("; ") || "no memory controller in /proc/self/cgroup"}`,
  );
}

/**
 * Starts `main.js serve` as its own process on a free loopback port and waits for readiness; with
 * `memoryLimit` (bytes), inside a memory cgroup of that limit, as in its container.
 */
export async function startService(
  entry: string,
  env: NodeJS.ProcessEnv,
  options: { nodeArgs?: string[]; logFile: string; memoryLimit?: number; label?: string },
): Promise<ServiceProcess> {
  const port = await freePort();
  const log = fs.openSync(options.logFile, "a");
  const command = [process.execPath, ...(options.nodeArgs ?? []), entry, "serve"];
  const cgroup =
    options.memoryLimit === undefined
      ? undefined
      : memoryCgroup(options.memoryLimit, options.label ?? "service");
  // In a cgroup: the shell joins it, then becomes node (same pid), so the limit holds from node's start.
  const [file, ...args] =
    cgroup === undefined
      ? command
      : ["/bin/sh", "-c", 'echo $$ > "$0" && exec "$@"', cgroup.procs, ...command];
  const child = spawn(file as string, args, {
    cwd: APP_DIR,
    env: { ...env, MCP_REGISTRY_SERVER_ADDRESS: `127.0.0.1:${port}` },
    // Logs go to a file as they would to a container runtime: written, never parsed by the bench.
    stdio: ["ignore", log, log],
  });
  fs.closeSync(log);
  const exited = new Promise<number | null>((resolve) => child.on("exit", resolve)).finally(() =>
    cgroup?.remove(),
  );
  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ready = await fetch(`${baseUrl}/readyz`).then(
      (response) => response.ok,
      () => false,
    );
    if (ready) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      throw new Error(`the service did not become ready; see ${options.logFile}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    child,
    pid: child.pid as number,
    baseUrl,
    logFile: options.logFile,
    stop: async () => {
      if (child.exitCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}
