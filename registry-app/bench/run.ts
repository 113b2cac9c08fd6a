import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { LSN_HEADER } from "../src/http/consistency";
import { DEFAULT_SCALE, loadDataset, scaleDataset, searchQueries, shuffled } from "./dataset";
import { explainFacetQueries, facetedQueries, filterCombinations } from "./facets";
import {
  describeLoader,
  isExpectedStatus,
  median,
  parseLoader,
  runLoad,
  type BenchRequest,
  type LoadResult,
  type LoadSpec,
} from "./load";
import {
  APP_DIR,
  buildService,
  cpuSecondsBetween,
  cpuSnapshot,
  cpuTimesOf,
  createDatabase,
  dropDatabase,
  memoryOf,
  parseMemoryLimit,
  postgresCpuSeconds,
  runCommand,
  serviceEnv,
  startDatabase,
  startService,
  withDatabase,
  type BenchDatabase,
  type BenchStandby,
  type ServiceProcess,
} from "./processes";

function positiveInteger(name: string, value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1)
    throw new Error(`${name} must be a positive integer, not "${value}"`);
  return parsed;
}

/** Knobs, from the environment so `npm run bench -w registry-app` needs no arguments. */
const settings = {
  runs: Number(process.env.BENCH_RUNS ?? 5),
  seconds: Number(process.env.BENCH_SECONDS ?? 10),
  warmupSeconds: Number(process.env.BENCH_WARMUP_SECONDS ?? 3),
  connections: Number(process.env.BENCH_CONNECTIONS ?? 32),
  importRuns: Number(process.env.BENCH_IMPORT_RUNS ?? 3),
  /** Comma list of scenario keys to run (default: all). */
  only: (process.env.BENCH_SCENARIOS ?? "").split(",").filter(Boolean),
  /** Extra environment of both services, e.g. '{"MCP_REGISTRY_DATABASE_POOL_SIZE":"20"}'. */
  serviceEnv: JSON.parse(process.env.BENCH_SERVICE_ENV ?? "{}") as Record<string, string>,
  /**
   * The services' memory limit ("512Mi", as in the registry's container): each runs in a memory cgroup
   * of that size, so Node sizes its heap as it does in the pod. Unset: no limit (the host's memory).
   */
  memoryLimit:
    process.env.BENCH_SERVICE_MEMORY_LIMIT === undefined
      ? undefined
      : parseMemoryLimit(process.env.BENCH_SERVICE_MEMORY_LIMIT),
  /** Directory for V8 CPU profiles of the services (node --cpu-prof), written when they stop. */
  cpuProfileDir: process.env.BENCH_CPU_PROF,
  /** Node flags of both services that NODE_OPTIONS refuses (most V8 flags), space-separated. */
  nodeArgs: (process.env.BENCH_SERVICE_NODE_ARGS ?? "").split(" ").filter(Boolean),
  /**
   * Service processes per variant, on the same database, as pods behind a Kubernetes Service (staging runs
   * 2, production at least 3): the load's connections are split evenly between them.
   */
  processes: positiveInteger("BENCH_SERVICE_PROCESSES", process.env.BENCH_SERVICE_PROCESSES ?? "1"),
  /** What drives the read scenarios' fixed request lists: wrk (default) or autocannon (see load.ts). */
  loader: parseLoader(process.env.BENCH_LOADER),
  /** Where to write every measurement as JSON. */
  jsonOut: process.env.BENCH_JSON,
};

/**
 * The service as configured by default (read cache on), with the read cache off for comparison, and
 * both again reading from a streaming standby (MCP_REGISTRY_DATABASE_READ_URL).
 */
type Variant = "cached" | "uncached" | "replica" | "replica-uncached";

const cacheOn = (variant: Variant) => variant === "cached" || variant === "replica";
const onStandby = (variant: Variant) => variant === "replica" || variant === "replica-uncached";
const variantLabel = (variant: Variant) =>
  `read cache ${cacheOn(variant) ? "on" : "off"}${onStandby(variant) ? ", reads from a standby" : ""}`;

interface Scenario {
  key: string;
  title: string;
  variant: Variant;
  connections: number;
  requests: LoadSpec["requests"];
  /** A second load run alongside (writes while reading), reported beside the main one. */
  background?: { title: string; connections: number; rate: number; requests: () => BenchRequest };
}

