// The registry workload: service account, a migration Job per image (so replicas never race on DDL), the
// Deployment, its ClusterIP Service, HPA, PodDisruptionBudget and NetworkPolicies.
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { DATABASE_NAME, POSTGRES_PORT } from "../data/naming";
import { API_SERVER_PORTS } from "../lib/namespace";
import { appLabels, hardenedContainer, hardenedPodSpec, httpProbes, selectorLabels } from "../lib/workload";
import type { Platform } from "../platform/types";
import { GKE_METADATA_EGRESS } from "../platform/network";
import { SECRET_REVISION_ANNOTATION } from "../secrets/types";
import type { PackageValidationSettings, RegistrySettings, ResourceSettings } from "../settings";
import type { RegistrySecretRefs } from "./secrets";

type EnvVar = k8s.types.input.core.v1.EnvVar;
type Labels = Readonly<Record<string, string>>;

/** The app's HTTP port: API, probes and /metrics. */
export const REGISTRY_PORT = 8080;
/** The app drains in-flight requests for this long after SIGTERM (its MCP_REGISTRY_SHUTDOWN_GRACE_SECONDS). */
export const DRAIN_SECONDS = 20;
/** Pause before SIGTERM so the endpoint removal reaches the gateway first. */
export const PRESTOP_SLEEP_SECONDS = 5;
/** Connections each replica keeps to PostgreSQL (or the pooler). */
export const DATABASE_POOL_SIZE = 10;

/**
 * V8's semi-space (half the young generation), MiB. Node sizes its heap from the container's memory
 * limit: under 512 Mi it picks a 1 MiB semi-space (16 MiB where memory is not limited), so the rows of
 * a list page outlive the young generation and are left to the old generation's slower collector.
 * Measured in a 512 Mi cgroup (BENCHMARKS.md, seventh session): list pages of 100 under 20 publishes/s,
 * cached, 325 req/s with the 1 MiB default and 1,982 with 16; uncached list pages 395 and 597; peak RSS
 * 139 and 185 MiB.
 */
export const SEMI_SPACE_MIB = 16;

export const DEFAULT_RESOURCES: ResourceSettings = {
  requests: { cpu: "100m", memory: "256Mi" },
  limits: { cpu: "500m", memory: "512Mi" },
};

export const SERVER_SELECTOR: Labels = selectorLabels("registry", "server");
export const MIGRATE_SELECTOR: Labels = selectorLabels("registry", "migrate");

export interface RegistryDatabaseRef {
  /** Host in the registry's namespace: the pooler service, or the cluster's rw service. */
  readonly host: string;
  /** CNPG's app Secret (username, password, uri). */
  readonly appSecretName: string;
  /** Whether `host` is a PgBouncer pooler rather than the rw service named in the Secret's `uri`. */
  readonly viaPooler: boolean;
  /** Pod labels of the PostgreSQL or pooler pods the registry connects to. */
  readonly podSelectors: readonly Labels[];
  /** The standbys' read-only service (CNPG `-ro`) for the API's reads, when the cluster has standbys. */
  readonly readHost?: string;
  /** Pod labels of the pods behind `readHost`. */
  readonly readPodSelectors?: readonly Labels[];
}

export interface RegistryAppArgs {
  readonly provider: k8s.Provider;
  readonly namespace: pulumi.Input<string>;
  readonly image: pulumi.Input<string>;
  readonly imagePullPolicy: pulumi.Input<string>;
  readonly registry: Readonly<RegistrySettings>;
  readonly database: RegistryDatabaseRef;
  readonly secrets: RegistrySecretRefs;
  /** Zones are a hard spread constraint where the cluster has several (regional production). */
  readonly spreadAcrossZones: boolean;
  readonly platform: Pick<Platform, "gateway" | "monitoring">;
  /** Resources that must exist before the pods start (the database, the node pool). */
  readonly dependsOn: pulumi.Resource[];
  /** Google service account of package verification (Workload Identity), annotated on the pods' KSA. */
  readonly googleServiceAccount?: pulumi.Input<string>;
  /** Service accounts that log in with projected tokens (/auth/kubernetes): the MCPServer controller. */
  readonly kubernetesAuth?: KubernetesAuth;
}

