import { execFile, spawnSync } from "node:child_process";
import type { EventEmitter } from "node:events";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import autocannon from "autocannon";
import { version as autocannonVersion } from "autocannon/package.json";
import { cpuTimesFromStat } from "./processes";

/** One request of a scenario: a path plus, for writes, a method, body and headers. */
export interface BenchRequest {
  method?: "GET" | "POST";
  path: string;
  body?: string;
  headers?: Record<string, string>;
}

/**
 * What drives a fixed request list at full speed: wrk (C, the tool issue 12's comparison with the official
 * registry used) or autocannon (Node, in the bench process; the loader of the bench's rounds before it).
 * Rate-limited loads and generated requests (publishes of new versions) are always autocannon's.
 */
export type Loader = "wrk" | "autocannon";

export function parseLoader(value: string | undefined): Loader {
  if (value === undefined || value === "wrk") return "wrk";
  if (value === "autocannon") return value;
  throw new Error(`BENCH_LOADER must be wrk or autocannon, not ${JSON.stringify(value)}`);
}

/** The loader's name and version, for the bench's header; fails naming the fix when wrk is missing. */
export function describeLoader(loader: Loader): string {
  if (loader === "autocannon") return `autocannon ${autocannonVersion}`;
  const probe = spawnSync("wrk", ["--version"], { encoding: "utf8" });
  if (probe.error !== undefined) {
    throw new Error(
      `BENCH_LOADER=wrk (the default) needs wrk on PATH (Debian: apt-get install wrk), or set ` +
        `BENCH_LOADER=autocannon: ${probe.error.message}`,
    );
  }
  // "wrk debian/4.1.0-3+b2 [epoll] Copyright (C) 2012 Will Glozer"
  return probe.stdout.split(" [")[0] ?? "wrk";
}

export interface LoadSpec {
  /**
   * The service processes: a fixed list at full speed is spread over all of them (connections split
   * evenly); generated requests and a rated load go to the first.
   */
  baseUrls: readonly string[];
  connections: number;
  seconds: number;
  /** Offered load in requests/s over all connections; as fast as answers come when absent. */
  rate?: number;
  /**
   * A fixed list the connections together walk round-robin, over and over, or a function called once per
   * request (the scenario decides what to send: a version never published before).
   */
  requests: readonly BenchRequest[] | (() => BenchRequest);
  loader: Loader;
}

export interface LoadResult {
  /** Answers with the expected status (2xx, or 304 when revalidating) per second. */
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /**
   * Responses per status code, e.g. {"200": 51234}. wrk counts only below and from 400: its keys are
   * "2xx/3xx" and "4xx/5xx".
   */
  statuses: Record<string, number>;
  /** Connection errors and timeouts. */
  errors: number;
  seconds: number;
  /** Who drove it, and the CPU time it used outside the bench process (wrk's), in seconds. */
  loader: Loader;
  externalCpuSeconds: number;
}

/**
 * Whether answers of `status` (a key of LoadResult.statuses) are what a scenario expects: 2xx, 304 when
 * revalidating, or wrk's class of both.
 */
export function isExpectedStatus(status: string): boolean {
  return status.startsWith("2") || status === "304";
}

function percentile(sorted: Float64Array, fraction: number): number {
  if (sorted.length === 0) return NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1));
  return sorted[index] as number;
}

/** Round-robin over a fixed request list: the connections together walk it over and over. */
function cycle(requests: readonly BenchRequest[]): () => BenchRequest {
  let index = 0;
  return () => {
    const request = requests[index % requests.length] as BenchRequest;
    index += 1;
    return request;
  };
}

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const { requests, baseUrls } = spec;
  if (baseUrls.length === 0) throw new Error("runLoad: no service to drive");
  if (typeof requests === "function") return runAutocannon(spec, baseUrls.slice(0, 1), requests);
  if (spec.rate !== undefined) return runAutocannon(spec, baseUrls.slice(0, 1), cycle(requests));
  if (spec.connections % baseUrls.length !== 0) {
    throw new Error(
      `${spec.connections} connections do not split evenly over ${baseUrls.length} service processes ` +
        `(BENCH_CONNECTIONS, BENCH_SERVICE_PROCESSES)`,
    );
  }
  if (spec.loader === "wrk") return runWrk(spec, requests);
  return runAutocannon(spec, baseUrls, cycle(requests));
}

/**
 * Drives the services with autocannon over loopback, one instance per URL, all taking their requests from
 * `next`. Latencies are kept exactly (autocannon's own histogram rounds to whole milliseconds), for every
 * status code, so sub-millisecond p50s are visible.
 */
