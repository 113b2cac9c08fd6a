import assert from "node:assert/strict";
import Ajv2020 from "ajv/dist/2020";
import addFormats from "ajv-formats";
import type { InjectOptions, LightMyRequestResponse } from "fastify";
import { DEFAULT_CATEGORIES } from "../../src/classification";
import { PUBLISHER_META_KEY } from "../../src/schema";
import { systemCaller } from "../../src/service";
import { DATASET_FILE, hasDataset, loadDataset, type JsonObject } from "../schema/support";
import { assertConformsToSpec } from "../support/conformance";
import { testRegistry, type TestRegistry } from "../support/registry";

/**
 * Filters and facets over the 464 real servers of ../shared/datasets, each given categories and tags
 * here (messy spellings, unknown ids, too many tags), some with a second version, some deprecated or
 * deleted. Every expectation is computed in this file from the documents it published.
 */

const IDS = DEFAULT_CATEGORIES.map((category) => category.id);

/** Raw spellings a publisher might write, and what the registry must index them as (null: nothing). */
const CATEGORY_SPELLINGS: Array<[string, string | null]> = [
  ["Developer Tools", "developer-tools"],
  ["DATABASES", "databases"],
  ["quantum-computing", null], // not in the taxonomy
  ["cloud_platforms", "cloud-platforms"],
];
const TAG_SPELLINGS: Array<[string, string | null]> = [
  ["Machine Learning", "machine-learning"],
  ["SQL", "sql"],
  ["postgres_db", "postgres-db"],
  ["  Cloud  ", "cloud"],
  ["AI/ML", "ai-ml"],
  ["!!!", null],
  ["x".repeat(40), null],
  ["Vector Search", "vector-search"],
  ["team:data", "team-data"],
  ["beta", "beta"],
  ["sql", "sql"], // repeats "SQL" once normalised
];

interface Row {
  name: string;
  version: string;
  isLatest: boolean;
  status: "active" | "deprecated" | "deleted";
  categories: string[];
  tags: string[];
  registryTypes: string[];
  transports: string[];
  remote: boolean;
}

function distinct(values: Array<string | null>): string[] {
  return [...new Set(values.filter((value): value is string => value !== null))];
}

/** The publisher's declaration for server i (and version 2) plus what it must index as. */
function declaration(
  i: number,
  second: boolean,
): { declared: JsonObject; categories: string[]; tags: string[] } {
  const categories: Array<[string, string | null]> = [
    [IDS[i % IDS.length] as string, IDS[i % IDS.length] as string],
  ];
  if (i % 3 === 0) {
    const id = IDS[(i * 7 + 3) % IDS.length] as string;
    categories.push([id, id]);
  }
  if (i % 5 === 0)
    categories.push(CATEGORY_SPELLINGS[(i / 5) % CATEGORY_SPELLINGS.length] as [string, string | null]);
  let tags: Array<[string, string | null]> = [0, 1, 2].map(
    (k) => TAG_SPELLINGS[(i * (k + 2) + k) % TAG_SPELLINGS.length] as [string, string | null],
  );
  if (i % 17 === 0) tags = Array.from({ length: 25 }, (_, k): [string, string] => [`Bulk ${k}`, `bulk-${k}`]);
  if (second) tags = [...tags.slice(1), ["Version Two", "version-two"]];
  return {
    declared: { categories: categories.map(([raw]) => raw), tags: tags.map(([raw]) => raw) },
    categories: distinct(categories.map(([, id]) => id)),
    tags: distinct(tags.map(([, tag]) => tag)).slice(0, 20),
  };
}

function packagesOf(document: JsonObject): JsonObject[] {
  return Array.isArray(document.packages) ? (document.packages as JsonObject[]) : [];
}

function remotesOf(document: JsonObject): JsonObject[] {
  return Array.isArray(document.remotes) ? (document.remotes as JsonObject[]) : [];
}

interface Query {
  params: Record<string, string | string[]>;
  matches: (row: Row) => boolean;
}

/** Every version a query may return: deleted ones only with include_deleted or a status filter naming deleted. */
function expectedRows(rows: Row[], query: Query): Row[] {
  const params = query.params;
  const statuses = ([] as string[]).concat(params.status ?? []).flatMap((value) => value.split(","));
  const deleted = params.include_deleted === "true" || statuses.includes("deleted");
  return rows.filter(
    (row) =>
      (deleted || row.status !== "deleted") &&
      (params.version !== "latest" || row.isLatest) &&
      query.matches(row),
  );
}