interface ScenarioRun extends LoadResult {
  loadAverage: number;
  serviceCpuMsPerRequest: number;
  /** Share of the service's CPU time spent in the kernel (syscalls: sockets, log writes). */
  serviceSystemShare: number;
  postgresCpuMsPerRequest: number;
  /** The standby's part of postgresCpuMsPerRequest (replica variants). */
  standbyCpuMsPerRequest: number;
  rssMiB: number;
  /**
   * CPU share of one core the load generators used (the bench process, with autocannon, and wrk): near 100%
   * means a generator, not the service, set the pace.
   */
  loadGeneratorCpu: number;
  background?: LoadResult;
}

interface Medians {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  serviceCpuMsPerRequest: number;
  serviceSystemShare: number;
  postgresCpuMsPerRequest: number;
  standbyCpuMsPerRequest: number;
  rssMiB: number;
}

interface ScenarioSummary {
  key: string;
  title: string;
  variant: Variant;
  connections: number;
  runs: ScenarioRun[];
  median: Medians;
  backgroundMedian?: { title: string; requestsPerSecond: number; p50Ms: number; p99Ms: number };
}

const log = (line: string) => process.stdout.write(`${line}\n`);
const fixed = (value: number, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : "-");
const loadNow = () =>
  os
    .loadavg()
    .map((value) => value.toFixed(2))
    .join(" ");

function machineNotes(): Record<string, string> {
  const git = (args: string[]) => spawnSync("git", args, { cwd: APP_DIR, encoding: "utf8" }).stdout.trim();
  const dirty = git(["status", "--porcelain", "--", "."]) !== "";
  const cpus = os.cpus();
  return {
    date: new Date().toISOString(),
    commit: `${git(["rev-parse", "--short", "HEAD"])}${dirty ? " (with uncommitted changes in registry-app)" : ""}`,
    node: process.version,
    cpus: `${cpus.length} x ${cpus[0]?.model ?? "?"}`,
    memory: `${Math.round(os.totalmem() / 2 ** 30)} GiB`,
    loadAverage: loadNow(),
  };
}

/** Publishes the scaled dataset through the `import` command into a fresh database; returns its URL and time. */
async function timedImport(
  entry: string,
  db: BenchDatabase,
  name: string,
  file: string,
  expected: number,
): Promise<{ url: string; seconds: number; cpuSeconds: number; postgresCpuSeconds: number }> {
  const url = await createDatabase(db.adminUrl, name);
  const env = serviceEnv(url, {});
  const migrated = await runCommand(entry, ["migrate"], env);
  if (migrated.code !== 0) throw new Error(`migrate failed:\n${migrated.lines.join("\n")}`);
  const postgresBefore = postgresCpuSeconds(db.processIds());
  const result = await runCommand(entry, ["import", file], env);
  const postgresCpu = postgresCpuSeconds(db.processIds()) - postgresBefore;
  const finished = result.lines.find((line) => line.includes('"import finished"'));
  const report =
    finished === undefined ? undefined : (JSON.parse(finished) as { published?: number; invalid?: number });
  if (result.code !== 0 || report?.published !== expected) {
    throw new Error(
      `import stored ${report?.published ?? "?"} of ${expected} versions:\n${result.lines.slice(-5).join("\n")}`,
    );
  }
  return { url, seconds: result.seconds, cpuSeconds: result.cpuSeconds, postgresCpuSeconds: postgresCpu };
}

async function getJson<T>(url: string, init?: RequestInit): Promise<{ body: T; etag: string | null }> {
  const response = await fetch(url, init);
  if (!response.ok)
    throw new Error(`${init?.method ?? "GET"} ${url}: ${response.status} ${await response.text()}`);
  return { body: (await response.json()) as T, etag: response.headers.get("etag") };
}

/** Every page URL a client walking the cursors of `query` requests, in order. */
async function cursorWalk(baseUrl: string, query: string): Promise<string[]> {
  const paths: string[] = [];
  let cursor: string | undefined;
  do {
    const pagePath = `/v0.1/servers?${query}${cursor === undefined ? "" : `&cursor=${encodeURIComponent(cursor)}`}`;
    paths.push(pagePath);
    const { body } = await getJson<{ metadata: { nextCursor?: string } }>(`${baseUrl}${pagePath}`);
    cursor = body.metadata.nextCursor;
  } while (cursor !== undefined);
  return paths;
}

