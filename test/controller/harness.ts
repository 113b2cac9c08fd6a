// What the controller's end-to-end tests run on: a real control plane (test/cluster) with the program's own CRDs,
// namespace and RBAC for the controller; the real registry service on a real PostgreSQL (registry-app's harness),
// reached over HTTP; and `registry-app/src/main.ts controller` processes that act as the controller's service
// account, with tokens the API server itself issued.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { loadConfig, type Config } from "../../registry-app/src/config";
import { createLogger } from "../../registry-app/src/logger";
import { buildRegistry, openRuntime, prepareSchema } from "../../registry-app/src/server";
import type { RegistryPermission } from "../../registry-app/src/auth";
import { startMain, freePort, type MainProcess } from "../../registry-app/test/support/process";
import { testEnv } from "../../registry-app/test/support/registry";
import { programObjects } from "../charts/render";
import { startControlPlane, type ControlPlane } from "../cluster/control-plane";
import type { KubeClient, KubeObject } from "../cluster/kube-client";
import { runProgram } from "../support/program";
import {
  CONTROLLER_NAMESPACE,
  CONTROLLER_SERVICE_ACCOUNT,
  CONTROLLER_AUDIENCE,
} from "../../infra/registry/controller";

export const API = "mcp-registry.io/v1alpha1";
export const CLUSTER_ISSUER = "https://kubernetes.default.svc.cluster.local";

const isControllerObject = (o: KubeObject): boolean =>
  (o.kind === "CustomResourceDefinition" && (o.metadata.name ?? "").endsWith(".mcp-registry.io")) ||
  (o.kind === "Namespace" && o.metadata.name === CONTROLLER_NAMESPACE) ||
  (["ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"].includes(o.kind) &&
    (o.metadata.labels as Record<string, string> | undefined)?.["app.kubernetes.io/name"] ===
      "registry-controller");

/**
 * The program's objects for the controller (local stack): its CRDs, namespace, service account, RBAC, the team
 * roles and the issuer-discovery binding. The Deployment is left out: no kubelet would run it; the tests run the
 * command as processes instead, under the same service account.
 */
export async function controllerObjects(): Promise<KubeObject[]> {
  const run = await runProgram("local");
  return programObjects(run.resources)
    .map((entry) => entry.object)
    .filter(isControllerObject);
}