async function runAutocannon(
  spec: LoadSpec,
  urls: readonly string[],
  next: () => BenchRequest,
): Promise<LoadResult> {
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  const results = await Promise.all(
    urls.map((url) => autocannonOne(spec, url, urls.length, next, latencies, statuses)),
  );
  const sorted = Float64Array.from(latencies).sort();
  const ok = Object.entries(statuses)
    .filter(([status]) => isExpectedStatus(status))
    .reduce((sum, [, count]) => sum + count, 0);
  const seconds = Math.max(...results.map((result) => result.duration));
  return {
    requestsPerSecond: ok / seconds,
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
    statuses,
    errors: results.reduce((sum, result) => sum + result.errors, 0),
    seconds,
    loader: "autocannon",
    externalCpuSeconds: 0,
  };
}

/** One autocannon instance against `url`, with its share of the connections and rate. */
function autocannonOne(
  spec: LoadSpec,
  url: string,
  shares: number,
  next: () => BenchRequest,
  latencies: number[],
  statuses: Record<string, number>,
): Promise<autocannon.Result> {
  // Without a callback autocannon returns an emitter that is also a promise of the result.
  const instance = autocannon({
    url,
    connections: spec.connections / shares,
    duration: spec.seconds,
    timeout: 30,
    ...(spec.rate === undefined ? {} : { overallRate: spec.rate / shares }),
    requests: [
      {
        setupRequest: (request) => {
          const chosen = next();
          return {
            ...request,
            method: chosen.method ?? "GET",
            path: chosen.path,
            body: chosen.body ?? "",
            headers: { ...request.headers, ...chosen.headers },
          };
        },
      },
    ],
  }) as Promise<autocannon.Result> & EventEmitter;
  instance.on("response", (_client: unknown, status: number, _bytes: number, milliseconds: number) => {
    latencies.push(milliseconds);
    const key = String(status);
    statuses[key] = (statuses[key] ?? 0) + 1;
  });
  return instance;
}

const WRK_SCRIPT = path.join(__dirname, "wrk.lua");

/** A request as wrk.lua reads it: its byte length on a line, then the raw HTTP/1.1 request. */
function framed(host: string, request: BenchRequest): Buffer {
  const body = Buffer.from(request.body ?? "");
  const head = [
    `${request.method ?? "GET"} ${request.path} HTTP/1.1`,
    `Host: ${host}`,
    ...Object.entries(request.headers ?? {}).map(([name, value]) => `${name}: ${value}`),
    ...(request.body === undefined ? [] : [`Content-Length: ${body.length}`]),
    "",
    "",
  ].join("\r\n");
  const bytes = Buffer.concat([Buffer.from(head), body]);
  return Buffer.concat([Buffer.from(`${bytes.length}\n`), bytes]);
}

interface WrkResult {
  requests: number;
  durationUs: number;
  statusErrors: number;
  socketErrors: number;
  timeouts: number;
  p50Us: number;
  p99Us: number;
}

/**
 * Drives the services with wrk over loopback: one thread per service process, each with its share of the
 * connections, walking the list round-robin as autocannon does. wrk keeps every latency to the microsecond
 * and merges the threads'; its CPU comes from its own /proc/self/stat.
 */
async function runWrk(spec: LoadSpec, requests: readonly BenchRequest[]): Promise<LoadResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-wrk-"));
  try {
    const file = path.join(dir, "requests");
    const urls = spec.baseUrls.map((url) => new URL(url));
    const host = (urls[0] as URL).host;
    fs.writeFileSync(file, Buffer.concat(requests.map((request) => framed(host, request))));
    const args = [
      ...["--threads", String(urls.length), "--connections", String(spec.connections)],
      ...["--duration", `${spec.seconds}s`, "--timeout", "30s", "--script", WRK_SCRIPT],
      ...[(urls[0] as URL).href, "--", file],
    ];
    // wrk.lua's setup points thread i at the i-th address.
    const env = { ...process.env, BENCH_WRK_ADDRESSES: urls.map((url) => url.host).join(" ") };
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile("wrk", args, { encoding: "utf8", env }, (error, out, err) => {
        if (error === null) resolve(out);
        else reject(new Error(`wrk ${args.join(" ")}: ${error.message}\n${out}${err}`));
      });
    });
    const line = (prefix: string) => {
      const found = stdout.split("\n").find((candidate) => candidate.startsWith(prefix));
      if (found === undefined) throw new Error(`wrk printed no "${prefix}" line:\n${stdout}`);
      return found.slice(prefix.length);
    };
    const result = JSON.parse(line("WRK-RESULT ")) as WrkResult;
    const cpu = cpuTimesFromStat(line("WRK-STAT "));
    const seconds = result.durationUs / 1e6;
    const ok = result.requests - result.statusErrors;
    return {
      requestsPerSecond: ok / seconds,
      p50Ms: result.p50Us / 1000,
      p99Ms: result.p99Us / 1000,
      statuses: { "2xx/3xx": ok, ...(result.statusErrors > 0 ? { "4xx/5xx": result.statusErrors } : {}) },
      errors: result.socketErrors + result.timeouts,
      seconds,
      loader: "wrk",
      externalCpuSeconds: cpu.user + cpu.system,
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export function median(values: number[]): number {
  const sorted = [...values].filter((value) => !Number.isNaN(value)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}