/** New versions of 256 anonymous-namespace names, each request a version never published before. */
function publisher(token: string): () => BenchRequest {
  // The major is the start time in seconds: a rerun on a kept database never repeats a version.
  const major = Math.floor(Date.now() / 1000);
  let published = 0;
  return () => {
    published += 1;
    const version = `${major}.${published}.0`;
    return {
      method: "POST",
      path: "/v0.1/publish",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({
        $schema: "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json",
        name: `io.modelcontextprotocol.anonymous/bench-${published % 256}`,
        description: "A server published by the benchmark",
        version,
        packages: [
          { registryType: "npm", identifier: "@bench/server", version, transport: { type: "stdio" } },
        ],
      }),
    };
  };
}

async function buildScenarios(
  baseUrl: string,
  names: string[],
  queries: string[],
  documents: ReadonlyArray<Record<string, unknown>>,
): Promise<Scenario[]> {
  const connections = settings.connections;
  const walk = [
    ...(await cursorWalk(baseUrl, "limit=100")),
    ...(await cursorWalk(baseUrl, "limit=100&version=latest")),
  ].map((p) => ({ path: p }));
  const latest = shuffled(names, 11).map((name) => ({
    path: `/v0.1/servers/${encodeURIComponent(name)}/versions/latest`,
  }));
  const versions = shuffled(names, 13).map((name) => ({
    path: `/v0.1/servers/${encodeURIComponent(name)}/versions`,
  }));
  const search = queries.map((query) => ({ path: `/v0.1/servers?search=${encodeURIComponent(query)}` }));
  // Clients that kept an ETag revalidate with If-None-Match.
  const revalidations: BenchRequest[] = [];
  for (const request of latest) {
    const { etag } = await getJson(`${baseUrl}${request.path}`);
    if (etag === null) throw new Error(`${request.path} answered without an ETag`);
    revalidations.push({ ...request, headers: { "if-none-match": etag } });
  }
  const combinations = filterCombinations(documents);
  const filtered: BenchRequest[] = [];
  for (const query of combinations)
    filtered.push(...(await cursorWalk(baseUrl, query)).map((p) => ({ path: p })));
  const faceted = facetedQueries(combinations).map((query) => ({ path: `/v0.1/servers?${query}` }));
  const filteredTitle = `filtered list (${combinations.length} filter sets, every page, default limit 30: ${filtered.length} pages)`;
  const facetedTitle = `faceted search (${faceted.length} filter sets, 5 facets, first page)`;
  const token = (await getJson<{ registry_token: string }>(`${baseUrl}/v0.1/auth/none`, { method: "POST" }))
    .body.registry_token;
  const publish = publisher(token);
  const underWrites = (key: string, variant: Variant, title: string, requests: BenchRequest[]): Scenario => ({
    key,
    variant,
    title,
    connections,
    requests,
    background: { title: "publishes alongside", connections: 2, rate: 20, requests: publish },
  });
  const walkTitle = `list pages (limit 100, walking cursors: ${walk.length} pages)`;
  const searchTitle = `search (${queries.length} queries, default limit 30)`;
  const latestTitle = `get latest (${names.length} names)`;
  const versionsTitle = `versions list (${names.length} names)`;
  const scenarios: Scenario[] = [
    { key: "list", variant: "cached", title: walkTitle, connections, requests: walk },
    { key: "search", variant: "cached", title: searchTitle, connections, requests: search },
    { key: "latest", variant: "cached", title: latestTitle, connections, requests: latest },
    { key: "versions", variant: "cached", title: versionsTitle, connections, requests: versions },
    {
      key: "revalidate",
      variant: "cached",
      title: "get latest, revalidating (If-None-Match: 304)",
      connections,
      requests: revalidations,
    },
    // The database path, for comparison: the same reads with the read cache off.
    { key: "list-uncached", variant: "uncached", title: walkTitle, connections, requests: walk },
    { key: "search-uncached", variant: "uncached", title: searchTitle, connections, requests: search },
    { key: "latest-uncached", variant: "uncached", title: latestTitle, connections, requests: latest },
    // Issue 13: narrowing the catalogue down, on the database path (the target) and cached.
    {
      key: "filtered-uncached",
      variant: "uncached",
      title: filteredTitle,
      connections,
      requests: filtered,
    },
    { key: "faceted-uncached", variant: "uncached", title: facetedTitle, connections, requests: faceted },
    { key: "filtered", variant: "cached", title: filteredTitle, connections, requests: filtered },
    { key: "faceted", variant: "cached", title: facetedTitle, connections, requests: faceted },
    // Every write moves the generation: the next faceted request refreshes the facet index.
    underWrites(
      "faceted-writes",
      "uncached",
      `${facetedTitle} while 20 publishes/s change the data`,
      faceted,
    ),
    {
      key: "versions-uncached",
      variant: "uncached",
      title: versionsTitle,
      connections,
      requests: versions,
    },
    // Reads while 20 publishes/s of other names run: a write invalidates its own name's answers
    // (and every list and search answer).
    underWrites("latest-writes", "cached", `${latestTitle} while 20 publishes/s of other names run`, latest),
    underWrites(
      "latest-writes-uncached",
      "uncached",
      `${latestTitle} while 20 publishes/s of other names run`,
      latest,
    ),
    underWrites("list-writes", "cached", `${walkTitle} while 20 publishes/s run`, walk),
    {
      key: "publish",
      variant: "cached",
      title: "publish (256 names, new versions)",
      connections,
      requests: publish,
    },
    {
      key: "publish-4",
      variant: "cached",
      title: "publish, four connections",
      connections: 4,
      requests: publish,
    },
    {
      key: "publish-1",
      variant: "cached",
      title: "publish, one connection",
      connections: 1,
      requests: publish,
    },
    {
      key: "publish-8",
      variant: "cached",
      title: "publish, eight connections",
      connections: 8,
      requests: publish,
    },
    // Replica routing: the same reads answered from a streaming standby.
    { key: "latest-replica", variant: "replica", title: latestTitle, connections, requests: latest },
    {
      key: "latest-replica-uncached",
      variant: "replica-uncached",
      title: latestTitle,
      connections,
      requests: latest,
    },
    {
      key: "list-replica-uncached",
      variant: "replica-uncached",
      title: walkTitle,
      connections,
      requests: walk,
    },
    underWrites(
      "latest-replica-writes",
      "replica",
      `${latestTitle} while 20 publishes/s of other names run`,
      latest,
    ),
  ];
  return scenarios.filter((scenario) => settings.only.length === 0 || settings.only.includes(scenario.key));
}