async function waitEstablished(client: KubeClient, names: string[]): Promise<void> {
  for (const name of names) {
    for (let i = 0; ; i++) {
      const crd = await client.json<{ status?: { conditions?: { type: string; status: string }[] } }>(
        "GET",
        `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`,
      );
      if (crd.status?.conditions?.some((c) => c.type === "Established" && c.status === "True")) break;
      if (i > 300) throw new Error(`CRD ${name} was not established`);
      await sleep(200);
    }
  }
  client.forgetDiscovery();
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Applies objects namespaces first, then CRDs (waiting until established), then the rest. */
export async function applyAll(client: KubeClient, objects: readonly KubeObject[]): Promise<void> {
  const order = (o: KubeObject) =>
    o.kind === "Namespace" ? 0 : o.kind === "CustomResourceDefinition" ? 1 : 2;
  const sorted = [...objects].sort((a, b) => order(a) - order(b));
  for (const object of sorted.filter((o) => order(o) < 2)) await client.apply(object);
  await waitEstablished(
    client,
    sorted.filter((o) => o.kind === "CustomResourceDefinition").map((o) => o.metadata.name ?? ""),
  );
  for (const object of sorted.filter((o) => order(o) === 2)) await client.apply(object);
}

/** A token the API server issues for a service account (TokenRequest), for an audience or for itself. */
export async function serviceAccountToken(
  client: KubeClient,
  namespace: string,
  name: string,
  audience?: string,
): Promise<string> {
  const answer = await client.json<{ status: { token: string } }>(
    "POST",
    `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`,
    {
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenRequest",
      spec: { ...(audience && { audiences: [audience] }), expirationSeconds: 3600 },
    },
  );
  return answer.status.token;
}

export interface TestCluster {
  readonly plane: ControlPlane;
  readonly client: KubeClient;
  /** A kubeconfig that authenticates as the controller's service account (its RBAC applies). */
  readonly controllerKubeconfig: string;
  /** A projected-style token of the controller's service account with the registry's audience. */
  readonly registryTokenFile: string;
  readonly dir: string;
}

export async function startTestCluster(binDir: string): Promise<TestCluster> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "controller-test-"));
  const plane = await startControlPlane({ dir: path.join(dir, "plane"), binDir, controllers: false });
  try {
    await applyAll(plane.client, await controllerObjects());
    const apiToken = await serviceAccountToken(
      plane.client,
      CONTROLLER_NAMESPACE,
      CONTROLLER_SERVICE_ACCOUNT,
    );
    const ca = fs.readFileSync(path.join(plane.dir, "pki", "ca.crt")).toString("base64");
    const controllerKubeconfig = path.join(dir, "controller.kubeconfig");
    fs.writeFileSync(
      controllerKubeconfig,
      [
        "apiVersion: v1",
        "kind: Config",
        "clusters:",
        `- name: test\n  cluster:\n    server: ${plane.server}\n    certificate-authority-data: ${ca}`,
        "users:",
        `- name: controller\n  user:\n    token: ${apiToken}`,
        "contexts:",
        "- name: test\n  context:\n    cluster: test\n    user: controller",
        "current-context: test",
        "",
      ].join("\n"),
      { mode: 0o600 },
    );
    const registryTokenFile = path.join(dir, "registry-token");
    fs.writeFileSync(
      registryTokenFile,
      await serviceAccountToken(
        plane.client,
        CONTROLLER_NAMESPACE,
        CONTROLLER_SERVICE_ACCOUNT,
        CONTROLLER_AUDIENCE,
      ),
      { mode: 0o600 },
    );
    return { plane, client: plane.client, controllerKubeconfig, registryTokenFile, dir };
  } catch (error) {
    await plane.stop();
    throw error;
  }
}

export interface TestRegistryServer {
  readonly url: string;
  readonly port: number;
  /** A registry token with these permissions, as a login would mint it. */
  token(permissions: RegistryPermission[]): Promise<string>;
  close(): Promise<void>;
}

/**
 * The registry's HTTP service on `port` over the database and signing key of `env`; calling it again with the same
 * env brings the same registry back (an outage and its end).
 */
export async function startRegistry(env: NodeJS.ProcessEnv, port = 0): Promise<TestRegistryServer> {
  const config: Config = loadConfig(env);
  const runtime = await openRuntime(config, createLogger("silent", "test"), { defaultMetrics: false });
  await prepareSchema(runtime);
  const registry = await buildRegistry(runtime, { tracing: false, logger: false });
  const url = await registry.app.listen({ host: "127.0.0.1", port });
  return {
    url,
    port: Number(new URL(url).port),
    token: async (permissions) =>
      (await registry.auth.issueToken("test", "tester", permissions)).registry_token,
    close: async () => {
      await registry.app.close();
      await runtime.close();
    },
  };
}