export interface KubernetesAuth {
  readonly issuer: pulumi.Input<string>;
  /** Keys read from the API server in-cluster, verified with the cluster CA (kube-root-ca.crt). */
  readonly inCluster: boolean;
  readonly audience: string;
  /** `namespace/name` of each account. */
  readonly serviceAccounts: readonly string[];
  readonly permissions: readonly string[];
  /** Namespaces whose pods call the registry's API directly (the controller's). */
  readonly clientNamespaces: readonly string[];
}

/** Where the registry pod finds the cluster CA when it verifies tokens in-cluster. */
export const CLUSTER_CA_DIR = "/var/run/secrets/mcp-registry/cluster-ca";

/** The registry's /auth/kubernetes settings. */
export function kubernetesAuthEnv(auth: KubernetesAuth): EnvVar[] {
  const patterns = auth.permissions.join(",");
  return [
    { name: "MCP_REGISTRY_KUBERNETES_ISSUER", value: auth.issuer },
    ...(auth.inCluster
      ? [
          // The issuer URL itself names the in-cluster Service under cluster.local; the short name is what resolves.
          { name: "MCP_REGISTRY_KUBERNETES_DISCOVERY_URL", value: "https://kubernetes.default.svc" },
          { name: "MCP_REGISTRY_KUBERNETES_CA_FILE", value: `${CLUSTER_CA_DIR}/ca.crt` },
        ]
      : []),
    { name: "MCP_REGISTRY_KUBERNETES_AUDIENCE", value: auth.audience },
    { name: "MCP_REGISTRY_KUBERNETES_SERVICE_ACCOUNTS", value: auth.serviceAccounts.join(",") },
    { name: "MCP_REGISTRY_KUBERNETES_PUBLISH_PERMISSIONS", value: patterns },
    { name: "MCP_REGISTRY_KUBERNETES_EDIT_PERMISSIONS", value: patterns },
  ];
}

/** The app's environment: plain settings as values, every secret through a secretKeyRef. */
export function registryEnv(
  registry: Readonly<RegistrySettings>,
  database: RegistryDatabaseRef,
  secrets: RegistrySecretRefs,
): EnvVar[] {
  const fromSecret = (name: string, secret: string, key: string): EnvVar => ({
    name,
    valueFrom: { secretKeyRef: { name: secret, key } },
  });
  const env: EnvVar[] = [];
  // Kubernetes expands $(VAR) from the variables above, so the password never appears in the spec.
  const urlOf = (host: string) =>
    `postgresql://$(MCP_REGISTRY_DATABASE_USER):$(MCP_REGISTRY_DATABASE_PASSWORD)@${host}:${POSTGRES_PORT}/${DATABASE_NAME}`;
  if (database.viaPooler || database.readHost !== undefined) {
    env.push(
      fromSecret("MCP_REGISTRY_DATABASE_USER", database.appSecretName, "username"),
      fromSecret("MCP_REGISTRY_DATABASE_PASSWORD", database.appSecretName, "password"),
    );
  }
  if (database.viaPooler) {
    env.push(
      { name: "MCP_REGISTRY_DATABASE_URL", value: urlOf(database.host) },
      // CloudNativePG's PgBouncer is not configured to keep protocol-level prepared statements.
      { name: "MCP_REGISTRY_DATABASE_PREPARED_STATEMENTS", value: "false" },
    );
  } else {
    env.push(fromSecret("MCP_REGISTRY_DATABASE_URL", database.appSecretName, "uri"));
  }
  if (database.readHost !== undefined) {
    env.push({ name: "MCP_REGISTRY_DATABASE_READ_URL", value: urlOf(database.readHost) });
  }
  env.push(
    { name: "MCP_REGISTRY_DATABASE_POOL_SIZE", value: String(DATABASE_POOL_SIZE) },
    { name: "NODE_OPTIONS", value: `--max-semi-space-size=${SEMI_SPACE_MIB}` },
    fromSecret("MCP_REGISTRY_JWT_PRIVATE_KEY", secrets.jwt.name, secrets.jwt.key),
    { name: "MCP_REGISTRY_ENABLE_ANONYMOUS_AUTH", value: String(registry.anonymousAuth) },
    { name: "MCP_REGISTRY_SHUTDOWN_GRACE_SECONDS", value: String(DRAIN_SECONDS) },
  );
  if (registry.github !== undefined) {
    if (secrets.github === undefined)
      throw new Error("registry.github: is set but no GitHub client secret Secret was created");
    env.push(
      { name: "MCP_REGISTRY_GITHUB_CLIENT_ID", value: registry.github.clientId },
      fromSecret("MCP_REGISTRY_GITHUB_CLIENT_SECRET", secrets.github.name, secrets.github.key),
    );
  }
  const oidc = registry.oidc;
  env.push({ name: "MCP_REGISTRY_OIDC_ENABLED", value: String(oidc !== undefined) });
  if (oidc !== undefined) {
    env.push(
      { name: "MCP_REGISTRY_OIDC_ISSUER", value: oidc.issuer },
      { name: "MCP_REGISTRY_OIDC_CLIENT_ID", value: oidc.clientId },
      { name: "MCP_REGISTRY_OIDC_EXTRA_CLAIMS", value: JSON.stringify(oidc.extraClaims) },
      { name: "MCP_REGISTRY_OIDC_PUBLISH_PERMISSIONS", value: oidc.publishPermissions.join(",") },
      { name: "MCP_REGISTRY_OIDC_EDIT_PERMISSIONS", value: oidc.editPermissions.join(",") },
    );
  }
  if (registry.seedFrom !== undefined) env.push({ name: "MCP_REGISTRY_SEED_FROM", value: registry.seedFrom });
  if (registry.categoriesFile !== undefined)
    env.push({ name: "MCP_REGISTRY_CATEGORIES_FILE", value: categoriesPath(registry.categoriesFile) });
  env.push(...packageValidationEnv(registry.packageValidation, secrets));
  return env;
}

