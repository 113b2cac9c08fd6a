import type { EventEmitter } from "node:events";
import autocannon from "autocannon";

/** One request of a scenario: a path plus, for writes, a method, body and headers. */
export interface BenchRequest {
  method?: "GET" | "POST";
  path: string;
  body?: string;
  headers?: Record<string, string>;
}

export interface LoadSpec {
  baseUrl: string;
  connections: number;
  seconds: number;
  /** Offered load in requests/s over all connections; as fast as answers come when absent. */
  rate?: number;
  /** Called once per request: the scenario decides what to send (cursor pages, names, unique versions). */
  next: () => BenchRequest;
}

export interface LoadResult {
  /** Answers with the expected status (2xx, or 304 when revalidating) per second. */
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Responses per status code, e.g. {"200": 51234}. */
  statuses: Record<string, number>;
  /** Connection errors and timeouts. */
  errors: number;
  seconds: number;
}

function percentile(sorted: Float64Array, fraction: number): number {
  if (sorted.length === 0) return NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1));
  return sorted[index] as number;
}

/**
 * Drives the service with autocannon over loopback. Latencies are kept exactly (autocannon's own
 * histogram rounds to whole milliseconds), for every status code, so sub-millisecond p50s are visible.
 */
export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  // Without a callback autocannon returns an emitter that is also a promise of the result.
  const instance = autocannon({
    url: spec.baseUrl,
    connections: spec.connections,
    duration: spec.seconds,
    timeout: 30,
    ...(spec.rate === undefined ? {} : { overallRate: spec.rate }),
    requests: [
      {
        setupRequest: (request) => {
          const next = spec.next();
          return {
            ...request,
            method: next.method ?? "GET",
            path: next.path,
            body: next.body ?? "",
            headers: { ...request.headers, ...next.headers },
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
  const result = await instance;
  const sorted = Float64Array.from(latencies).sort();
  const ok = Object.entries(statuses)
    .filter(([status]) => status.startsWith("2") || status === "304")
    .reduce((sum, [, count]) => sum + count, 0);
  return {
    requestsPerSecond: ok / result.duration,
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
    statuses,
    errors: result.errors,
    seconds: result.duration,
  };
}

export function median(values: number[]): number {
  const sorted = [...values].filter((value) => !Number.isNaN(value)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}