/** Registry settings that trust the test cluster's service account tokens for the controller's account. */
export async function registryEnv(cluster: TestCluster, patterns: string): Promise<NodeJS.ProcessEnv> {
  return testEnv("controller", {
    MCP_REGISTRY_KUBERNETES_ISSUER: CLUSTER_ISSUER,
    MCP_REGISTRY_KUBERNETES_DISCOVERY_URL: cluster.plane.server,
    MCP_REGISTRY_KUBERNETES_CA_FILE: path.join(cluster.plane.dir, "pki", "ca.crt"),
    MCP_REGISTRY_KUBERNETES_SERVICE_ACCOUNTS: `${CONTROLLER_NAMESPACE}/${CONTROLLER_SERVICE_ACCOUNT}`,
    MCP_REGISTRY_KUBERNETES_PUBLISH_PERMISSIONS: patterns,
    MCP_REGISTRY_KUBERNETES_EDIT_PERMISSIONS: patterns,
    MCP_REGISTRY_AUTH_RATE_LIMIT_PER_MINUTE: "0",
    MCP_REGISTRY_PUBLISH_RATE_LIMIT_PER_MINUTE: "0",
    MCP_REGISTRY_READ_CACHE_MAX_BYTES: "0",
    // The dataset's packages are public npm and PyPI packages, out of reach here; verification has its own tests.
    MCP_REGISTRY_ENABLE_REGISTRY_VALIDATION: "false",
  });
}

export interface ControllerProcess {
  readonly identity: string;
  readonly process: MainProcess;
  /** http://127.0.0.1:<port> of its /metrics, /livez and /readyz. */
  readonly address: string;
  /** One sample of a metric (labels as `a="b"` pairs), 0 when absent. */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  /** SIGTERM (or SIGKILL) and wait for the exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Runs `main.ts controller` as its own process, as the controller's service account. */
export async function startController(
  cluster: TestCluster,
  registryUrl: string,
  identity: string,
  extra: Record<string, string> = {},
): Promise<ControllerProcess> {
  const port = await freePort();
  const process = startMain(["controller"], {
    KUBECONFIG: cluster.controllerKubeconfig,
    MCP_REGISTRY_CONTROLLER_REGISTRY_URL: registryUrl,
    MCP_REGISTRY_CONTROLLER_TOKEN_FILE: cluster.registryTokenFile,
    MCP_REGISTRY_CONTROLLER_ADDRESS: `127.0.0.1:${port}`,
    MCP_REGISTRY_CONTROLLER_NAMESPACE: CONTROLLER_NAMESPACE,
    MCP_REGISTRY_CONTROLLER_IDENTITY: identity,
    // Short but safe on a busy 2-core machine: a leader stops after 7 s without renewal, others wait 10 s.
    MCP_REGISTRY_CONTROLLER_LEASE_SECONDS: "10",
    MCP_REGISTRY_CONTROLLER_RENEW_DEADLINE_SECONDS: "7",
    MCP_REGISTRY_CONTROLLER_RETRY_PERIOD_SECONDS: "2",
    MCP_REGISTRY_CONTROLLER_REQUEST_TIMEOUT_MS: "3000",
    MCP_REGISTRY_CONTROLLER_BACKOFF_BASE_MS: "250",
    MCP_REGISTRY_CONTROLLER_BACKOFF_MAX_SECONDS: "4",
    MCP_REGISTRY_LOG_LEVEL: "info",
    ...extra,
  });
  await process.waitFor(/"controller is running"/, 120_000);
  const address = `http://127.0.0.1:${port}`;
  return {
    identity,
    process,
    address,
    metric: async (name, labels = {}) => {
      const text = await (await fetch(`${address}/metrics`)).text();
      const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
      let total = 0;
      for (const line of text.split("\n")) {
        if (!line.startsWith(name)) continue;
        const match = /^([a-z_:]+)(\{([^}]*)\})? ([-0-9.e+]+)$/.exec(line);
        if (match?.[1] !== name) continue;
        const present = (match[3] ?? "").split(",");
        if (wanted.every((pair) => present.includes(pair))) total += Number(match[4]);
      }
      return total;
    },
    stop: async (signal = "SIGTERM") => {
      if (process.child.exitCode === null && process.child.signalCode === null) process.child.kill(signal);
      await process.exited;
    },
  };
}

/** Polls until `check` returns a value (not undefined), or fails with what it last saw. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 60_000,
  describe: () => string = () => "",
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}. ${describe()}`);
    await sleep(250);
  }
}

export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}