/** Names of the variables that carry package-registry secrets (outside MCP_REGISTRY_*, which the app checks for typos). */
export const packageSecretVariable = (index: number) => `PACKAGE_REGISTRY_SECRET_${index}`;

/**
 * The switch and allow-lists as values; MCP_REGISTRY_PACKAGE_CREDENTIALS as JSON that names the variables
 * holding each token or password (each from a secretKeyRef), never a secret itself.
 */
export function packageValidationEnv(
  validation: Readonly<PackageValidationSettings>,
  secrets: RegistrySecretRefs,
): EnvVar[] {
  const env: EnvVar[] = [
    { name: "MCP_REGISTRY_ENABLE_REGISTRY_VALIDATION", value: String(validation.enabled) },
  ];
  const lists: Array<[string, readonly string[] | undefined]> = [
    ["MCP_REGISTRY_NPM_REGISTRY_URLS", validation.npmRegistryUrls],
    ["MCP_REGISTRY_PYPI_URLS", validation.pypiUrls],
    ["MCP_REGISTRY_NUGET_URLS", validation.nugetUrls],
    ["MCP_REGISTRY_OCI_REGISTRIES", validation.ociRegistries],
    ["MCP_REGISTRY_MCPB_HOSTS", validation.mcpbHosts],
  ];
  for (const [name, values] of lists) if (values !== undefined) env.push({ name, value: values.join(",") });
  if (validation.allowPrivate) env.push({ name: "MCP_REGISTRY_PACKAGE_ALLOW_PRIVATE", value: "true" });
  if (validation.authenticatedRegistries.length === 0) return env;
  const entries = validation.authenticatedRegistries.map((credential, index) => {
    if (credential.workloadIdentity) return { url: credential.url, gcpMetadata: true };
    const key = secrets.packageCredentials?.keys[credential.url];
    if (secrets.packageCredentials === undefined || key === undefined)
      throw new Error(
        `registry.packageValidation.authenticatedRegistries[${index}]: no Secret key holds its token or password`,
      );
    env.push({
      name: packageSecretVariable(index),
      valueFrom: { secretKeyRef: { name: secrets.packageCredentials.name, key } },
    });
    return credential.username === undefined
      ? { url: credential.url, tokenEnv: packageSecretVariable(index) }
      : { url: credential.url, username: credential.username, passwordEnv: packageSecretVariable(index) };
  });
  env.push({ name: "MCP_REGISTRY_PACKAGE_CREDENTIALS", value: JSON.stringify(entries) });
  return env;
}

