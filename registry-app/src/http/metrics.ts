import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { ServiceEvents } from "../service";

export type PublishOutcome = "success" | "rejected" | "error";

export interface PoolStats {
  total: number;
  idle: number;
  waiting: number;
  max: number;
}

/**
 * Prometheus metrics of one app instance (own registry, so several apps can live in one test process).
 * Names and labels are a contract with infra/registry/alerts.ts.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly requests: Counter<"method" | "route" | "status">;
  readonly duration: Histogram<"method" | "route" | "status">;
  readonly publishes: Counter<"outcome">;
  readonly validations: Counter<"outcome">;
  readonly readCacheLookups: Counter<"outcome">;
  readonly facetCounts: Counter<"source">;
  readonly narrowedPages: Counter<"source">;

  /** Size of the read cache, once the HTTP app has one. */
  readCacheBytes: () => number = () => 0;

  constructor(options: { defaultMetrics: boolean; poolStats?: () => PoolStats }) {
    const registers = [this.registry];
    this.requests = new Counter({
      name: "mcp_registry_http_requests_total",
      help: "HTTP requests by method, route pattern and status code.",
      labelNames: ["method", "route", "status"],
      registers,
    });
    this.duration = new Histogram({
      name: "mcp_registry_http_request_duration_seconds",
      help: "HTTP request duration by method, route pattern and status code.",
      labelNames: ["method", "route", "status"],
      // 0.5 s is the latency SLO threshold of the alerting rules.
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.publishes = new Counter({
      name: "mcp_registry_publish_total",
      help: "POST /publish outcomes: success, rejected (client error) or error (server error).",
      labelNames: ["outcome"],
      registers,
    });
    this.validations = new Counter({
      name: "mcp_registry_validation_total",
      help: "server.json validations (validate, publish, edit, seed, import, sync) by outcome.",
      labelNames: ["outcome"],
      registers,
    });
    this.readCacheLookups = new Counter({
      name: "mcp_registry_read_cache_lookups_total",
      help: "Reads answered from the in-process cache (hit) or from the database (miss).",
      labelNames: ["outcome"],
      registers,
    });
    this.facetCounts = new Counter({
      name: "mcp_registry_facet_counts_total",
      help: "Lists with facets by where they were counted: the in-memory index or SQL.",
      labelNames: ["source"],
      registers,
    });
    this.narrowedPages = new Counter({
      name: "mcp_registry_narrowed_pages_total",
      help: "List pages narrowed by attribute filters, by how they were found: the in-memory index or SQL.",
      labelNames: ["source"],
      registers,
    });
    const cacheBytes = () => this.readCacheBytes();
    new Gauge({
      name: "mcp_registry_read_cache_bytes",
      help: "Bytes of answers held by the in-process read cache.",
      registers,
      collect() {
        this.set(cacheBytes());
      },
    });
    const pool = options.poolStats;
    if (pool !== undefined) {
      const gauge = (name: string, help: string, read: (stats: PoolStats) => number) =>
        new Gauge({
          name,
          help,
          registers,
          collect() {
            this.set(read(pool()));
          },
        });
      gauge("mcp_registry_db_pool_connections", "Open database connections of the pool.", (s) => s.total);
      gauge("mcp_registry_db_pool_idle_connections", "Idle database connections of the pool.", (s) => s.idle);
      gauge(
        "mcp_registry_db_pool_waiting_requests",
        "Queries waiting for a free connection.",
        (s) => s.waiting,
      );
      gauge("mcp_registry_db_pool_max_connections", "Configured pool size.", (s) => s.max);
    }
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry });
  }

  serviceEvents(): ServiceEvents {
    return {
      validated: (outcome) => this.validations.inc({ outcome }),
      facetsCounted: (source) => this.facetCounts.inc({ source }),
      narrowedPage: (source) => this.narrowedPages.inc({ source }),
    };
  }

  observeRequest(method: string, route: string, status: number, seconds: number): void {
    const labels = { method, route, status: String(status) };
    this.requests.inc(labels);
    this.duration.observe(labels, seconds);
  }
}
