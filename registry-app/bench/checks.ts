import { createHash } from "node:crypto";
import fs from "node:fs";
import pg from "pg";
import { DEFAULT_TAXONOMY } from "../src/classification";
import { listBody } from "../src/http/serialize";
import { EntryReader, type ListFilter, type Queryable } from "../src/store";
import { FRESHNESS } from "../src/store/servers";
import { median } from "./load";

/**
 * What alternative statements cost per call on one machine: PostgreSQL backend CPU (from /proc) and
 * client CPU, 4 connections, prepared statements.
 * `npx tsx bench/checks.ts <url of a database the bench imported> [freshness|pages]`
 * (PostgreSQL on this machine):
 * - freshness: a cached read's freshness check against the query it saves;
 * - pages: the reads behind list pages as the service makes and writes them, against rendering them
 *   in PostgreSQL (per row, or the whole page as one text) and reading several pages in one statement.
 */
const url = process.argv[2] ?? process.env.BENCH_CHECK_DATABASE_URL;
const suite = process.argv[3] ?? "freshness";
const calls = Number(process.env.BENCH_CHECK_CALLS ?? 4000);
const rounds = Number(process.env.BENCH_CHECK_ROUNDS ?? 5);
const CONNECTIONS = 4;

const iso = (column: string) =>
  `to_char(v.${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS ${column}`;

/** What the candidates draw their parameters from. */
interface Inputs {
  names: string[];
  /** Keys where each list page of 100 starts (every 100th version in list order). */
  pageStarts: Array<{ name: string; version: string }>;
  /** Ids of the latest versions in list order. */
  latestIds: string[];
}

interface Candidate {
  label: string;
  /** One call: a statement and whatever the service does with its answer. */
  run: (connection: pg.Client, inputs: Inputs, call: number) => Promise<unknown>;
  /** Pages one call reads (figures are per page). */
  pages?: number;
}

/** A candidate that is one statement. */
const statement = (
  label: string,
  text: string,
  prepared: boolean,
  values: (inputs: Inputs, call: number) => unknown[],
): Candidate => ({
  label,
  run: (connection, inputs, call) =>
    connection.query({
      text,
      values: values(inputs, call),
      ...(prepared ? { name: statementName(text) } : {}),
    }),
});

const statementName = (text: string) =>
  `check_${createHash("sha256").update(text).digest("hex").slice(0, 16)}`;

/** A connection as the store's readers use one: `prepare` names the statement. */
const queryable = (connection: pg.Client): Queryable => ({
  query: <R extends pg.QueryResultRow>(text: string, values?: unknown[], options?: { prepare?: boolean }) =>
    connection.query<R>({
      text,
      values,
      ...(options?.prepare === true ? { name: statementName(text) } : {}),
    }),
});

function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const namesOf = ({ names }: Inputs, call: number, count: number) =>
  Array.from({ length: count }, (_, i) => names[(call * count + i) % names.length] as string);

/** The previous build's check: every shard, as one string. */
const PREVIOUS_CHECK =
  "SELECT string_agg(value::text, '.' ORDER BY shard) AS value FROM registry_generation_shards";
/** The same with the names' generations as two arrays (the first version of the check by name). */
const FRESHNESS_ARRAYS = `SELECT (SELECT sum(value)::text || '.' || max(value)::text FROM registry_generation_shards) AS global,
  (SELECT array_agg(name::text) FROM registry_name_generations WHERE name = ANY($1::text[])) AS names,
  (SELECT array_agg(value::text) FROM registry_name_generations WHERE name = ANY($1::text[])) AS values,
  CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()::text END AS replayed`;

const freshness: Candidate[] = [
  statement("round trip alone (SELECT 1): the floor of any check", "SELECT 1", true, () => []),
  statement("previous check: global generation (16 shards)", PREVIOUS_CHECK, false, () => []),
  ...[1, 16, 64].map((count) =>
    statement(
      `check by name (FRESHNESS), ${count} name${count === 1 ? "" : "s"}`,
      FRESHNESS,
      true,
      (inputs, call) => [namesOf(inputs, call, count)],
    ),
  ),
  statement(
    "the same with the generations as two arrays, 16 names",
    FRESHNESS_ARRAYS,
    true,
    (inputs, call) => [namesOf(inputs, call, 16)],
  ),
  statement(
    "query a hit saves: get latest (entry, prepared)",
    "SELECT v.name, v.version, v.status, v.entry_json FROM server_versions v WHERE v.name = $1 AND v.is_latest",
    true,
    (inputs, call) => namesOf(inputs, call, 1),
  ),
  statement(
    "previous get latest (columns, timestamps formatted, unprepared)",
    `SELECT v.id::text AS id, v.name, v.version, v.document::text AS document_json, v.status, v.status_message,
      ${iso("status_changed_at")}, ${iso("published_at")}, ${iso("updated_at")}, v.is_latest
      FROM server_versions v WHERE v.name = $1 AND v.is_latest`,
    false,
    (inputs, call) => namesOf(inputs, call, 1),
  ),
];

/**
 * An entry as entryJson (src/http/serialize.ts) writes it from a row, rendered by PostgreSQL instead,
 * with the taxonomy's ids as $2: tried for issue 13 (BENCHMARKS.md, eighth session) and not kept.
 */
const labels = (list: string) =>
  `CASE WHEN ${list} = '{}' THEN '[]' ELSE '["' || array_to_string(${list}, '","') || '"]' END`;