/** Ports other than 443 that configured package registries listen on (egress must allow them). */
export function packageRegistryPorts(validation: Readonly<PackageValidationSettings>): number[] {
  const ports = new Set<number>();
  for (const url of [
    ...(validation.npmRegistryUrls ?? []),
    ...(validation.pypiUrls ?? []),
    ...(validation.nugetUrls ?? []),
    ...validation.authenticatedRegistries.map((credential) => credential.url),
  ]) {
    const port = new URL(url).port;
    if (port !== "") ports.add(Number(port));
  }
  for (const host of [...(validation.ociRegistries ?? []), ...(validation.mcpbHosts ?? [])]) {
    const port = /:(\d+)$/.exec(host)?.[1];
    if (port !== undefined) ports.add(Number(port));
  }
  ports.delete(443);
  return [...ports].sort((a, b) => a - b);
}

/** The pods behind the read-write host and the read-only one, each selector once. */
export function databasePeers(database: RegistryDatabaseRef): Labels[] {
  const all = [...database.podSelectors, ...(database.readPodSelectors ?? [])];
  return all.filter(
    (selector, index) =>
      all.findIndex((other) => JSON.stringify(other) === JSON.stringify(selector)) === index,
  );
}

/** Spread over nodes always; over zones as a hard rule only where the cluster spans several. */
export function spreadConstraints(
  selector: Labels,
  acrossZones: boolean,
): k8s.types.input.core.v1.TopologySpreadConstraint[] {
  return [
    {
      maxSkew: 1,
      topologyKey: "topology.kubernetes.io/zone",
      whenUnsatisfiable: acrossZones ? "DoNotSchedule" : "ScheduleAnyway",
      labelSelector: { matchLabels: { ...selector } },
    },
    {
      maxSkew: 1,
      topologyKey: "kubernetes.io/hostname",
      whenUnsatisfiable: "ScheduleAnyway",
      labelSelector: { matchLabels: { ...selector } },
    },
  ];
}

/** Where the pods find the operator's category taxonomy (a ConfigMap volume). */
export const CATEGORIES_DIR = "/etc/mcp-registry/categories";
/** Annotation of the pod template holding the taxonomy's hash: a changed file rolls the pods (read at start). */
export const CATEGORIES_ANNOTATION = "mcp-registry.io/categories-sha256";

/** The ConfigMap key, hence the file name: the extension picks the registry's parser (.json JSON, else YAML). */
function categoriesKey(file: string): string {
  return /\.json$/i.test(file) ? "categories.json" : "categories.yaml";
}

function categoriesPath(file: string): string {
  return `${CATEGORIES_DIR}/${categoriesKey(file)}`;
}

/** Short, stable suffix for per-image objects such as the migration Job. */
export function imageHash(image: string): string {
  return createHash("sha256").update(image).digest("hex").slice(0, 10);
}

export class RegistryApp extends pulumi.ComponentResource {
  readonly deployment: k8s.apps.v1.Deployment;
  readonly service: k8s.core.v1.Service;
  readonly serviceName: string;
  readonly migration: k8s.batch.v1.Job;

