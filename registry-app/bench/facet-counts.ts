import { DEFAULT_TAXONOMY } from "../src/classification";
import { FacetTable, type IndexScope } from "../src/service/facet-index";
import { attributeFilter, parseAttributeQuery } from "../src/http/classification-schemas";
import { Database, type AttributeFilter } from "../src/store";
import { facetChanges } from "../src/store/facets";
import { DEFAULT_SCALE, loadDataset, scaleDataset } from "./dataset";
import { FACETS, facetedQueries, filterCombinations } from "./facets";
import { median } from "./load";

/**
 * What the facet index costs per request, in memory, one process, no HTTP: FacetTable.count and the
 * first page of each query of the faceted-search scenario.
 * `npx tsx bench/facet-counts.ts <url of a database the bench imported>`
 * Each query runs 50 times per round; the figure per query is the median of its rounds, and the
 * output gives the mean and median over the queries, and the slowest ones.
 */
const url = process.argv[2] ?? process.env.BENCH_CHECK_DATABASE_URL;
const rounds = Number(process.env.BENCH_CHECK_ROUNDS ?? 7);
const CALLS = 50;

interface Query {
  text: string;
  scope: IndexScope;
  filter: AttributeFilter;
}

/** The scenario's query strings, parsed as the service parses them. */
function parsed(text: string): Query {
  const params = new URLSearchParams(text);
  return {
    text,
    scope: { includeDeleted: false, latestOnly: params.get("version") === "latest" },
    filter: attributeFilter(parseAttributeQuery(Object.fromEntries(params))),
  };
}

/** µs per call of `run` for each query: the median over rounds (the first round warms up, unrecorded). */
function timed(queries: readonly Query[], run: (query: Query) => unknown): number[] {
  const samples = queries.map((): number[] => []);
  for (let round = 0; round <= rounds; round += 1) {
    queries.forEach((query, index) => {
      const started = process.hrtime.bigint();
      for (let call = 0; call < CALLS; call += 1) run(query);
      if (round > 0) samples[index]?.push(Number(process.hrtime.bigint() - started) / CALLS / 1_000);
    });
  }
  return samples.map(median);
}

function summary(label: string, queries: readonly Query[], micros: readonly number[]): string {
  const mean = micros.reduce((sum, value) => sum + value, 0) / micros.length;
  const slowest = micros
    .map((value, index) => ({ value, text: queries[index]?.text ?? "" }))
    .sort((a, b) => b.value - a.value)
    .slice(0, 3)
    .map(({ value, text }) => `  ${value.toFixed(1).padStart(7)} µs  ${text}`)
    .join("\n");
  return `${label}: mean ${mean.toFixed(1)} µs, median ${median([...micros]).toFixed(1)} µs over ${micros.length} queries; slowest:\n${slowest}\n`;
}

async function main(): Promise<void> {
  if (url === undefined)
    throw new Error("usage: tsx bench/facet-counts.ts <database URL> (or BENCH_CHECK_DATABASE_URL)");
  const db = new Database({ url, poolSize: 1, connectTimeoutMs: 5_000, statementTimeoutMs: 60_000 });
  const table = new FacetTable();
  try {
    await facetChanges(db, "0", (rows) => table.apply(rows));
  } finally {
    await db.close();
  }
  const queries = facetedQueries(
    filterCombinations(scaleDataset(loadDataset(), DEFAULT_SCALE).documents),
  ).map(parsed);
  const known = new Set(DEFAULT_TAXONOMY.ids);
  process.stdout.write(
    `facet index of ${table.size} versions, ${queries.length} queries of the faceted-search scenario, ` +
      `${CALLS} calls x ${rounds} rounds\n`,
  );
  const counts = timed(queries, ({ scope, filter }) => table.count(scope, filter, FACETS, known));
  process.stdout.write(summary("count (5 facets)", queries, counts));
  const pages = timed(queries, ({ scope, filter }) => table.page(scope, filter, undefined, 31));
  process.stdout.write(summary("first page of 30", queries, pages));
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