function urlOf(params: Record<string, string | string[]>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params))
    for (const item of ([] as string[]).concat(value)) search.append(key, item);
  return `/v0.1/servers?${search.toString()}`;
}

const key = (entry: { server: { name: string; version: string } }) =>
  `${entry.server.name}@${entry.server.version}`;

interface Entry {
  server: { name: string; version: string };
  _meta: Record<string, { categories?: string[]; tags?: string[]; curated?: string[] } | undefined>;
}
interface FacetResult {
  counts: Array<{ value: string; count: number }>;
  unfiltered?: Array<{ value: string; count: number }>;
}
interface List {
  servers: Entry[];
  metadata: { nextCursor?: string; count: number; totalCount?: number; facets?: Record<string, FacetResult> };
}
interface Problem {
  errors?: Array<{ location: string; message: string }>;
}

const FACETS = ["category", "tag", "registry_type", "transport", "status", "remote"] as const;
type Facet = (typeof FACETS)[number];

const valuesOf: Record<Facet, (row: Row) => string[]> = {
  category: (row) => row.categories,
  tag: (row) => row.tags,
  registry_type: (row) => row.registryTypes,
  transport: (row) => row.transports,
  status: (row) => [row.status],
  remote: (row) => [String(row.remote)],
};

function countsOf(rows: Row[], facet: Facet): Array<{ value: string; count: number }> {
  const counts = new Map<string, number>();
  for (const row of rows)
    for (const value of valuesOf[facet](row)) counts.set(value, (counts.get(value) ?? 0) + 1);
  return [...counts.entries()]
    .map(([value, count]) => ({ value, count }))
    .sort((a, b) => b.count - a.count || (a.value < b.value ? -1 : 1));
}