  constructor(name: string, args: RegistryAppArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mcp-registry:registry:RegistryApp", name, {}, opts);
    const { provider, namespace, registry } = args;
    if (args.database.podSelectors.length === 0)
      throw new Error("RegistryApp: database.podSelectors must name the pods the registry connects to");
    const auth = args.kubernetesAuth;
    const env = [
      ...registryEnv(registry, args.database, args.secrets),
      ...(auth ? kubernetesAuthEnv(auth) : []),
    ];
    const clusterCa = auth?.inCluster === true;
    const resources = registry.resources ?? DEFAULT_RESOURCES;
    const child = { parent: this, provider };
    const serverLabels = appLabels("registry", "server");
    this.serviceName = "registry";

    const account = new k8s.core.v1.ServiceAccount(
      `${name}-account`,
      {
        metadata: {
          name: "registry",
          namespace,
          labels: serverLabels,
          ...(args.googleServiceAccount !== undefined && {
            annotations: { "iam.gke.io/gcp-service-account": args.googleServiceAccount },
          }),
        },
        automountServiceAccountToken: false,
      },
      child,
    );

    const mounts: k8s.types.input.core.v1.VolumeMount[] = clusterCa
      ? [{ name: "cluster-ca", mountPath: CLUSTER_CA_DIR, readOnly: true }]
      : [];
    const container = (containerName: string, command: string[]) =>
      hardenedContainer({
        name: containerName,
        image: args.image,
        imagePullPolicy: args.imagePullPolicy,
        // `command`, not `args`: it replaces any ENTRYPOINT the UBI base image may carry.
        command,
        env,
        resources,
        volumeMounts: mounts,
      });
    // The cluster CA only (the ConfigMap every namespace has), never a service account token.
    const volumes: k8s.types.input.core.v1.Volume[] = clusterCa
      ? [
          {
            name: "cluster-ca",
            configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] },
          },
        ]
      : [];
    const podAnnotations: Record<string, pulumi.Input<string>> = {
      [SECRET_REVISION_ANNOTATION]: args.secrets.revision,
    };
    if (registry.categoriesFile !== undefined) {
      // The operator's taxonomy, checked by the settings with the registry's own rules, as the file it was.
      const text = fs.readFileSync(registry.categoriesFile, "utf8");
      const key = categoriesKey(registry.categoriesFile);
      const categories = new k8s.core.v1.ConfigMap(
        `${name}-categories`,
        {
          metadata: { name: "registry-categories", namespace, labels: serverLabels },
          data: { [key]: text },
        },
        child,
      );
      volumes.push({
        name: "categories",
        configMap: { name: categories.metadata.name, items: [{ key, path: key }] },
      });
      mounts.push({ name: "categories", mountPath: CATEGORIES_DIR, readOnly: true });
      podAnnotations[CATEGORIES_ANNOTATION] = createHash("sha256").update(text).digest("hex");
    }

    // One Job per image: its name changes with the image, so each rollout migrates exactly once first.
    this.migration = new k8s.batch.v1.Job(
      `${name}-migrate`,
      {
        metadata: {
          name: pulumi.output(args.image).apply((image) => `registry-migrate-${imageHash(image)}`),
          namespace,
          labels: appLabels("registry", "migrate"),
        },
        spec: {
          backoffLimit: 3,
          activeDeadlineSeconds: 900,
          template: {
            metadata: { labels: appLabels("registry", "migrate") },
            spec: hardenedPodSpec({
              serviceAccountName: account.metadata.name,
              restartPolicy: "Never",
              containers: [container("migrate", ["node", "dist/src/main.js", "migrate"])],
              volumes,
            }),
          },
        },
      },
      { ...child, dependsOn: args.dependsOn },
    );

    const server = {
      ...container("registry", ["node", "dist/src/main.js", "serve"]),
      ports: [{ name: "http", containerPort: REGISTRY_PORT, protocol: "TCP" }],
      // /livez never touches the database; a slow start gets 60 s before liveness applies.
      ...httpProbes(2),
      lifecycle: { preStop: { sleep: { seconds: PRESTOP_SLEEP_SECONDS } } },
    };

    this.deployment = new k8s.apps.v1.Deployment(
      `${name}-deployment`,
      {
        metadata: { name: "registry", namespace, labels: serverLabels },
        spec: {
          replicas: registry.replicas,
          revisionHistoryLimit: 5,
          selector: { matchLabels: { ...SERVER_SELECTOR } },
          strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
          template: {
            // A rotated secret (a new pinned version) changes the revision, and another taxonomy file its
            // hash: either rolls the pods onto it.
            metadata: {
              labels: serverLabels,
              annotations: podAnnotations,
            },
            spec: hardenedPodSpec({
              serviceAccountName: account.metadata.name,
              // preStop pause + drain + a margin for the process to exit.
              terminationGracePeriodSeconds: PRESTOP_SLEEP_SECONDS + DRAIN_SECONDS + 5,
              topologySpreadConstraints: spreadConstraints(SERVER_SELECTOR, args.spreadAcrossZones),
              containers: [server],
              volumes,
            }),
          },
        },
      },
      { ...child, dependsOn: [...args.dependsOn, this.migration] },
    );

    this.service = new k8s.core.v1.Service(
      `${name}-service`,
      {
        metadata: { name: this.serviceName, namespace, labels: serverLabels },
        spec: {
          type: "ClusterIP",
          selector: { ...SERVER_SELECTOR },
          ports: [{ name: "http", port: REGISTRY_PORT, targetPort: "http", protocol: "TCP" }],
        },
      },
      child,
    );

    if (registry.hpa !== undefined) {
      new k8s.autoscaling.v2.HorizontalPodAutoscaler(
        `${name}-hpa`,
        {
          metadata: { name: "registry", namespace, labels: serverLabels },
          spec: {
            scaleTargetRef: {
              apiVersion: "apps/v1",
              kind: "Deployment",
              name: this.deployment.metadata.name,
            },
            minReplicas: registry.hpa.min,
            maxReplicas: registry.hpa.max,
            metrics: [
              {
                type: "Resource",
                resource: {
                  name: "cpu",
                  target: { type: "Utilization", averageUtilization: registry.hpa.targetCpu },
                },
              },
            ],
            // Scale down slowly so a short lull does not undo capacity a burst needed.
            behavior: { scaleDown: { stabilizationWindowSeconds: 300 } },
          },
        },
        child,
      );
    }

    new k8s.policy.v1.PodDisruptionBudget(
      `${name}-pdb`,
      {
        metadata: { name: "registry", namespace, labels: serverLabels },
        spec: { maxUnavailable: 1, selector: { matchLabels: { ...SERVER_SELECTOR } } },
      },
      child,
    );

    this.networkPolicies(name, args);
    this.registerOutputs({ service: this.serviceName });
  }

  private networkPolicies(name: string, args: RegistryAppArgs): void {
    const child = { parent: this, provider: args.provider };
    const fromNamespace = (ns: string) => ({
      namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": ns } },
    });
    const port = { protocol: "TCP", port: REGISTRY_PORT };
    new k8s.networking.v1.NetworkPolicy(
      `${name}-ingress`,
      {
        metadata: { name: "registry-ingress", namespace: args.namespace },
        spec: {
          podSelector: { matchLabels: { ...SERVER_SELECTOR } },
          policyTypes: ["Ingress"],
          ingress: [
            { from: [fromNamespace(args.platform.gateway.namespace)], ports: [port] },
            // Prometheus scrapes /metrics on the same port.
            { from: [fromNamespace(args.platform.monitoring.namespace)], ports: [port] },
            // The MCPServer controller publishes through the API, not through the Gateway.
            ...(args.kubernetesAuth?.clientNamespaces ?? []).map((ns) => ({
              from: [fromNamespace(ns)],
              ports: [port],
            })),
          ],
        },
      },
      child,
    );
    new k8s.networking.v1.NetworkPolicy(
      `${name}-egress`,
      {
        metadata: { name: "registry-egress", namespace: args.namespace },
        spec: {
          // The server and its migration Job.
          podSelector: { matchLabels: { "app.kubernetes.io/name": "registry" } },
          policyTypes: ["Egress"],
          egress: [
            {
              to: databasePeers(args.database).map((selector) => ({
                podSelector: { matchLabels: { ...selector } },
              })),
              ports: [{ protocol: "TCP", port: POSTGRES_PORT }],
            },
            // GitHub, OIDC issuers and package registries over HTTPS (and the ports of registries
            // configured elsewhere); the metadata server only for Workload Identity tokens.
            {
              to: [{ ipBlock: { cidr: "0.0.0.0/0", except: ["169.254.169.254/32"] } }],
              ports: [443, ...packageRegistryPorts(args.registry.packageValidation)].map((port) => ({
                protocol: "TCP",
                port,
              })),
            },
            ...(args.registry.packageValidation.authenticatedRegistries.some(
              (credential) => credential.workloadIdentity,
            )
              ? GKE_METADATA_EGRESS
              : []),
            // The API server's service account keys (/auth/kubernetes in-cluster), on the ports it may listen on.
            ...(args.kubernetesAuth?.inCluster === true
              ? [
                  {
                    ports: API_SERVER_PORTS.filter((p) => p !== 443).map((p) => ({
                      protocol: "TCP",
                      port: p,
                    })),
                  },
                ]
              : []),
          ],
        },
      },
      child,
    );
  }
}
