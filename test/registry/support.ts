// Unit-test harness for the data and registry components: runs a builder under Pulumi mocks with small
// hand-built Platform and backup-store values and real settings loaded from a stack file.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { Platform } from "../../infra/platform/types";
import { loadSettings, type Settings } from "../../infra/settings";
import type { BackupAccess, ResticAccess } from "../../infra/storage/types";
import { stackConfig, type CapturedResource, type ResourceInputs, type StackName } from "../support/program";

export const platform: Platform = {
  namespaces: {
    certManager: "cert-manager",
    gateway: "gateway",
    cnpg: "cnpg-system",
    k8up: "k8up",
    monitoring: "monitoring",
  },
  clusterIssuer: "local-ca",
  gateway: {
    name: "public",
    namespace: "gateway",
    httpsListener: "https",
    httpListener: "http",
    address: undefined,
  },
  monitoring: {
    namespace: "monitoring",
    selectorLabels: { release: "kube-prometheus-stack" },
    dashboardLabels: { grafana_dashboard: "1" },
    grafanaUrl: undefined,
  },
  cnpg: { barmanPluginName: "barman-cloud.cloudnative-pg.io" },
  ready: [],
};

/** What the stores hand their consumers: the in-cluster MinIO port, or HTTPS plus the GKE metadata server. */
export const MINIO_EGRESS = [
  { to: [{ podSelector: { matchLabels: { app: "minio" } } }], ports: [{ protocol: "TCP", port: 9000 }] },
];
export const GCS_EGRESS = [
  { ports: [{ protocol: "TCP", port: 443 }] },
  { to: [{ ipBlock: { cidr: "169.254.169.254/32" } }], ports: [{ protocol: "TCP", port: 80 }] },
];

export function minioAccess(namespace: string): BackupAccess {
  return {
    bucket: pulumi.output("backups"),
    destinationPath: pulumi.output("s3://backups/cnpg"),
    endpointUrl: pulumi.output("http://minio.platform.svc:9000"),
    auth: {
      kind: "s3-secret",
      secretName: pulumi.output("backup-s3"),
      namespace,
      accessKeyIdKey: "ACCESS_KEY_ID",
      secretAccessKeyKey: "ACCESS_SECRET_KEY",
    },
    egress: MINIO_EGRESS,
  };
}

export const GSA_EMAIL = "cnpg-backups@mcp-registry-production.iam.gserviceaccount.com";

export function gcsAccess(): BackupAccess {
  return {
    bucket: pulumi.output("mcp-backups"),
    destinationPath: pulumi.output("gs://mcp-backups/cnpg"),
    endpointUrl: undefined,
    auth: {
      kind: "workload-identity",
      serviceAccountEmail: pulumi.output(GSA_EMAIL),
      annotations: pulumi.output<Record<string, string>>({ "iam.gke.io/gcp-service-account": GSA_EMAIL }),
    },
    egress: GCS_EGRESS,
  };
}

export function resticAccess(namespace: string): ResticAccess {
  return {
    bucket: pulumi.output("restic"),
    endpointUrl: pulumi.output("http://minio.platform.svc:9000"),
    auth: {
      kind: "s3-secret",
      secretName: pulumi.output("restic-s3"),
      namespace,
      accessKeyIdKey: "ACCESS_KEY_ID",
      secretAccessKeyKey: "ACCESS_SECRET_KEY",
    },
    repositoryPasswordSecret: { name: pulumi.output("restic-repository"), key: "password" },
    egress: MINIO_EGRESS,
  };
}

/** The validated settings of a stack file (secrets faked), as the program would see them. */
export function settingsFor(stack: StackName, overrides: Record<string, unknown> = {}): Settings {
  const values: Record<string, string> = {
    ...stackConfig(stack),
    "mcp-registry:githubClientSecret": "test-github-secret",
  };
  for (const [key, value] of Object.entries(overrides)) values[key] = JSON.stringify(value);
  return loadSettings({
    values,
    isSecret: (key) => key === "mcp-registry:githubClientSecret",
    stack,
  });
}

/** A captured resource plus the input paths that arrived as Pulumi secrets. */
export interface CapturedWithSecrets extends CapturedResource {
  readonly secretPaths: string[];
}