describe("http: filters and facets over the shared dataset", function () {
  this.timeout(600_000);
  let registry: TestRegistry;
  /** The same database served with facets counted in SQL only (MCP_REGISTRY_FACET_INDEX=false). */
  let sqlOnly: TestRegistry;
  const rows: Row[] = [];
  let selfCheck: (value: unknown) => void;

  async function call(options: InjectOptions): Promise<LightMyRequestResponse> {
    const response = await registry.app.inject(options);
    if (response.statusCode === 200 && String(options.url).startsWith("/v0.1/servers?")) {
      const body = response.json();
      assertConformsToSpec("GET", String(options.url), 200, body);
      selfCheck(body);
    }
    return response;
  }

  /** Lists whose facets were counted in memory (index) or in SQL, so far. */
  async function countedBy(source: "index" | "sql"): Promise<number> {
    const metric = await registry.runtime.metrics.facetCounts.get();
    return metric.values.find((value) => value.labels.source === source)?.value ?? 0;
  }

  /** Narrowed list pages found so far by the in-memory index or by their query. */
  async function narrowedBy(source: "index" | "sql"): Promise<number> {
    const metric = await registry.runtime.metrics.narrowedPages.get();
    return metric.values.find((value) => value.labels.source === source)?.value ?? 0;
  }

  /** Walks every page of a query (limit 7); asserts no duplicates, and returns entries and the first page. */
  async function walk(
    params: Record<string, string | string[]>,
  ): Promise<{ keys: string[]; first: List; entries: Entry[]; pages: Array<{ url: string; body: string }> }> {
    const keys: string[] = [];
    const entries: Entry[] = [];
    const pages: Array<{ url: string; body: string }> = [];
    let first: List | undefined;
    let cursor: string | undefined;
    do {
      const url = urlOf({ ...params, limit: "7", ...(cursor === undefined ? {} : { cursor }) });
      const response = await call({ method: "GET", url });
      assert.equal(response.statusCode, 200, `${url}: ${response.body}`);
      pages.push({ url, body: response.body });
      const page = response.json<List>();
      first ??= page;
      assert.ok(page.servers.length <= 7);
      keys.push(...page.servers.map(key));
      entries.push(...page.servers);
      cursor = page.metadata.nextCursor;
    } while (cursor !== undefined);
    assert.equal(new Set(keys).size, keys.length, `no entry twice: ${urlOf(params)}`);
    return { keys, first: first as List, entries, pages };
  }

  before(async function () {
    if (!hasDataset) {
      console.warn(`    (skipped: ${DATASET_FILE} is absent)`);
      this.skip();
    }
    registry = await testRegistry("facets");
    const doc = (await registry.app.inject({ method: "GET", url: "/openapi.json" })).json<
      Record<string, unknown>
    >();
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(ajv);
    ajv.addSchema(doc, "self");
    const validate = ajv.getSchema("self#/components/schemas/ServerList");
    assert.ok(validate);
    selfCheck = (value) =>
      assert.ok(validate(value), `own ServerList schema: ${ajv.errorsText(validate.errors)}`);

    const service = registry.runtime.service;
    const admin = systemCaller("facets-test");
    const dataset = loadDataset();
    for (const [i, source] of dataset.entries()) {
      const versions = i % 4 === 0 ? ["1.0.0", "2.0.0"] : ["1.0.0"];
      for (const version of versions) {
        const second = version === "2.0.0";
        const { declared, categories, tags } = declaration(i, second);
        const document = {
          ...source,
          version,
          packages: packagesOf(source).map((pkg) => ({ ...pkg, version })),
          _meta: { [PUBLISHER_META_KEY]: declared },
        };
        await service.publish(admin, document);
        rows.push({
          name: String(source.name),
          version,
          isLatest: version === versions[versions.length - 1],
          status: "active",
          categories,
          tags,
          registryTypes: [...new Set(packagesOf(source).map((pkg) => String(pkg.registryType)))],
          transports: [
            ...new Set([
              ...packagesOf(source).map((pkg) => String((pkg.transport as JsonObject).type)),
              ...remotesOf(source).map((remote) => String(remote.type)),
            ]),
          ],
          remote: remotesOf(source).length > 0,
        });
      }
      const name = String(source.name);
      if (i % 13 === 0) {
        await service.setStatusAll(admin, name, { status: "deleted" });
        for (const row of rows) if (row.name === name) row.status = "deleted";
      } else if (i % 9 === 0) {
        await service.setStatus(admin, name, "1.0.0", { status: "deprecated" });
        for (const row of rows) if (row.name === name && row.version === "1.0.0") row.status = "deprecated";
      }
    }
    assert.ok(rows.some((row) => row.remote) && rows.some((row) => row.registryTypes.includes("oci")));
    // The index loads in the background after the first faceted request that finds it stale.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const before = await countedBy("index");
      await registry.app.inject({ method: "GET", url: "/v0.1/servers?facets=status&limit=1" });
      if ((await countedBy("index")) > before) break;
      assert.ok(Date.now() < deadline, "the facet index never loaded");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    sqlOnly = await testRegistry("facets_sql", {
      MCP_REGISTRY_DATABASE_URL: registry.config.MCP_REGISTRY_DATABASE_URL ?? assert.fail("no database URL"),
      MCP_REGISTRY_FACET_INDEX: "false",
    });
  });
  after(async () => {
    await sqlOnly?.close();
    await registry?.close();
  });

  const queries: Array<{ title: string } & Query> = [
    { title: "no filter", params: {}, matches: () => true },
    {
      title: "one category",
      params: { category: "databases" },
      matches: (r) => r.categories.includes("databases"),
    },
    {
      title: "two categories, repeated (OR)",
      params: { category: ["databases", "search"] },
      matches: (r) => r.categories.includes("databases") || r.categories.includes("search"),
    },
    {
      title: "two categories, comma-separated, latest only",
      params: { category: "security,developer-tools", version: "latest" },
      matches: (r) => r.categories.includes("security") || r.categories.includes("developer-tools"),
    },
    {
      title: "category AND registry type",
      params: { category: "developer-tools", registry_type: "npm" },
      matches: (r) => r.categories.includes("developer-tools") && r.registryTypes.includes("npm"),
    },
    {
      title: "a tag written messily by publishers",
      params: { tag: "machine-learning" },
      matches: (r) => r.tags.includes("machine-learning"),
    },
    {
      title: "the 20th tag is indexed, the 21st is not",
      params: { tag: ["bulk-19", "bulk-20"] },
      matches: (r) => r.tags.includes("bulk-19") || r.tags.includes("bulk-20"),
    },
    {
      title: "tag AND transport AND package types (OR)",
      params: { tag: "sql", transport: "stdio", registry_type: ["pypi", "oci"] },
      matches: (r) =>
        r.tags.includes("sql") &&
        r.transports.includes("stdio") &&
        (r.registryTypes.includes("pypi") || r.registryTypes.includes("oci")),
    },
    { title: "remote=true", params: { remote: "true" }, matches: (r) => r.remote },
    {
      title: "remote=0 (ParseBool) with a category",
      params: { remote: "0", category: "ai-ml" },
      matches: (r) => !r.remote && r.categories.includes("ai-ml"),
    },
    {
      title: "status deprecated",
      params: { status: "deprecated" },
      matches: (r) => r.status === "deprecated",
    },
    {
      title: "status deleted implies include_deleted",
      params: { status: "deleted" },
      matches: (r) => r.status === "deleted",
    },
    {
      title: "include_deleted with a category and latest",
      params: { include_deleted: "true", version: "latest", category: "finance" },
      matches: (r) => r.categories.includes("finance"),
    },
    {
      title: "an exact version with a tag",
      params: { version: "2.0.0", tag: "version-two" },
      matches: (r) => r.version === "2.0.0" && r.tags.includes("version-two"),
    },
    {
      title: "empty values are absent",
      params: { category: "", tag: "", registry_type: "", remote: "" },
      matches: () => true,
    },
    {
      title: "category AND tag",
      params: { category: "databases", tag: "cloud" },
      matches: (r) => r.categories.includes("databases") && r.tags.includes("cloud"),
    },
  ];

  for (const query of queries) {
    it(`${query.title}: exactly the expected versions across pages, in order, with facets`, async () => {
      const expected = expectedRows(rows, query);
      const inIndex = await narrowedBy("index");
      const { keys, pages } = await walk(query.params);
      // Narrowed pages come from the in-memory index (nothing changed since it loaded), unless the
      // request names an exact version; the query finds the same pages, to the byte.
      const narrowed = FACETS.some(
        (facet) => query.params[facet] !== undefined && query.params[facet] !== "",
      );
      const exactVersion = query.params.version !== undefined && query.params.version !== "latest";
      if (narrowed && !exactVersion) assert.equal((await narrowedBy("index")) - inIndex, pages.length);
      for (const { url, body } of pages) {
        const queried = await sqlOnly.app.inject({ method: "GET", url });
        assert.equal(queried.body, body, `${url}: the index's page equals the query's`);
      }
      const byteOrder = (a: Row, b: Row) =>
        Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)) ||
        Buffer.compare(Buffer.from(a.version), Buffer.from(b.version));
      assert.deepEqual(
        keys,
        [...expected].sort(byteOrder).map((row) => `${row.name}@${row.version}`),
      );

      const facetsUrl = urlOf({ ...query.params, facets: FACETS.join(",") });
      const inSql = await countedBy("sql");
      const response = await call({ method: "GET", url: facetsUrl });
      // Nothing changed since the index loaded: only an exact version is counted in SQL (or the read
      // cache answers, counting nothing).
      const exact = query.params.version !== undefined && query.params.version !== "latest";
      if (!exact) assert.equal(await countedBy("sql"), inSql, "counted by the in-memory index");
      assert.equal(response.statusCode, 200, response.body);
      const metadata = response.json<List>().metadata;
      // The in-memory index and SQL agree, to the byte.
      const counted = await sqlOnly.app.inject({ method: "GET", url: facetsUrl });
      assert.equal(counted.body, response.body, "SQL facet counts equal the in-memory index's");
      assert.equal(metadata.totalCount, expected.length);
      for (const facet of FACETS) {
        const result = metadata.facets?.[facet];
        assert.ok(result, facet);
        assert.deepEqual(result.counts, countsOf(expected, facet), `${facet} counts`);
        const own = query.params[facet];
        const filtered = own !== undefined && ([] as string[]).concat(own).some((value) => value !== "");
        if (!filtered) {
          assert.equal(result.unfiltered, undefined, `${facet}: no own filter, no unfiltered counts`);
          continue;
        }
        const { [facet]: _own, ...others } = query.params;
        // Without its own filter, but deleted versions stay in scope when a status filter brought them in.
        const scope = facet === "status" ? { ...others, include_deleted: expectedDeleted(query) } : others;
        const alternatives = expectedRows(rows, {
          params: scope,
          matches: (row) => matchesExcept(query, facet, row),
        });
        assert.deepEqual(result.unfiltered, countsOf(alternatives, facet), `${facet} unfiltered counts`);
      }
    });
  }

  /** The query's parameters as a predicate, without one facet's condition (undefined: all of them). */
  function matchesExcept(query: Query, facet: Facet | undefined, row: Row): boolean {
    const conditions: Record<Facet, (r: Row) => boolean> = {
      category: (r) => listMatch(query.params.category, r.categories),
      tag: (r) => listMatch(query.params.tag, r.tags),
      registry_type: (r) => listMatch(query.params.registry_type, r.registryTypes),
      transport: (r) => listMatch(query.params.transport, r.transports),
      status: (r) => listMatch(query.params.status, [r.status]),
      remote: (r) => {
        const value = query.params.remote;
        if (value === undefined || value === "") return true;
        return r.remote === ["1", "t", "T", "TRUE", "true", "True"].includes(String(value));
      },
    };
    const version = query.params.version;
    const versionOk = version === undefined || version === "latest" || row.version === version;
    return versionOk && FACETS.filter((name) => name !== facet).every((name) => conditions[name](row));
  }

  function listMatch(param: string | string[] | undefined, values: string[]): boolean {
    const wanted = ([] as string[])
      .concat(param ?? [])
      .flatMap((value) => value.split(","))
      .filter(Boolean);
    return wanted.length === 0 || wanted.some((value) => values.includes(value));
  }

  function expectedDeleted(query: Query): string {
    const statuses = ([] as string[]).concat(query.params.status ?? []).flatMap((value) => value.split(","));
    return query.params.include_deleted === "true" || statuses.includes("deleted") ? "true" : "false";
  }

  it("the table's hand-written predicates equal its parameters read generically (a check of this test)", () => {
    for (const query of queries)
      for (const row of rows)
        assert.equal(matchesExcept(query, undefined, row), query.matches(row), query.title);
  });

  it("combines filters with search: the search's own results, narrowed, and facets over all of them", async () => {
    const all = await walk({ search: "database" });
    assert.ok(all.keys.length > 10);
    const byKey = new Map(rows.map((row) => [`${row.name}@${row.version}`, row]));
    const narrowed = await walk({ search: "database", registry_type: "npm" });
    assert.deepEqual(
      narrowed.keys,
      all.keys.filter((k) => byKey.get(k)?.registryTypes.includes("npm")),
      "same ranked order, only npm",
    );
    const faceted = (
      await call({ method: "GET", url: urlOf({ search: "database", facets: "registry_type,category" }) })
    ).json<List>();
    assert.equal(faceted.metadata.totalCount, all.keys.length);
    const matched = all.keys.map((k) => byKey.get(k) as Row);
    assert.deepEqual(faceted.metadata.facets?.registry_type?.counts, countsOf(matched, "registry_type"));
    assert.deepEqual(faceted.metadata.facets?.category?.counts, countsOf(matched, "category"));
  });

  it("shows the effective classification under the registry's own _meta key (taxonomy ids only)", async () => {
    const { entries } = await walk({ version: "latest" });
    for (const entry of entries) {
      const row = rows.find((r) => r.name === entry.server.name && r.version === entry.server.version) as Row;
      const meta = entry._meta["io.mcp-registry/classification"];
      assert.deepEqual(meta?.categories, row.categories, entry.server.name);
      assert.deepEqual(meta?.tags, row.tags, entry.server.name);
      assert.equal(meta?.curated, undefined);
    }
  });

  it("binds cursors to their filter set: another set is a 400 naming query.cursor, value order does not matter", async () => {
    const page = (
      await call({ method: "GET", url: urlOf({ category: ["databases", "search"], limit: "3" }) })
    ).json<List>();
    const cursor = page.metadata.nextCursor as string;
    assert.ok(cursor);
    const reordered = await call({
      method: "GET",
      url: urlOf({ category: ["search", "databases"], limit: "3", cursor }),
    });
    assert.equal(reordered.statusCode, 200, reordered.body);
    const others: Array<Record<string, string | string[]>> = [
      { category: "databases" },
      { category: ["databases", "search"], tag: "sql" },
      { category: ["databases", "search"], version: "latest" },
      { category: ["databases", "search"], search: "data" },
      {},
    ];
    for (const other of others) {
      const response = await call({ method: "GET", url: urlOf({ ...other, limit: "3", cursor }) });
      assert.equal(response.statusCode, 400, `${JSON.stringify(other)}: ${response.body}`);
      assert.equal(response.json<Problem>().errors?.[0]?.location, "query.cursor");
      assert.match(response.json<Problem>().errors?.[0]?.message ?? "", /different set of filters|verbatim/);
    }
  });

  it("counts what was committed before the request, on every instance: publish, status, override", async () => {
    const url = urlOf({ version: "latest", category: "location", facets: "category,tag,status" });
    const read = async (instance: TestRegistry) =>
      (await instance.app.inject({ method: "GET", url })).json<List>().metadata;
    const before = await read(registry);
    assert.deepEqual(await read(sqlOnly), before);
    const admin = systemCaller("facets-test");
    const name = "io.github.facets/fresh";
    // Written through the other instance: the index must notice a change it did not make.
    await sqlOnly.runtime.service.publish(admin, {
      $schema: "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json",
      name,
      version: "1.0.0",
      description: "A new server",
      _meta: { [PUBLISHER_META_KEY]: { categories: ["location"], tags: ["brand-new"] } },
    });
    const published = await read(registry);
    assert.equal(published.totalCount, (before.totalCount ?? 0) + 1);
    assert.ok(
      published.facets?.tag?.counts.some((entry) => entry.value === "brand-new" && entry.count === 1),
    );
    await sqlOnly.runtime.service.setStatusAll(admin, name, { status: "deprecated" });
    const deprecated = await read(registry);
    assert.ok(deprecated.facets?.status?.counts.some((entry) => entry.value === "deprecated"));
    const adminToken = await sqlOnly.token([{ action: "edit", resource: "*" }]);
    const put = await sqlOnly.app.inject({
      method: "PUT",
      url: `/v0.1/servers/${encodeURIComponent(name)}/classification`,
      headers: { authorization: `Bearer ${adminToken}` },
      payload: { categories: ["search"] },
    });
    assert.equal(put.statusCode, 200, put.body);
    const curated = await read(registry);
    // Out of the category again; among its alternatives, one more in search.
    assert.equal(curated.totalCount, before.totalCount);
    assert.deepEqual(curated.facets?.tag, before.facets?.tag);
    assert.deepEqual(curated.facets?.category?.counts, before.facets?.category?.counts);
    const searchCount = (metadata: List["metadata"]) =>
      metadata.facets?.category?.unfiltered?.find((entry) => entry.value === "search")?.count ?? 0;
    assert.equal(searchCount(curated), searchCount(before) + 1);
    assert.deepEqual(await read(sqlOnly), curated);
  });

  const unhappy: Array<[string, string, RegExp]> = [
    ["registry_type=maven", "query.registry_type", /"maven" is not one of npm, pypi, oci, nuget, mcpb/],
    ["transport=websocket", "query.transport", /"websocket" is not one of stdio, streamable-http, sse/],
    ["facets=category,colour", "query.facets", /"colour" is not one of/],
    ["category=quantum-computing", "query.category", /not a category of this registry/],
    ["category=Bad_Id", "query.category", /lower-case letters and digits/],
    [`tag=${"a".repeat(33)}`, "query.tag", /at most 32 characters/],
    ["remote=maybe", "query.remote", /expected true or false/],
    ["status=gone", "query.status", /"gone" is not one of active, deprecated, deleted/],
    ["cursor=not-a-cursor&category=databases", "query.cursor", /verbatim/],
  ];
  for (const [query, location, message] of unhappy) {
    it(`400 naming ${location} for ${query}`, async () => {
      const response = await call({ method: "GET", url: `/v0.1/servers?${query}` });
      assert.equal(response.statusCode, 400, response.body);
      assert.match(String(response.headers["content-type"]), /^application\/problem\+json/);
      const error = response.json<Problem>().errors?.[0];
      assert.equal(error?.location, location);
      assert.match(error?.message ?? "", message);
    });
  }

  it("serves the taxonomy and documents every new parameter in its OpenAPI document", async () => {
    const categories = (await call({ method: "GET", url: "/v0.1/categories" })).json<{
      categories: Array<{ id: string; title: string; description: string }>;
    }>().categories;
    assert.deepEqual(categories, DEFAULT_CATEGORIES);
    const doc = (await call({ method: "GET", url: "/openapi.json" })).json<{
      paths: Record<string, Record<string, { parameters?: Array<{ name: string }> }>>;
    }>();
    const names = (doc.paths["/v0.1/servers"]?.get?.parameters ?? []).map((p) => p.name);
    for (const name of ["category", "tag", "registry_type", "transport", "remote", "status", "facets"])
      assert.ok(names.includes(name), name);
    assert.ok(doc.paths["/v0.1/categories"]?.get);
    assert.ok(doc.paths["/v0.1/servers/{serverName}/classification"]?.put);
  });
});