/**
 * A variant's service: one process, or several on the same database (BENCH_SERVICE_PROCESSES). Reads spread
 * over all of them; writes and the bench's own requests go to the first.
 */
type ServiceGroup = [ServiceProcess, ...ServiceProcess[]];

const urlsOf = (group: ServiceGroup) => group.map((service) => service.baseUrl);

/** CPU time the group's processes have used so far, summed. */
function groupCpu(group: ServiceGroup): { user: number; system: number } {
  const times = group.map((service) => cpuTimesOf(service.pid));
  return {
    user: times.reduce((sum, time) => sum + time.user, 0),
    system: times.reduce((sum, time) => sum + time.system, 0),
  };
}

/** Resident memory of the group's largest process (each is a pod with its own limit). */
function groupMemory(group: ServiceGroup): { rssMiB: number; hwmMiB: number } {
  const each = group.map((service) => memoryOf(service.pid));
  return { rssMiB: Math.max(...each.map((m) => m.rssMiB)), hwmMiB: Math.max(...each.map((m) => m.hwmMiB)) };
}

async function measure(
  scenario: Scenario,
  service: ServiceGroup,
  db: BenchDatabase,
  standby: BenchStandby | undefined,
): Promise<ScenarioSummary> {
  const load = async (seconds: number) => {
    const main = runLoad({
      baseUrls: urlsOf(service),
      connections: scenario.connections,
      seconds,
      requests: scenario.requests,
      loader: settings.loader,
    });
    const side = scenario.background;
    const background =
      side === undefined
        ? undefined
        : runLoad({
            baseUrls: urlsOf(service),
            connections: side.connections,
            seconds,
            rate: side.rate,
            requests: side.requests,
            loader: settings.loader,
          });
    return { result: await main, background: await background };
  };
  if (settings.warmupSeconds > 0) await load(settings.warmupSeconds);
  const runs: ScenarioRun[] = [];
  for (let run = 0; run < settings.runs; run += 1) {
    const loadAverage = os.loadavg()[0] ?? NaN;
    const standbyIds = () => (onStandby(scenario.variant) ? (standby?.processIds() ?? []) : []);
    const [serviceCpu, postgresCpu] = [groupCpu(service), cpuSnapshot(db.processIds())];
    const standbyCpu = cpuSnapshot(standbyIds());
    const ownCpu = process.cpuUsage();
    const { result, background } = await load(settings.seconds);
    const own = process.cpuUsage(ownCpu);
    const requests = result.requestsPerSecond * result.seconds;
    const serviceCpuNow = groupCpu(service);
    const user = serviceCpuNow.user - serviceCpu.user;
    const system = serviceCpuNow.system - serviceCpu.system;
    const standbyCpuMs = cpuSecondsBetween(standbyCpu, cpuSnapshot(standbyIds())) * 1000;
    const postgresCpuMs = cpuSecondsBetween(postgresCpu, cpuSnapshot(db.processIds())) * 1000 + standbyCpuMs;
    const measured: ScenarioRun = {
      ...result,
      loadAverage,
      serviceCpuMsPerRequest: ((user + system) * 1000) / requests,
      serviceSystemShare: system / (user + system),
      postgresCpuMsPerRequest: db.processIds().length === 0 ? NaN : postgresCpuMs / requests,
      standbyCpuMsPerRequest: onStandby(scenario.variant) ? standbyCpuMs / requests : NaN,
      rssMiB: groupMemory(service).rssMiB,
      loadGeneratorCpu: ((own.user + own.system) / 1e6 + result.externalCpuSeconds) / result.seconds,
      background,
    };
    runs.push(measured);
    log(
      `  run ${run + 1}: ${fixed(measured.requestsPerSecond, 0)} req/s, p50 ${fixed(measured.p50Ms, 2)} ms, ` +
        `p99 ${fixed(measured.p99Ms, 2)} ms, service CPU ${fixed(measured.serviceCpuMsPerRequest * 1000, 0)} µs/req ` +
        `(${fixed(measured.serviceSystemShare * 100, 0)}% kernel), PostgreSQL CPU ` +
        `${fixed(measured.postgresCpuMsPerRequest * 1000, 0)} µs/req` +
        (onStandby(scenario.variant)
          ? ` (standby ${fixed(measured.standbyCpuMsPerRequest * 1000, 0)})`
          : "") +
        `, load generator (${result.loader}) ` +
        `${fixed(measured.loadGeneratorCpu * 100, 0)}% of a core, RSS ${fixed(measured.rssMiB)} MiB ` +
        `(peak so far ${fixed(groupMemory(service).hwmMiB)}), ` +
        `load ${fixed(loadAverage, 2)}, statuses ${JSON.stringify(result.statuses)}` +
        (background === undefined
          ? ""
          : `; alongside ${fixed(background.requestsPerSecond, 1)} writes/s, p99 ${fixed(background.p99Ms, 2)} ms ` +
            `${JSON.stringify(background.statuses)}`),
    );
    for (const [label, outcome] of [
      ["main", result],
      ["background", background],
    ] as const) {
      if (outcome === undefined) continue;
      const bad = Object.keys(outcome.statuses).filter((status) => !isExpectedStatus(status));
      if (bad.length > 0 || outcome.errors > 0) {
        throw new Error(
          `${scenario.key} (${label}): unexpected answers ${JSON.stringify(outcome.statuses)}, ${outcome.errors} errors`,
        );
      }
    }
  }
  const pick = (field: keyof Medians) => median(runs.map((run) => run[field]));
  const side = scenario.background;
  const sideRuns = runs.map((run) => run.background).filter((run): run is LoadResult => run !== undefined);
  return {
    key: scenario.key,
    title: scenario.title,
    variant: scenario.variant,
    connections: scenario.connections,
    runs,
    median: {
      requestsPerSecond: pick("requestsPerSecond"),
      p50Ms: pick("p50Ms"),
      p99Ms: pick("p99Ms"),
      serviceCpuMsPerRequest: pick("serviceCpuMsPerRequest"),
      serviceSystemShare: pick("serviceSystemShare"),
      postgresCpuMsPerRequest: pick("postgresCpuMsPerRequest"),
      standbyCpuMsPerRequest: pick("standbyCpuMsPerRequest"),
      rssMiB: pick("rssMiB"),
    },
    backgroundMedian:
      side === undefined
        ? undefined
        : {
            title: side.title,
            requestsPerSecond: median(sideRuns.map((run) => run.requestsPerSecond)),
            p50Ms: median(sideRuns.map((run) => run.p50Ms)),
            p99Ms: median(sideRuns.map((run) => run.p99Ms)),
          },
  };
}

