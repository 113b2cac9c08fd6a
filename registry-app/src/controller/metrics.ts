import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { RegistryOperation } from "./registry-client";

export type ReconcileResult = "published" | "unchanged" | "retired" | "failed";

/**
 * The controller's Prometheus metrics (own registry). Names and labels are a contract with the alerts in
 * infra/registry/controller.ts.
 */
export class ControllerMetrics {
  readonly registry = new Registry();
  readonly reconciliations: Counter<"result">;
  readonly failures: Counter<"reason">;
  readonly duration: Histogram;
  readonly registryCalls: Counter<"operation" | "outcome">;
  readonly leader: Gauge;

  constructor(options: { defaultMetrics: boolean; queue: () => { depth: number; retrying: number } }) {
    const registers = [this.registry];
    this.reconciliations = new Counter({
      name: "mcp_registry_controller_reconciliations_total",
      help: "MCPServer reconciliations by result: published (the registry was written), unchanged, retired, failed.",
      labelNames: ["result"],
      registers,
    });
    this.failures = new Counter({
      name: "mcp_registry_controller_reconcile_failures_total",
      help: "Failed reconciliations by condition reason: Invalid, Forbidden, Conflict, RegistryUnavailable, Error.",
      labelNames: ["reason"],
      registers,
    });
    this.duration = new Histogram({
      name: "mcp_registry_controller_reconcile_duration_seconds",
      help: "Time to reconcile one MCPServer.",
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.registryCalls = new Counter({
      name: "mcp_registry_controller_registry_requests_total",
      help: "Calls to the registry's HTTP API by operation and outcome (ok, refused, unavailable).",
      labelNames: ["operation", "outcome"],
      registers,
    });
    this.leader = new Gauge({
      name: "mcp_registry_controller_leader",
      help: "1 while this replica holds the leader lease and reconciles.",
      registers,
    });
    new Gauge({
      name: "mcp_registry_controller_queue_depth",
      help: "MCPServers waiting for a worker.",
      registers,
      collect() {
        this.set(options.queue().depth);
      },
    });
    new Gauge({
      name: "mcp_registry_controller_queue_retrying",
      help: "MCPServers waiting for their backoff to pass before the next attempt.",
      registers,
      collect() {
        this.set(options.queue().retrying);
      },
    });
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry });
  }

  observeRegistry(operation: RegistryOperation, outcome: "ok" | "refused" | "unavailable"): void {
    this.registryCalls.inc({ operation, outcome });
  }
}
