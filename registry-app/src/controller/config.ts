import fs from "node:fs";
import os from "node:os";
import { z } from "zod";
import { integer, url } from "../auth/env";
import { httpUrl, listenAddress } from "../config";

/** Written by the kubelet into every pod that mounts a service account token (the namespace it runs in). */
const POD_NAMESPACE_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

/** Any http(s) URL: the registry is reached over plain http inside the cluster. */
const registryUrl = httpUrl.refine((value) => value !== "", {
  error: "required: the registry's base URL, e.g. http://registry.mcp-registry.svc:8080",
});

/** The `controller` command's environment (the Kubernetes API is found through KUBECONFIG or in-cluster). */
export const controllerEnv = z.object({
  /** Base URL the controller publishes through (the registry Service). */
  MCP_REGISTRY_CONTROLLER_REGISTRY_URL: registryUrl,
  /** Public base URL written to status.registryUrl (default: the registry URL). */
  MCP_REGISTRY_CONTROLLER_PUBLIC_URL: url(""),
  /** Projected service account token (audience mcp-registry) exchanged at /auth/kubernetes. */
  MCP_REGISTRY_CONTROLLER_TOKEN_FILE: z.string().min(1).default("/var/run/secrets/mcp-registry/token"),
  /** Metrics and probes. */
  MCP_REGISTRY_CONTROLLER_ADDRESS: listenAddress(":8080"),
  /** Namespace of the leader-election Lease (default: the pod's own namespace). */
  MCP_REGISTRY_CONTROLLER_NAMESPACE: z.string().default(""),
  /** This replica's name in the Lease (default: the pod's hostname). */
  MCP_REGISTRY_CONTROLLER_IDENTITY: z.string().default(""),
  MCP_REGISTRY_CONTROLLER_LEASE_NAME: z.string().min(1).default("mcp-registry-controller"),
  MCP_REGISTRY_CONTROLLER_LEASE_SECONDS: integer(15, 2, 300),
  MCP_REGISTRY_CONTROLLER_RENEW_DEADLINE_SECONDS: integer(10, 1, 300),
  MCP_REGISTRY_CONTROLLER_RETRY_PERIOD_SECONDS: integer(2, 1, 60),
  /** Every object is reconciled again this often, so drift in the registry is repaired. */
  MCP_REGISTRY_CONTROLLER_RESYNC_SECONDS: integer(600, 5, 86_400),
  MCP_REGISTRY_CONTROLLER_BACKOFF_BASE_MS: integer(1_000, 10, 60_000),
  MCP_REGISTRY_CONTROLLER_BACKOFF_MAX_SECONDS: integer(300, 1, 3_600),
  MCP_REGISTRY_CONTROLLER_WORKERS: integer(2, 1, 32),
  /** Registry and API calls; at most LEASE - RENEW_DEADLINE, so a call never outlives this replica's leadership. */
  MCP_REGISTRY_CONTROLLER_REQUEST_TIMEOUT_MS: integer(5_000, 100, 120_000),
  MCP_REGISTRY_LOG_LEVEL: z
    .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"], {
      error: "expected fatal, error, warn, info, debug, trace or silent",
    })
    .default("info"),
});

export interface ControllerConfig {
  registryUrl: string;
  publicUrl: string;
  tokenFile: string;
  listen: { host: string; port: number };
  namespace: string;
  identity: string;
  lease: { name: string; durationMs: number; renewDeadlineMs: number; retryPeriodMs: number };
  resyncMs: number;
  backoff: { baseMs: number; maxMs: number };
  workers: number;
  requestTimeoutMs: number;
  logLevel: string;
}

export class ControllerConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid controller configuration:\n${problems.join("\n")}`);
    this.name = "ControllerConfigError";
  }
}

function podNamespace(): string {
  try {
    return fs.readFileSync(POD_NAMESPACE_FILE, "utf8").trim() || "default";
  } catch {
    return "default";
  }
}

/** Parses the environment once; one line per bad variable, and the lease timings checked against each other. */
export function loadControllerConfig(env: NodeJS.ProcessEnv): ControllerConfig {
  const result = controllerEnv.safeParse(env);
  if (!result.success) {
    const lines = new Map<string, string>();
    for (const issue of result.error.issues) {
      const variable = String(issue.path[0] ?? "environment");
      if (!lines.has(variable)) lines.set(variable, `${variable}: ${issue.message}`);
    }
    throw new ControllerConfigError([...lines.values()]);
  }
  const e = result.data;
  const lease = e.MCP_REGISTRY_CONTROLLER_LEASE_SECONDS;
  const renew = e.MCP_REGISTRY_CONTROLLER_RENEW_DEADLINE_SECONDS;
  const retry = e.MCP_REGISTRY_CONTROLLER_RETRY_PERIOD_SECONDS;
  if (!(retry < renew && renew < lease)) {
    // A leader must give up before others may take over, or two replicas could act at once.
    throw new ControllerConfigError([
      `MCP_REGISTRY_CONTROLLER_*: need RETRY_PERIOD (${retry}) < RENEW_DEADLINE (${renew}) < LEASE (${lease}) seconds`,
    ]);
  }
  const timeout = e.MCP_REGISTRY_CONTROLLER_REQUEST_TIMEOUT_MS;
  if (timeout > (lease - renew) * 1000) {
    throw new ControllerConfigError([
      `MCP_REGISTRY_CONTROLLER_REQUEST_TIMEOUT_MS: ${timeout} exceeds LEASE - RENEW_DEADLINE (${(lease - renew) * 1000} ms): a call could outlive this replica's leadership`,
    ]);
  }
  return {
    registryUrl: e.MCP_REGISTRY_CONTROLLER_REGISTRY_URL,
    publicUrl: e.MCP_REGISTRY_CONTROLLER_PUBLIC_URL || e.MCP_REGISTRY_CONTROLLER_REGISTRY_URL,
    tokenFile: e.MCP_REGISTRY_CONTROLLER_TOKEN_FILE,
    listen: e.MCP_REGISTRY_CONTROLLER_ADDRESS,
    namespace: e.MCP_REGISTRY_CONTROLLER_NAMESPACE || podNamespace(),
    identity: e.MCP_REGISTRY_CONTROLLER_IDENTITY || `${os.hostname()}-${process.pid}`,
    lease: {
      name: e.MCP_REGISTRY_CONTROLLER_LEASE_NAME,
      durationMs: lease * 1000,
      renewDeadlineMs: renew * 1000,
      retryPeriodMs: retry * 1000,
    },
    resyncMs: e.MCP_REGISTRY_CONTROLLER_RESYNC_SECONDS * 1000,
    backoff: {
      baseMs: e.MCP_REGISTRY_CONTROLLER_BACKOFF_BASE_MS,
      maxMs: e.MCP_REGISTRY_CONTROLLER_BACKOFF_MAX_SECONDS * 1000,
    },
    workers: e.MCP_REGISTRY_CONTROLLER_WORKERS,
    requestTimeoutMs: e.MCP_REGISTRY_CONTROLLER_REQUEST_TIMEOUT_MS,
    logLevel: e.MCP_REGISTRY_LOG_LEVEL,
  };
}