const KNOWN = `CASE WHEN v.categories <@ $2::text[] THEN v.categories
  ELSE ARRAY(SELECT c FROM unnest(v.categories) WITH ORDINALITY AS u(c, n) WHERE c = ANY($2::text[]) ORDER BY n) END`;
const RENDERED_ENTRY = `CASE WHEN NOT (v.categories && $2::text[] OR v.tags <> '{}' OR v.categories_curated OR v.tags_curated)
  THEN v.entry_json
  ELSE left(v.entry_json, -2) || ',"io.mcp-registry/classification":{"categories":' || ${labels(KNOWN)}
    || ',"tags":' || ${labels("v.tags")}
    || CASE WHEN v.categories_curated OR v.tags_curated THEN ',"curated":' || CASE
         WHEN v.categories_curated AND v.tags_curated THEN '["categories","tags"]'
         WHEN v.categories_curated THEN '["categories"]' ELSE '["tags"]' END ELSE '' END
    || '}}}' END`;
const PAGE_ROWS = `FROM server_versions v WHERE v.status <> 'deleted' AND (v.name, v.version) > ($1, $3)
  ORDER BY v.name, v.version LIMIT 101`;

const LIST_PAGE: ListFilter = { limit: 101, includeDeleted: false, latestOnly: false };
const pageStart = ({ pageStarts }: Inputs, call: number) =>
  pageStarts[call % pageStarts.length] as { name: string; version: string };
const latestIds = ({ latestIds: ids }: Inputs, call: number, count: number) => {
  const from = (call * count) % Math.max(1, ids.length - count);
  return ids.slice(from, from + count);
};
const taxonomy = DEFAULT_TAXONOMY;

const pages: Candidate[] = [
  {
    label: "list page of 100: rows, entries spliced and written by the service (as served)",
    run: async (connection, inputs, call) => {
      const { rows } = await new EntryReader(queryable(connection), false).list({
        ...LIST_PAGE,
        after: pageStart(inputs, call),
      });
      return listBody(rows.slice(0, 100), undefined, taxonomy);
    },
  },
  {
    label: "list page of 100: each entry rendered by PostgreSQL",
    run: async (connection, inputs, call) => {
      const { name, version } = pageStart(inputs, call);
      const text = `SELECT v.name, v.version, ${RENDERED_ENTRY} AS entry ${PAGE_ROWS}`;
      const { rows } = await connection.query<{ entry: string }>({
        text,
        values: [name, taxonomy.ids, version],
        name: statementName(text),
      });
      return listBody(
        rows.slice(0, 100).map((row) => ({ entryJson: row.entry })),
        undefined,
        taxonomy,
      );
    },
  },
  {
    label: "list page of 100: the whole page rendered by PostgreSQL as one text",
    run: async (connection, inputs, call) => {
      const { name, version } = pageStart(inputs, call);
      const text = `SELECT string_agg(p.entry, ',' ORDER BY p.name, p.version) AS json
        FROM (SELECT v.name, v.version, ${RENDERED_ENTRY} AS entry ${PAGE_ROWS}) p`;
      const { rows } = await connection.query<{ json: string }>({
        text,
        values: [name, taxonomy.ids, version],
        name: statementName(text),
      });
      return listBody([{ entryJson: rows[0]?.json ?? "" }], undefined, taxonomy);
    },
  },
  ...[1, 4].map((count): Candidate => ({
    label:
      count === 1
        ? "facet-index page of 31 latest versions read by id (as served)"
        : `${count} such pages read by id in one statement`,
    pages: count,
    run: async (connection, inputs, call) => {
      const rows = await new EntryReader(queryable(connection), false).byIds(
        latestIds(inputs, call, 31 * count),
      );
      return listBody(
        rows.map((row) => row.entry),
        undefined,
        taxonomy,
      );
    },
  })),
];

async function main(): Promise<void> {
  if (url === undefined)
    throw new Error(
      "usage: tsx bench/checks.ts <postgres URL of an imported bench database> [freshness|pages]",
    );
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
    const candidates = { freshness, pages }[suite];
    if (candidates === undefined) throw new Error(`unknown suite "${suite}": freshness or pages`);
    const names = (
      await first.query<{ name: string }>("SELECT name FROM registry_name_generations")
    ).rows.map((row) => row.name);
    const pageStarts = (
      await first.query<{ name: string; version: string }>(
        `SELECT name, version FROM (SELECT name, version, row_number() OVER (ORDER BY name, version) AS n
         FROM server_versions WHERE status <> 'deleted') keys WHERE n % 100 = 1 ORDER BY n`,
      )
    ).rows;
    const latestIds = (
      await first.query<{ id: string }>(
        "SELECT id::text AS id FROM server_versions WHERE is_latest AND status <> 'deleted' ORDER BY name, version",
      )
    ).rows.map((row) => row.id);
    const inputs: Inputs = { names, pageStarts, latestIds };
    process.stdout.write(
      `${suite}: ${calls} calls x ${rounds} rounds, ${CONNECTIONS} connections, medians (µs per page or call):\n`,
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
              await candidate.run(connection, inputs, call);
            }
          }),
        );
        const used = process.cpuUsage(own);
        // The first round prepares and warms caches; it is not counted.
        if (round === 0) continue;
        const units = calls * (candidate.pages ?? 1);
        backend.push(
          (pids.map(cpuSeconds).reduce((sum, now, i) => sum + now - (before[i] ?? 0), 0) * 1e6) / units,
        );
        client.push((used.user + used.system) / units);
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