// How the Pulumi wire format marks a secret value (`{ <sig key>: <secret sig>, value }`).
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** Replaces secret wrappers by their values, recording where they were. */
export function unwrapSecrets(value: unknown, path: string, found: string[]): unknown {
  if (Array.isArray(value)) return value.map((item, i) => unwrapSecrets(item, `${path}[${i}]`, found));
  if (value !== null && typeof value === "object") {
    const record = value as Record<string, unknown>;
    if (record[SIG_KEY] === SECRET_SIG) {
      found.push(path);
      return unwrapSecrets(record.value, path, found);
    }
    return Object.fromEntries(
      Object.entries(record).map(([key, child]) => [
        key,
        unwrapSecrets(child, path ? `${path}.${key}` : key, found),
      ]),
    );
  }
  return value;
}

/** Runs `build` under mocks and returns every resource it registered, once all registrations settled. */
export async function capture(build: (provider: k8s.Provider) => void): Promise<CapturedWithSecrets[]> {
  const resources: CapturedWithSecrets[] = [];
  await pulumi.runtime.setMocks(
    {
      newResource(args: pulumi.runtime.MockResourceArgs): pulumi.runtime.MockResourceResult {
        const secretPaths: string[] = [];
        const inputs = unwrapSecrets(args.inputs, "", secretPaths) as ResourceInputs;
        resources.push({ type: args.type, name: args.name, urn: "", inputs, opts: {}, secretPaths });
        const computed: ResourceInputs =
          args.type === "random:index/randomPassword:RandomPassword"
            ? { result: `test-random-${args.name}` }
            : args.type === "tls:index/privateKey:PrivateKey"
              ? { privateKeyPem: "-----BEGIN PRIVATE KEY-----\ntest\n-----END PRIVATE KEY-----\n" }
              : {};
        return { id: `${args.name}-id`, state: { ...inputs, ...computed } };
      },
      call: (args: pulumi.runtime.MockCallArgs) => args.inputs as pulumi.runtime.MockCallResult,
    },
    "mcp-registry",
    "test",
    false,
  );
  const failures: unknown[] = [];
  const onRejection = (reason: unknown) => failures.push(reason);
  process.on("unhandledRejection", onRejection);
  try {
    build(new k8s.Provider("test-provider", {}));
    const runtime = pulumi.runtime as unknown as { waitForRPCs: () => Promise<void> };
    await runtime.waitForRPCs();
    if (failures.length > 0) throw failures[0];
    return resources;
  } finally {
    process.off("unhandledRejection", onRejection);
  }
}

/** Kubernetes objects of one kind (`kubernetes:<group/version>:<Kind>` token suffix). */
export function kind(resources: readonly CapturedResource[], k: string): CapturedResource[] {
  return resources.filter((r) => r.type.startsWith("kubernetes:") && r.type.endsWith(`:${k}`));
}

/** The single object of a kind; fails naming how many there were. */
export function one(resources: readonly CapturedResource[], k: string): ResourceInputs {
  const found = kind(resources, k);
  if (found.length !== 1) throw new Error(`expected one ${k}, found ${found.length}`);
  return found[0]!.inputs;
}

/** The object of a kind with this `metadata.name`. */
export function named(resources: readonly CapturedResource[], k: string, name: string): ResourceInputs {
  const found = kind(resources, k).find((r) => r.inputs.metadata?.name === name);
  if (found === undefined)
    throw new Error(
      `no ${k} named ${name}; found ${kind(resources, k)
        .map((r) => String(r.inputs.metadata?.name))
        .join(", ")}`,
    );
  return found.inputs;
}

/** Resolves a secret-or-plain Output and reports whether it is secret. */
export async function isSecretOutput(output: pulumi.Output<unknown>): Promise<boolean> {
  return pulumi.isSecret(output);
}

/** Whether the value at `path` arrived as a secret (itself or inside a secret parent). */
export function isSecretPath(resource: CapturedWithSecrets | undefined, path: string): boolean {
  return (resource?.secretPaths ?? []).some((p) => path === p || path.startsWith(`${p}.`));
}