function printSummary(
  summaries: ScenarioSummary[],
  importSeconds: number[],
  versions: number,
  readYourWrites: ReadYourWrites | undefined,
): void {
  log("");
  log(`medians (load average now ${loadNow()}):`);
  log(
    "| scenario | read cache | connections | req/s | p50 ms | p99 ms | service CPU µs/req | PostgreSQL CPU µs/req | RSS MiB |",
  );
  log("|---|---|---:|---:|---:|---:|---:|---:|---:|");
  for (const summary of summaries) {
    const m = summary.median;
    log(
      `| ${summary.title} | ${cacheOn(summary.variant) ? "on" : "off"}${onStandby(summary.variant) ? ", standby" : ""} | ` +
        `${summary.connections} | ${fixed(m.requestsPerSecond, 0)} | ` +
        `${fixed(m.p50Ms, 2)} | ${fixed(m.p99Ms, 2)} | ${fixed(m.serviceCpuMsPerRequest * 1000, 0)} | ` +
        `${fixed(m.postgresCpuMsPerRequest * 1000, 0)}` +
        `${onStandby(summary.variant) ? ` (standby ${fixed(m.standbyCpuMsPerRequest * 1000, 0)})` : ""} | ${fixed(m.rssMiB)} |`,
    );
    const side = summary.backgroundMedian;
    if (side !== undefined) {
      log(
        `| ↳ ${side.title} | | | ${fixed(side.requestsPerSecond, 1)} | ${fixed(side.p50Ms, 2)} | ${fixed(side.p99Ms, 2)} | | | |`,
      );
    }
  }
  if (readYourWrites !== undefined) {
    log(
      `| read your writes: publish, then get latest with ${LSN_HEADER} (standby) | on, standby | 1 | ` +
        `${fixed(readYourWrites.pairsPerSecond, 0)} pairs/s | ${fixed(readYourWrites.readP50Ms, 2)} | ` +
        `${fixed(readYourWrites.readP99Ms, 2)} | | | ${readYourWrites.sawOwnWrite}/${readYourWrites.pairs} saw their write |`,
    );
  }
  log(
    `| import of ${versions} versions (\`import\` command, ${importSeconds.length} runs) | | | | | | | | median ${fixed(median(importSeconds), 2)} s |`,
  );
}

