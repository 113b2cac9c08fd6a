import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { DEFAULT_SCALE, loadDataset, scaleDataset, searchQueries, shuffled } from "./dataset";
import { median, runLoad, type BenchRequest, type LoadResult } from "./load";
import {
  APP_DIR,
  buildService,
  cpuSecondsOf,
  cpuSecondsBetween,
  cpuSnapshot,
  createDatabase,
  dropDatabase,
  memoryOf,
  runCommand,
  serviceEnv,
  startDatabase,
  startService,
  withDatabase,
  type BenchDatabase,
  type ServiceProcess,
} from "./processes";

/** Knobs, from the environment so `npm run bench -w registry-app` needs no arguments. */
const settings = {
  runs: Number(process.env.BENCH_RUNS ?? 5),
  seconds: Number(process.env.BENCH_SECONDS ?? 10),
  warmupSeconds: Number(process.env.BENCH_WARMUP_SECONDS ?? 3),
  connections: Number(process.env.BENCH_CONNECTIONS ?? 32),
  importRuns: Number(process.env.BENCH_IMPORT_RUNS ?? 3),
  /** Comma list of scenario keys to run (default: all). */
  only: (process.env.BENCH_SCENARIOS ?? "").split(",").filter(Boolean),
  /** Extra service environment, e.g. BENCH_SERVICE_ENV='{"MCP_REGISTRY_READ_CACHE_MAX_BYTES":"0"}'. */
  serviceEnv: JSON.parse(process.env.BENCH_SERVICE_ENV ?? "{}") as Record<string, string>,
  /** Directory for a V8 CPU profile of the service (node --cpu-prof), written when it stops. */
  cpuProfileDir: process.env.BENCH_CPU_PROF,
  /** Where to write every measurement as JSON. */
  jsonOut: process.env.BENCH_JSON,
};

interface Scenario {
  key: string;
  title: string;
  connections: number;
  next: () => BenchRequest;
}

interface ScenarioRun extends LoadResult {
  loadAverage: number;
  serviceCpuMsPerRequest: number;
  postgresCpuMsPerRequest: number;
  rssMiB: number;
}

interface ScenarioSummary {
  key: string;
  title: string;
  connections: number;
  runs: ScenarioRun[];
  median: {
    requestsPerSecond: number;
    p50Ms: number;
    p99Ms: number;
    serviceCpuMsPerRequest: number;
    postgresCpuMsPerRequest: number;
    rssMiB: number;
  };
}

const log = (line: string) => process.stdout.write(`${line}\n`);
const fixed = (value: number, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : "-");

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
    loadAverage: os
      .loadavg()
      .map((value) => value.toFixed(2))
      .join(" "),
  };
}

