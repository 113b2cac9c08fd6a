import type pg from "pg";
import { DEFAULT_TAXONOMY } from "../src/classification";
import { Database, ServerStore, type AttributeFilter, type FacetName } from "../src/store";
import { FACET_LOAD_PART, FACET_LOAD_QUERY } from "../src/store/facets";
import { classify } from "./classification";

/**
 * Requests of the filtered-list and faceted-search scenarios (issue 13): what a catalogue UI sends
 * while someone narrows the servers down, built from the classification the bench gave the dataset.
 */

export const FACETS: readonly FacetName[] = ["category", "tag", "registry_type", "transport", "status"];

/** The filter combinations: every category alone, pairs of categories, popular tags, package types. */
export function filterCombinations(documents: ReadonlyArray<Record<string, unknown>>): string[] {
  const tagCounts = new Map<string, number>();
  for (const document of documents) {
    const { tags } = classify(String(document.name), String(document.description));
    for (const tag of tags) tagCounts.set(tag, (tagCounts.get(tag) ?? 0) + 1);
  }
  const tags = [...tagCounts.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, 12)
    .map(([tag]) => tag);
  const ids = DEFAULT_TAXONOMY.ids;
  const combinations: string[] = [];
  ids.forEach((id, index) => {
    combinations.push(`version=latest&category=${id}`);
    combinations.push(`version=latest&category=${id},${ids[(index + 5) % ids.length] as string}`);
    combinations.push(`category=${id}&registry_type=${["npm", "pypi", "oci"][index % 3] as string}`);
  });
  for (const tag of tags) {
    combinations.push(`version=latest&tag=${tag}`);
    combinations.push(`version=latest&tag=${tag}&transport=stdio`);
  }
  for (const type of ["npm", "pypi", "oci"])
    combinations.push(`version=latest&registry_type=${type}&transport=stdio`);
  combinations.push("version=latest&remote=true", "version=latest&status=active&category=databases");
  return combinations;
}

/** The same combinations with every facet counted, plus the unfiltered front page of the catalogue. */
export function facetedQueries(combinations: readonly string[]): string[] {
  const facets = `facets=${FACETS.join(",")}`;
  return [`version=latest&${facets}`, `${facets}`, ...combinations.map((query) => `${query}&${facets}`)];
}

/** A Database whose queries run under EXPLAIN and land in `plans` (the store's own SQL, unchanged). */
class ExplainingDatabase extends Database {
  readonly plans: string[] = [];

  override async query<R extends pg.QueryResultRow>(
    text: string,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>> {
    const result = await super.query<{ "QUERY PLAN": string }>(
      `EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, SUMMARY ON) ${text}`,
      values,
    );
    this.plans.push(result.rows.map((row) => row["QUERY PLAN"]).join("\n"));
    return { ...result, rows: [] as R[] } as pg.QueryResult<R>;
  }
}

/** EXPLAIN ANALYZE of the filtered-list and facet queries the service runs, with the indexes they use. */
export async function explainFacetQueries(databaseUrl: string): Promise<string> {
  const db = new ExplainingDatabase({
    url: databaseUrl,
    poolSize: 1,
    connectTimeoutMs: 5_000,
    statementTimeoutMs: 60_000,
  });
  const store = new ServerStore(db);
  const scope = { includeDeleted: false, latestOnly: true };
  const cases: Array<{ title: string; run: () => Promise<unknown> }> = [];
  const list = (title: string, attributes: AttributeFilter, latestOnly = true) =>
    cases.push({
      title: `filtered list: ${title}`,
      run: () =>
        store.reading({ tagged: false }, (reader) =>
          reader.narrowedList({ ...scope, latestOnly, limit: 31, attributes }),
        ),
    });
  const facets = (title: string, attributes: AttributeFilter, latestOnly = true) =>
    cases.push({
      title: `facets: ${title}`,
      run: () =>
        store.reading({ tagged: false }, (reader) =>
          reader.facets({
            ...scope,
            latestOnly,
            attributes,
            facets: FACETS,
            knownCategories: DEFAULT_TAXONOMY.ids,
          }),
        ),
    });
  list("version=latest&category=databases", { categories: ["databases"] });
  list("version=latest&category=ai-ml (a broad one)", { categories: ["ai-ml"] });
  list(
    "category=developer-tools&registry_type=npm (all versions)",
    { categories: ["developer-tools"], registryTypes: ["npm"] },
    false,
  );
  list("version=latest&tag=api&transport=stdio", { tags: ["api"], transports: ["stdio"] });
  // What serves those pages on the primary: the facet index finds the page, PostgreSQL reads its rows.
  const byId = (title: string, attributes: AttributeFilter) =>
    cases.push({
      title: `filtered list page found in the facet index, read by id: ${title}`,
      run: async () => {
        const page = await db.pool.query<{ id: string }>(
          `SELECT id::text FROM server_versions
           WHERE is_latest AND status <> 'deleted' AND categories && $1::text[]
           ORDER BY name, version LIMIT 31`,
          [attributes.categories],
        );
        await store.reading({ tagged: false }, (reader) => reader.byIds(page.rows.map((row) => row.id)));
      },
    });
  byId("version=latest&category=databases", { categories: ["databases"] });
  byId("version=latest&category=ai-ml (a broad one)", { categories: ["ai-ml"] });
  facets("version=latest, no filter", {});
  facets("version=latest&category=databases", { categories: ["databases"] });
  facets(
    "all versions, category=developer-tools&registry_type=npm",
    { categories: ["developer-tools"], registryTypes: ["npm"] },
    false,
  );
  // The first load reads in parts within one transaction (uncaptured here): the plan of its first part.
  cases.push({
    title: `the facet index's first load, one part (${FACET_LOAD_PART} versions by id)`,
    run: () => db.query(FACET_LOAD_QUERY, ["0", FACET_LOAD_PART]),
  });
  // A refresh reads what was written since the previous snapshot's xmin: here, nothing yet.
  const xmin = await db.pool.query<{ xmin: string }>(
    "SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin",
  );
  const since = xmin.rows[0]?.xmin ?? "0";
  cases.push({
    title: "the facet index's refresh after a write",
    run: () => store.facetChanges(since, () => undefined),
  });
  const out: string[] = [];
  try {
    for (const { title, run } of cases) {
      db.plans.length = 0;
      await run();
      out.push(`--- ${title}\n${db.plans.join("\n")}`);
    }
  } finally {
    await db.close();
  }
  return out.join("\n");
}