interface ReadYourWrites {
  pairs: number;
  pairsPerSecond: number;
  /** Reads (with the write's position) that returned the version just published. */
  sawOwnWrite: number;
  /** The reads that did not: what was written, at which position, and what came back. */
  misses: Array<{ name: string; wrote: string; read: string; lsn: string; etag: string | null }>;
  readP50Ms: number;
  readP99Ms: number;
}

/** One client in a loop: publish a new version, then read latest sending the write's WAL position back. */
async function measureReadYourWrites(baseUrl: string, seconds: number): Promise<ReadYourWrites> {
  const token = (await getJson<{ registry_token: string }>(`${baseUrl}/v0.1/auth/none`, { method: "POST" }))
    .body.registry_token;
  const next = publisher(token);
  const latencies: number[] = [];
  let sawOwnWrite = 0;
  const misses: ReadYourWrites["misses"] = [];
  const started = Date.now();
  while (Date.now() - started < seconds * 1000) {
    const request = next();
    const written = await fetch(`${baseUrl}${request.path}`, {
      method: "POST",
      headers: request.headers,
      body: request.body,
    });
    if (!written.ok) throw new Error(`publish: ${written.status} ${await written.text()}`);
    const lsn = written.headers.get(LSN_HEADER);
    if (lsn === null) throw new Error(`the write answered without ${LSN_HEADER}`);
    const document = JSON.parse(request.body ?? "{}") as { name: string; version: string };
    const before = process.hrtime.bigint();
    const read = await getJson<{ server: { version: string } }>(
      `${baseUrl}/v0.1/servers/${encodeURIComponent(document.name)}/versions/latest`,
      { headers: { [LSN_HEADER]: lsn } },
    );
    latencies.push(Number(process.hrtime.bigint() - before) / 1e6);
    if (read.body.server.version === document.version) sawOwnWrite += 1;
    else
      misses.push({
        name: document.name,
        wrote: document.version,
        read: read.body.server.version,
        lsn,
        etag: read.etag,
      });
  }
  const sorted = [...latencies].sort((x, y) => x - y);
  const at = (fraction: number) =>
    sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)] ?? NaN;
  return {
    pairs: latencies.length,
    pairsPerSecond: latencies.length / ((Date.now() - started) / 1000),
    sawOwnWrite,
    misses,
    readP50Ms: at(0.5),
    readP99Ms: at(0.99),
  };
}

