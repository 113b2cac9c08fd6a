import fs from "node:fs";
import pg from "pg";
import { FRESHNESS } from "../src/store/servers";
import { median } from "./load";

/**
 * What a cached read's freshness check costs against the query it saves, per statement on one
 * machine: PostgreSQL backend CPU (from /proc) and client CPU, 4 connections, prepared statements.
 * `npx tsx bench/checks.ts <url of a database the bench imported>` (PostgreSQL on this machine).
 */
const url = process.argv[2] ?? process.env.BENCH_CHECK_DATABASE_URL;
const calls = Number(process.env.BENCH_CHECK_CALLS ?? 4000);
const rounds = Number(process.env.BENCH_CHECK_ROUNDS ?? 5);
const CONNECTIONS = 4;

const iso = (column: string) =>
  `to_char(v.${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS ${column}`;

interface Candidate {
  label: string;
  text: string;
  /** The previous build sent its reads unprepared. */
  prepared: boolean;
  values: (names: string[], call: number) => unknown[];
}

function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const namesOf = (names: string[], call: number, count: number) =>
  Array.from({ length: count }, (_, i) => names[(call * count + i) % names.length] as string);

/** The previous build's check: every shard, as one string. */
const PREVIOUS_CHECK =
  "SELECT string_agg(value::text, '.' ORDER BY shard) AS value FROM registry_generation_shards";
/** The same with the names' generations as two arrays (the first version of the check by name). */
const FRESHNESS_ARRAYS = `SELECT (SELECT sum(value)::text || '.' || max(value)::text FROM registry_generation_shards) AS global,
  (SELECT array_agg(name::text) FROM registry_name_generations WHERE name = ANY($1::text[])) AS names,
  (SELECT array_agg(value::text) FROM registry_name_generations WHERE name = ANY($1::text[])) AS values,
  CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()::text END AS replayed`;

const candidates: Candidate[] = [
  {
    label: "round trip alone (SELECT 1): the floor of any check",
    text: "SELECT 1",
    prepared: true,
    values: () => [],
  },
  {
    label: "previous check: global generation (16 shards)",
    text: PREVIOUS_CHECK,
    prepared: false,
    values: () => [],
  },
  ...[1, 16, 64].map((count) => ({
    label: `check by name (FRESHNESS), ${count} name${count === 1 ? "" : "s"}`,
    text: FRESHNESS,
    prepared: true,
    values: (names: string[], call: number) => [namesOf(names, call, count)],
  })),
  {
    label: "the same with the generations as two arrays, 16 names",
    text: FRESHNESS_ARRAYS,
    prepared: true,
    values: (names, call) => [namesOf(names, call, 16)],
  },
  {
    label: "query a hit saves: get latest (entry, prepared)",
    text: "SELECT v.name, v.version, v.status, v.entry_json FROM server_versions v WHERE v.name = $1 AND v.is_latest",
    prepared: true,
    values: (names, call) => namesOf(names, call, 1),
  },
  {
    label: "previous get latest (columns, timestamps formatted, unprepared)",
    text: `SELECT v.id::text AS id, v.name, v.version, v.document::text AS document_json, v.status, v.status_message,
      ${iso("status_changed_at")}, ${iso("published_at")}, ${iso("updated_at")}, v.is_latest
      FROM server_versions v WHERE v.name = $1 AND v.is_latest`,
    prepared: false,
    values: (names, call) => namesOf(names, call, 1),
  },
];

async function main(): Promise<void> {
  if (url === undefined)
    throw new Error("usage: tsx bench/checks.ts <postgres URL of an imported bench database>");
  const clients = await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      return client;
    }),
  );
  try {
    const first = clients[0] as pg.Client;
    const pids = await Promise.all(
      clients.map(
        async (client) =>
          (await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]?.pid ?? 0,
      ),
    );
    const names = (
      await first.query<{ name: string }>("SELECT name FROM registry_name_generations")
    ).rows.map((row) => row.name);
    process.stdout.write(
      `${calls} calls x ${rounds} rounds, ${CONNECTIONS} connections, medians (µs per call):\n`,
    );
    process.stdout.write("| statement | PostgreSQL CPU | client CPU |\n|---|---:|---:|\n");
    for (const candidate of candidates) {
      const backend: number[] = [];
      const client: number[] = [];
      for (let round = 0; round < rounds + 1; round += 1) {
        const before = pids.map(cpuSeconds);
        const own = process.cpuUsage();
        await Promise.all(
          clients.map(async (connection, index) => {
            for (let call = index; call < calls; call += CONNECTIONS) {
              await connection.query({
                text: candidate.text,
                values: candidate.values(names, call),
                ...(candidate.prepared ? { name: `check_${candidates.indexOf(candidate)}` } : {}),
              });
            }
          }),
        );
        const used = process.cpuUsage(own);
        // The first round prepares and warms caches; it is not counted.
        if (round === 0) continue;
        backend.push(
          (pids.map(cpuSeconds).reduce((sum, now, i) => sum + now - (before[i] ?? 0), 0) * 1e6) / calls,
        );
        client.push((used.user + used.system) / calls);
      }
      process.stdout.write(
        `| ${candidate.label} | ${median(backend).toFixed(0)} | ${median(client).toFixed(0)} |\n`,
      );
    }
  } finally {
    await Promise.all(clients.map((client) => client.end()));
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`checks failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
