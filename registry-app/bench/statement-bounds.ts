import { spawnSync } from "node:child_process";
import pg from "pg";
import { Database } from "../src/store";
import { startDatabase } from "./processes";

/**
 * CPU per statement of the store's Database (statements bounded by one shared check) against a
 * node-pg Pool with `query_timeout` (a timer per statement), on the same statements: a page of 30
 * entries (PAGE_SQL, by default 30 generated rows of 1 kB with characters outside Latin-1) and a
 * one-row read. Each way runs in its own process, as the service would (in one process together
 * they disturb each other's collections), alternating, and the medians are printed. Uses
 * BENCH_DATABASE_URL when set, else an embedded PostgreSQL (as bench/run.ts does).
 *
 *   npx tsx bench/statement-bounds.ts [statements per run] [runs]
 */

const PAGE =
  process.env.PAGE_SQL ??
  "SELECT repeat('Zugriff auf Datenbanken — データ ' || md5(g::text), 16) AS entry FROM generate_series(1, 30) AS g";
const ONE = "SELECT 'io.example/one' AS name, '1.0.0' AS version";
const WAYS = ["store Database (one shared bound)", "node-pg Pool with query_timeout"] as const;
type Way = (typeof WAYS)[number];

/** In a child process: CPU µs per statement of one way, for the page and for the one row. */
async function measure(way: Way, url: string, count: number): Promise<[number, number]> {
  const store = new Database({ url, poolSize: 4, connectTimeoutMs: 5_000, statementTimeoutMs: 30_000 });
  const timed = new pg.Pool({ connectionString: url, max: 4, query_timeout: 31_000 });
  const run =
    way === WAYS[0]
      ? (text: string) => store.query(text, [], { prepare: true })
      : (text: string) => timed.query({ text, values: [], name: `bench${text.length}` });
  const cpu = async (text: string) => {
    for (let i = 0; i < 300; i += 1) await run(text);
    const before = process.cpuUsage();
    for (let i = 0; i < count; i += 1) await run(text);
    const used = process.cpuUsage(before);
    return (used.user + used.system) / count;
  };
  try {
    return [await cpu(PAGE), await cpu(ONE)];
  } finally {
    await store.close();
    await timed.end();
  }
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? 3_000);
  const runs = Number(process.argv[3] ?? 5);
  const child = process.env.BENCH_STATEMENT_WAY as Way | undefined;
  if (child !== undefined) {
    const url = process.env.BENCH_STATEMENT_URL as string;
    process.stdout.write(`${JSON.stringify(await measure(child, url, count))}\n`);
    return;
  }
  const database = await startDatabase();
  const results = new Map<Way, Array<[number, number]>>(WAYS.map((way) => [way, []]));
  try {
    for (let run = 0; run < runs; run += 1) {
      for (const way of WAYS) {
        const result = spawnSync(process.execPath, [...process.execArgv, __filename, String(count)], {
          env: { ...process.env, BENCH_STATEMENT_WAY: way, BENCH_STATEMENT_URL: database.adminUrl },
          encoding: "utf8",
        });
        if (result.status !== 0) throw new Error(`${way}: ${result.stderr}`);
        results
          .get(way)
          ?.push(JSON.parse(result.stdout.trim().split("\n").pop() as string) as [number, number]);
      }
    }
  } finally {
    await database.stop();
  }
  for (const [index, label] of ["page of 30 entries", "one row"].entries()) {
    for (const [way, values] of results) {
      const each = values.map((pair) => pair[index] as number);
      const shown = each.map((value) => value.toFixed(0)).join(", ");
      process.stdout.write(
        `${label}, ${way}: median ${median(each).toFixed(0)} µs CPU per statement (${shown})\n`,
      );
    }
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