async function main(): Promise<void> {
  const notes = { ...machineNotes(), loader: describeLoader(settings.loader) };
  log(`registry-app benchmark: ${JSON.stringify(notes)}`);
  log(`settings: ${JSON.stringify(settings)}`);
  log("compiling the service (tsconfig.build.json) ...");
  const entry = buildService();
  const db = await startDatabase();
  log(`database: ${db.description}`);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "registry-bench-"));
  const services: Partial<Record<Variant, ServiceGroup>> = {};
  let standby: BenchStandby | undefined;
  try {
    const source = loadDataset();
    const scaled = scaleDataset(source, DEFAULT_SCALE);
    const file = path.join(work, "servers.json");
    fs.writeFileSync(file, JSON.stringify(scaled.documents));
    log(
      `dataset: ${scaled.documents.length} versions of ${scaled.names.length} names scaled from ${source.length} real servers`,
    );

    const importSeconds: number[] = [];
    const importCpu: Array<{ importSeconds: number; postgresSeconds: number }> = [];
    // BENCH_IMPORT_RUNS=0 serves an imported database as it is (BENCH_REUSE_DATABASE, registry_bench_0 by default).
    let servedUrl =
      settings.importRuns === 0
        ? withDatabase(db.adminUrl, process.env.BENCH_REUSE_DATABASE ?? "registry_bench_0")
        : "";
    for (let run = 0; run < settings.importRuns; run += 1) {
      const name = `registry_bench_${run}`;
      const imported = await timedImport(entry, db, name, file, scaled.documents.length);
      importSeconds.push(imported.seconds);
      importCpu.push({ importSeconds: imported.cpuSeconds, postgresSeconds: imported.postgresCpuSeconds });
      log(
        `  import run ${run + 1}: ${fixed(imported.seconds, 2)} s, CPU ${fixed(imported.cpuSeconds, 2)} s in the ` +
          `import process and ${fixed(imported.postgresCpuSeconds, 2)} s in PostgreSQL (load ${fixed(os.loadavg()[0] ?? NaN, 2)})`,
      );
      if (run < settings.importRuns - 1) await dropDatabase(db.adminUrl, name);
      else servedUrl = imported.url;
    }
    if (settings.importRuns === 0) {
      const migrated = await runCommand(entry, ["migrate"], serviceEnv(servedUrl, {}));
      if (migrated.code !== 0) throw new Error(`migrate failed:\n${migrated.lines.join("\n")}`);
    } else {
      log(
        `import of ${scaled.documents.length} versions: median ${fixed(median(importSeconds), 2)} s, CPU ` +
          `${fixed(median(importCpu.map((cpu) => cpu.importSeconds)), 2)} s import process + ` +
          `${fixed(median(importCpu.map((cpu) => cpu.postgresSeconds)), 2)} s PostgreSQL`,
      );
    }

    const start = (variant: Variant, index: number) =>
      startService(
        entry,
        serviceEnv(servedUrl, {
          MCP_REGISTRY_ENABLE_ANONYMOUS_AUTH: "true",
          // The bench publishes from one address; the per-IP limit would turn most publishes into 429s.
          MCP_REGISTRY_PUBLISH_RATE_LIMIT_PER_MINUTE: "0",
          MCP_REGISTRY_AUTH_RATE_LIMIT_PER_MINUTE: "0",
          MCP_REGISTRY_TOKEN_TTL_SECONDS: "86400",
          MCP_REGISTRY_MIGRATE_ON_START: "false",
          ...settings.serviceEnv,
          // After BENCH_SERVICE_ENV: a variant's cache off and standby reads hold whatever it sets.
          ...(cacheOn(variant) ? {} : { MCP_REGISTRY_READ_CACHE_MAX_BYTES: "0" }),
          ...(onStandby(variant) && standby !== undefined
            ? { MCP_REGISTRY_DATABASE_READ_URL: standby.url(new URL(servedUrl).pathname.slice(1)) }
            : {}),
        }),
        {
          logFile: path.join(work, `service-${variant}-${index}.log`),
          memoryLimit: settings.memoryLimit,
          label: `${variant}-${index}`,
          nodeArgs: [
            ...settings.nodeArgs,
            ...(settings.cpuProfileDir
              ? ["--cpu-prof", `--cpu-prof-dir=${path.resolve(settings.cpuProfileDir, variant)}`]
              : []),
          ],
        },
      );
    const started = async (variant: Variant): Promise<ServiceGroup> => {
      const running = services[variant];
      if (running !== undefined) return running;
      if (onStandby(variant) && standby === undefined) {
        if (db.attachStandby === undefined) throw new Error("no standby: set BENCH_POSTGRES_DATA_DIR");
        log("adding a streaming standby (low-level base backup of the bench server) ...");
        standby = await db.attachStandby();
        await standby.caughtUp();
      }
      // One by one: each loads its facet index from the database as it starts.
      const processes: ServiceGroup = [await start(variant, 0)];
      for (let index = 1; index < settings.processes; index += 1) processes.push(await start(variant, index));
      services[variant] = processes;
      log(
        `service (${variantLabel(variant)}): pid ${processes.map((one) => one.pid).join(", ")}, RSS after start ` +
          `${processes.map((one) => fixed(memoryOf(one.pid).rssMiB)).join(", ")} MiB` +
          (settings.memoryLimit === undefined
            ? ""
            : `, in a memory cgroup of ${fixed(settings.memoryLimit / 1024 ** 2, 0)} MiB`),
      );
      return processes;
    };
    const cached = await started("cached");
    await started("uncached");
    const scenarios = (
      await buildScenarios(cached[0].baseUrl, scaled.names, searchQueries(source, 200, 7), scaled.documents)
    ).filter((scenario) => {
      const runnable = !onStandby(scenario.variant) || db.attachStandby !== undefined;
      if (!runnable) log(`skipping ${scenario.key}: replica scenarios need the bench's own PostgreSQL`);
      return runnable;
    });
    log(`EXPLAIN ANALYZE of the filtered-list and facet queries:\n${await explainFacetQueries(servedUrl)}`);
    const summaries: ScenarioSummary[] = [];
    for (const scenario of scenarios) {
      const service = await started(scenario.variant);
      log(
        `${scenario.title} (${variantLabel(scenario.variant)}), ${scenario.connections} connections, ${settings.runs} x ${settings.seconds} s:`,
      );
      summaries.push(await measure(scenario, service, db, standby));
    }
    let readYourWrites: ReadYourWrites | undefined;
    if (
      (settings.only.length === 0 || settings.only.includes("read-your-writes")) &&
      db.attachStandby !== undefined
    ) {
      const replica = await started("replica");
      log(
        `read your writes (${variantLabel("replica")}): publish, then read latest with the write's position, ${settings.seconds} s:`,
      );
      readYourWrites = await measureReadYourWrites(replica[0].baseUrl, settings.seconds);
      log(`  ${JSON.stringify(readYourWrites)}`);
    }
    printSummary(summaries, importSeconds, scaled.documents.length, readYourWrites);
    const peaks = Object.fromEntries(
      Object.entries(services).map(([variant, service]) => [variant, groupMemory(service).hwmMiB]),
    );
    log(
      `service peak RSS (VmHWM): ${Object.entries(peaks)
        .map(([variant, mib]) => `${variant} ${fixed(mib)} MiB`)
        .join(", ")}`,
    );
    if (settings.jsonOut) {
      fs.writeFileSync(
        settings.jsonOut,
        JSON.stringify(
          {
            notes,
            settings,
            database: db.description,
            importSeconds,
            importCpu,
            peakRssMiB: peaks,
            scenarios: summaries,
            readYourWrites,
          },
          null,
          2,
        ),
      );
      log(`wrote ${settings.jsonOut}`);
    }
  } finally {
    for (const group of Object.values(services)) for (const service of group) await service.stop();
    await standby?.stop();
    await db.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