/** Publishes the scaled dataset through the `import` command into a fresh database; returns its URL and time. */
async function timedImport(
  entry: string,
  db: BenchDatabase,
  name: string,
  file: string,
  expected: number,
): Promise<{ url: string; seconds: number }> {
  const url = await createDatabase(db.adminUrl, name);
  const env = serviceEnv(url, {});
  const migrated = await runCommand(entry, ["migrate"], env);
  if (migrated.code !== 0) throw new Error(`migrate failed:\n${migrated.lines.join("\n")}`);
  const result = await runCommand(entry, ["import", file], env);
  const finished = result.lines.find((line) => line.includes('"import finished"'));
  const report =
    finished === undefined ? undefined : (JSON.parse(finished) as { published?: number; invalid?: number });
  if (result.code !== 0 || report?.published !== expected) {
    throw new Error(
      `import stored ${report?.published ?? "?"} of ${expected} versions:\n${result.lines.slice(-5).join("\n")}`,
    );
  }
  return { url, seconds: result.seconds };
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

/** Round-robin over a fixed request list: the connections together walk it over and over. */
function cycle(requests: BenchRequest[]): () => BenchRequest {
  let index = 0;
  return () => {
    const request = requests[index % requests.length] as BenchRequest;
    index += 1;
    return request;
  };
}

async function buildScenarios(
  service: ServiceProcess,
  names: string[],
  queries: string[],
): Promise<Scenario[]> {
  const { baseUrl } = service;
  const connections = settings.connections;
  const walk = [
    ...(await cursorWalk(baseUrl, "limit=100")),
    ...(await cursorWalk(baseUrl, "limit=100&version=latest")),
  ];
  const latestPaths = shuffled(names, 11).map(
    (name) => `/v0.1/servers/${encodeURIComponent(name)}/versions/latest`,
  );
  const searchPaths = queries.map((query) => `/v0.1/servers?search=${encodeURIComponent(query)}`);
  const token = (await getJson<{ registry_token: string }>(`${baseUrl}/v0.1/auth/none`, { method: "POST" }))
    .body.registry_token;
  let published = 0;
  const publish = (): BenchRequest => {
    published += 1;
    return {
      method: "POST",
      path: "/v0.1/publish",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({
        $schema: "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json",
        name: `io.modelcontextprotocol.anonymous/bench-${published % 256}`,
        description: "A server published by the benchmark",
        version: `1.${published}.0`,
        packages: [
          {
            registryType: "npm",
            identifier: "@bench/server",
            version: `1.${published}.0`,
            transport: { type: "stdio" },
          },
        ],
      }),
    };
  };
  const scenarios: Scenario[] = [
    {
      key: "list",
      title: `list pages (limit 100, walking cursors: ${walk.length} pages)`,
      connections,
      next: cycle(walk.map((p) => ({ path: p }))),
    },
    {
      key: "search",
      title: `search (${queries.length} queries, default limit 30)`,
      connections,
      next: cycle(searchPaths.map((p) => ({ path: p }))),
    },
    {
      key: "latest",
      title: `get latest (${names.length} names)`,
      connections,
      next: cycle(latestPaths.map((p) => ({ path: p }))),
    },
  ];
  // Clients that kept an ETag revalidate with If-None-Match (only when the service sends ETags).
  const probe = await getJson(`${baseUrl}${latestPaths[0] ?? ""}`);
  if (probe.etag !== null) {
    const revalidations: BenchRequest[] = [];
    for (const latestPath of latestPaths) {
      const { etag } = await getJson(`${baseUrl}${latestPath}`);
      revalidations.push({ path: latestPath, headers: { "if-none-match": etag ?? "" } });
    }
    scenarios.push({
      key: "revalidate",
      title: "get latest, revalidating (If-None-Match: 304)",
      connections,
      next: cycle(revalidations),
    });
  }
  scenarios.push(
    { key: "publish", title: "publish (256 names, new versions)", connections, next: publish },
    { key: "publish1", title: "publish, one connection", connections: 1, next: publish },
  );
  return scenarios.filter((scenario) => settings.only.length === 0 || settings.only.includes(scenario.key));
}

async function measure(
  scenario: Scenario,
  service: ServiceProcess,
  db: BenchDatabase,
): Promise<ScenarioSummary> {
  const load = (seconds: number) =>
    runLoad({ baseUrl: service.baseUrl, connections: scenario.connections, seconds, next: scenario.next });
  if (settings.warmupSeconds > 0) await load(settings.warmupSeconds);
  const runs: ScenarioRun[] = [];
  for (let run = 0; run < settings.runs; run += 1) {
    const loadAverage = os.loadavg()[0] ?? NaN;
    const [serviceCpu, postgresCpu] = [cpuSecondsOf(service.pid), cpuSnapshot(db.processIds())];
    const result = await load(settings.seconds);
    const requests = result.requestsPerSecond * result.seconds;
    const serviceCpuMs = (cpuSecondsOf(service.pid) - serviceCpu) * 1000;
    const postgresCpuMs = cpuSecondsBetween(postgresCpu, cpuSnapshot(db.processIds())) * 1000;
    const measured: ScenarioRun = {
      ...result,
      loadAverage,
      serviceCpuMsPerRequest: serviceCpuMs / requests,
      postgresCpuMsPerRequest: db.processIds().length === 0 ? NaN : postgresCpuMs / requests,
      rssMiB: memoryOf(service.pid).rssMiB,
    };
    runs.push(measured);
    const bad = Object.entries(result.statuses).filter(
      ([status]) => !status.startsWith("2") && status !== "304",
    );
    log(
      `  run ${run + 1}: ${fixed(measured.requestsPerSecond, 0)} req/s, p50 ${fixed(measured.p50Ms, 2)} ms, ` +
        `p99 ${fixed(measured.p99Ms, 2)} ms, service CPU ${fixed(measured.serviceCpuMsPerRequest * 1000, 0)} µs/req, ` +
        `PostgreSQL CPU ${fixed(measured.postgresCpuMsPerRequest * 1000, 0)} µs/req, RSS ${fixed(measured.rssMiB)} MiB, ` +
        `load ${fixed(loadAverage, 2)}, statuses ${JSON.stringify(result.statuses)}` +
        (result.errors > 0 ? `, ${result.errors} connection errors` : ""),
    );
    if (bad.length > 0 || result.errors > 0) {
      throw new Error(
        `${scenario.key}: unexpected answers ${JSON.stringify(result.statuses)}, ${result.errors} errors`,
      );
    }
  }
  const pick = (field: keyof ScenarioSummary["median"]) => median(runs.map((run) => run[field]));
  return {
    key: scenario.key,
    title: scenario.title,
    connections: scenario.connections,
    runs,
    median: {
      requestsPerSecond: pick("requestsPerSecond"),
      p50Ms: pick("p50Ms"),
      p99Ms: pick("p99Ms"),
      serviceCpuMsPerRequest: pick("serviceCpuMsPerRequest"),
      postgresCpuMsPerRequest: pick("postgresCpuMsPerRequest"),
      rssMiB: pick("rssMiB"),
    },
  };
}

async function main(): Promise<void> {
  const notes = machineNotes();
  log(`registry-app benchmark: ${JSON.stringify(notes)}`);
  log(`settings: ${JSON.stringify(settings)}`);
  log("compiling the service (tsconfig.build.json) ...");
  const entry = buildService();
  const db = await startDatabase();
  log(`database: ${db.description}`);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "registry-bench-"));
  let service: ServiceProcess | undefined;
  try {
    const source = loadDataset();
    const scaled = scaleDataset(source, DEFAULT_SCALE);
    const file = path.join(work, "servers.json");
    fs.writeFileSync(file, JSON.stringify(scaled.documents));
    log(
      `dataset: ${scaled.documents.length} versions of ${scaled.names.length} names scaled from ${source.length} real servers`,
    );

    const importSeconds: number[] = [];
    // BENCH_IMPORT_RUNS=0 serves registry_bench_0 as it is: quick profiling loops on an imported database.
    let servedUrl = settings.importRuns === 0 ? withDatabase(db.adminUrl, "registry_bench_0") : "";
    for (let run = 0; run < settings.importRuns; run += 1) {
      const name = `registry_bench_${run}`;
      const imported = await timedImport(entry, db, name, file, scaled.documents.length);
      importSeconds.push(imported.seconds);
      log(
        `  import run ${run + 1}: ${fixed(imported.seconds, 2)} s (load ${fixed(os.loadavg()[0] ?? NaN, 2)})`,
      );
      if (run < settings.importRuns - 1) await dropDatabase(db.adminUrl, name);
      else servedUrl = imported.url;
    }
    log(`import of ${scaled.documents.length} versions: median ${fixed(median(importSeconds), 2)} s`);
    if (settings.importRuns === 0) {
      const migrated = await runCommand(entry, ["migrate"], serviceEnv(servedUrl, {}));
      if (migrated.code !== 0) throw new Error(`migrate failed:\n${migrated.lines.join("\n")}`);
    }

    const logFile = path.join(work, "service.log");
    service = await startService(
      entry,
      serviceEnv(servedUrl, {
        MCP_REGISTRY_ENABLE_ANONYMOUS_AUTH: "true",
        // The bench publishes from one address; the per-IP limit would turn most publishes into 429s.
        MCP_REGISTRY_PUBLISH_RATE_LIMIT_PER_MINUTE: "0",
        MCP_REGISTRY_AUTH_RATE_LIMIT_PER_MINUTE: "0",
        MCP_REGISTRY_TOKEN_TTL_SECONDS: "86400",
        MCP_REGISTRY_MIGRATE_ON_START: "false",
        ...settings.serviceEnv,
      }),
      {
        logFile,
        nodeArgs: settings.cpuProfileDir
          ? ["--cpu-prof", `--cpu-prof-dir=${path.resolve(settings.cpuProfileDir)}`]
          : [],
      },
    );
    log(
      `service: pid ${service.pid}, ${service.baseUrl}, RSS after start ${fixed(memoryOf(service.pid).rssMiB)} MiB`,
    );
    const scenarios = await buildScenarios(service, scaled.names, searchQueries(source, 200, 7));
    const summaries: ScenarioSummary[] = [];
    for (const scenario of scenarios) {
      log(
        `${scenario.title}, ${scenario.connections} connections, ${settings.runs} x ${settings.seconds} s:`,
      );
      summaries.push(await measure(scenario, service, db));
    }
    const peak = memoryOf(service.pid).hwmMiB;
    log("");
    log(
      `medians (load average now ${os
        .loadavg()
        .map((value) => value.toFixed(2))
        .join(" ")}):`,
    );
    log(
      "| scenario | connections | req/s | p50 ms | p99 ms | service CPU µs/req | PostgreSQL CPU µs/req | RSS MiB |",
    );
    log("|---|---:|---:|---:|---:|---:|---:|---:|");
    for (const summary of summaries) {
      const m = summary.median;
      log(
        `| ${summary.title} | ${summary.connections} | ${fixed(m.requestsPerSecond, 0)} | ${fixed(m.p50Ms, 2)} | ${fixed(m.p99Ms, 2)} | ` +
          `${fixed(m.serviceCpuMsPerRequest * 1000, 0)} | ${fixed(m.postgresCpuMsPerRequest * 1000, 0)} | ${fixed(m.rssMiB)} |`,
      );
    }
    log(
      `| import of ${scaled.documents.length} versions (\`import\` command, ${settings.importRuns} runs) | | | | | | | median ${fixed(median(importSeconds), 2)} s |`,
    );
    log(`service peak RSS (VmHWM): ${fixed(peak)} MiB`);
    if (settings.jsonOut) {
      fs.writeFileSync(
        settings.jsonOut,
        JSON.stringify(
          {
            notes,
            settings,
            database: db.description,
            importSeconds,
            peakRssMiB: peak,
            scenarios: summaries,
          },
          null,
          2,
        ),
      );
      log(`wrote ${settings.jsonOut}`);
    }
  } finally {
    await service?.stop();
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
