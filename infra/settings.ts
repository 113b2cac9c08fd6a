// The only module that reads Pulumi configuration. It validates every key with zod and hands out one frozen,
// typed `Settings` value; components receive slices of it and never read config themselves.
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { chartMirrorUrl, mirrorFor } from "./lib/mirror";
import { loadTaxonomyFile, TaxonomyFileError } from "../registry-app/src/classification/taxonomy";
import { archiveProblems } from "./platform/chart-archive";
import { PACKAGE_CREDENTIAL_ID, SECRET_IDS } from "./secrets/catalog";
import { isGcpRegion, isZoneOfRegion } from "./regions";
import { charts as pinnedCharts } from "./versions";

const PROJECT = "mcp-registry";
/** The folder holding Pulumi.yaml: relative paths in config are relative to it. */
const PROJECT_ROOT = path.resolve(__dirname, "..");

// ---------------------------------------------------------------------------------------------------------
// Reusable value schemas
// ---------------------------------------------------------------------------------------------------------
const quantity = z.string().regex(/^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$/, {
  error: "must be a Kubernetes quantity such as 500m, 256Mi or 10Gi",
});
const storageSize = z
  .string()
  .regex(/^[1-9][0-9]*(Mi|Gi|Ti)$/, { error: "must be a size such as 512Mi, 10Gi or 1Ti" });
// Five-field cron, as CloudNativePG (six fields, seconds first) and K8up schedules are derived from it.
const cron = z
  .string()
  .regex(/^(\S+\s+){4}\S+$/, { error: "must be a five-field cron expression such as '0 3 * * *'" });
const hostname = z.string().regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, {
  error: "must be a lower-case DNS name such as registry.example.com",
});
const cidr = z
  .string()
  .regex(/^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}\/([0-9]|[12][0-9]|3[0-2])$/, {
    error: "must be an IPv4 CIDR such as 10.10.0.0/20",
  });
const dnsLabel = z.string().regex(/^[a-z]([a-z0-9-]{0,38}[a-z0-9])?$/, {
  error: "must be a lower-case DNS label of at most 40 characters",
});
// [registry[:port]/]path[:tag][@sha256:digest], with a tag or a digest (an untagged name means `latest`).
const imageRef =
  /^([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)*(:[0-9]+)?\/)?[a-z0-9]+([._-]+[a-z0-9]+)*(\/[a-z0-9]+([._-]+[a-z0-9]+)*)*(:\w[\w.-]{0,127}(@sha256:[a-f0-9]{64})?|@sha256:[a-f0-9]{64})$/;
const positiveInt = z
  .number()
  .int({ error: "must be a whole number" })
  .min(1, { error: "must be at least 1" });
const duration = z
  .string()
  .regex(/^[1-9][0-9]*(h|d|w|y)$/, { error: "must be a duration such as 12h, 15d or 4w" });

const resources = z.strictObject({
  requests: z.strictObject({ cpu: quantity, memory: quantity }),
  limits: z.strictObject({ cpu: quantity.optional(), memory: quantity }),
});

// ---------------------------------------------------------------------------------------------------------
// Per-key schemas (one per top-level config key under the `mcp-registry:` namespace)
// ---------------------------------------------------------------------------------------------------------
const environmentSchema = z.enum(["local", "staging", "production"]);

const minikubeClusterSchema = z.strictObject({
  kind: z.literal("minikube"),
  /** kubeconfig context of the running Minikube profile. */
  context: z.string().min(1).default("minikube"),
  storageClass: z.string().min(1).default("standard"),
});

const gkeClusterSchema = z.strictObject({
  kind: z.literal("gke"),
  name: dnsLabel,
  /** Regional control plane and nodes across `nodeZones`; zonal clusters use the first zone. */
  regional: z.boolean(),
  nodeZones: z.array(z.string()).min(1, { error: "must list at least one zone" }),
  releaseChannel: z.enum(["RAPID", "REGULAR", "STABLE"]),
  masterIpv4Cidr: cidr,
  subnetCidr: cidr,
  podsCidr: cidr,
  servicesCidr: cidr,
  masterAuthorizedNetworks: z
    .array(z.strictObject({ name: z.string().min(1), cidr }))
    .min(1, { error: "must list at least one network (the control plane is never open to 0.0.0.0/0)" }),
  nodePool: z.strictObject({
    machineType: z.string().min(1),
    minNodesPerZone: z.number().int().min(0, { error: "must be at least 0" }),
    maxNodesPerZone: positiveInt,
    diskSizeGb: z.number().int().min(20, { error: "must be at least 20" }),
    diskType: z.enum(["pd-standard", "pd-balanced", "pd-ssd"]),
    spot: z.boolean().default(false),
  }),
  maintenanceWindow: z.strictObject({
    startTime: z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/, { error: "must be RFC 3339 UTC" }),
    endTime: z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/, { error: "must be RFC 3339 UTC" }),
    recurrence: z
      .string()
      .startsWith("FREQ=", { error: "must be an RFC 5545 RRULE such as FREQ=WEEKLY;BYDAY=SA,SU" }),
  }),
  /** Application-layer Secrets encryption with a Cloud KMS key (rotated every 90 days). */
  secretsEncryption: z.boolean(),
  deletionProtection: z.boolean(),
  storageClass: z.string().min(1).default("standard-rwo"),
  artifactRegistry: z.strictObject({
    keepRecentVersions: positiveInt,
    deleteUntaggedAfterDays: positiveInt,
  }),
});

const clusterSchema = z.discriminatedUnion("kind", [minikubeClusterSchema, gkeClusterSchema], {
  error: "kind must be one of minikube, gke",
});

const gatewaySchema = z.strictObject({
  /** Host names the Gateway's HTTPS listener serves and its certificate covers. */
  hosts: z.array(hostname).min(1, { error: "must list at least one host name" }),
  issuer: z.enum(["local-ca", "letsencrypt-staging", "letsencrypt-production"]),
  acmeEmail: z.email({ error: "must be an e-mail address" }).optional(),
  /** Cloud DNS managed zone for DNS-01 challenges (through Workload Identity); HTTP-01 through the Gateway otherwise. */
  cloudDnsZone: z.string().min(1).optional(),
  replicas: positiveInt.default(1),
});

// ---- package verification (registry-app's MCP_REGISTRY_* package variables) ---------------------------
const packageRegistryUrl = z.url({ protocol: /^https$/, error: "must be an https:// URL" });
const packageHost = z
  .string()
  .regex(/^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:[0-9]{1,5})?$/, {
    error: "must be a lower-case host name (host, host:port or *.domain)",
  });
const artifactRegistryRepository = z
  .string()
  .regex(
    /^projects\/[a-z][a-z0-9-]{4,28}[a-z0-9]\/locations\/[a-z0-9-]+\/repositories\/[a-z]([a-z0-9-]*[a-z0-9])?$/,
    {
      error: "must be projects/<project>/locations/<location>/repositories/<repository>",
    },
  );

/**
 * Package ownership proof on publish (registry-app README, "Package verification"). Absent lists keep the
 * app's defaults (the public registries); secret values live in the `packageRegistryCredentials` secret key.
 */
const packageValidationSchema = z
  .strictObject({
    enabled: z.boolean(),
    npmRegistryUrls: z.array(packageRegistryUrl).min(1).optional(),
    pypiUrls: z.array(packageRegistryUrl).min(1).optional(),
    nugetUrls: z.array(packageRegistryUrl).min(1).optional(),
    ociRegistries: z.array(packageHost).min(1).optional(),
    mcpbHosts: z.array(packageHost).min(1).optional(),
    /** Internal registries on private addresses (verification refuses them otherwise). */
    allowPrivate: z.boolean().default(false),
    /** Per registry: a token or `username` + password from the secret key, or a Workload Identity token (GKE). */
    authenticatedRegistries: z
      .array(
        z.strictObject({
          url: packageRegistryUrl,
          username: z.string().min(1).optional(),
          workloadIdentity: z.literal(true).optional(),
        }),
      )
      .default([]),
    /** Artifact Registry repositories the registry's Google service account may read (Workload Identity). */
    artifactRegistryRepositories: z.array(artifactRegistryRepository).default([]),
  })
  .default({
    enabled: true,
    allowPrivate: false,
    authenticatedRegistries: [],
    artifactRegistryRepositories: [],
  });

const registrySchema = z.strictObject({
  /** A prebuilt image reference; when absent the program builds `registry-app/` itself. */
  image: z
    .string()
    .regex(imageRef, {
      error:
        "must be an image reference pinned by tag or digest, such as <repository>/mcp-registry@sha256:<digest>",
    })
    .refine((ref) => !/:latest(@|$)/.test(ref), { error: "must not use the tag latest" })
    .optional(),
  hosts: z.array(hostname).min(1, { error: "must list at least one host name" }),
  replicas: positiveInt,
  hpa: z
    .strictObject({
      min: positiveInt,
      max: positiveInt,
      targetCpu: z
        .number()
        .int()
        .min(10, { error: "must be at least 10" })
        .max(95, { error: "must be at most 95" }),
    })
    .optional(),
  anonymousAuth: z.boolean(),
  oidc: z
    .strictObject({
      issuer: z.url({ error: "must be an https URL" }),
      clientId: z.string().min(1),
      extraClaims: z.array(z.record(z.string(), z.unknown())).default([]),
      publishPermissions: z.array(z.string()).default([]),
      editPermissions: z.array(z.string()).default([]),
    })
    .optional(),
  seedFrom: z.string().min(1).optional(),
  github: z.strictObject({ clientId: z.string().min(1) }).optional(),
  resources: resources.optional(),
  /**
   * The category taxonomy publishers and administrators may use (YAML or JSON; registry-app README, "Categories
   * and tags"), relative to Pulumi.yaml. Absent: the registry's built-in categories. Checked at preview with the
   * registry's own rules, so a bad entry fails the preview instead of the pods.
   */
  categoriesFile: z.string().min(1).optional(),
  packageValidation: packageValidationSchema,
  /** The MCPServer controller (Kubernetes-native registration); MCPNamespaceGrants say which names each namespace gets. */
  controller: z
    .strictObject({
      enabled: z.boolean().default(true),
      /** Default: 2 on GKE (leader election keeps one active), 1 on Minikube. */
      replicas: positiveInt.optional(),
      /** Names the controller's registry identity may publish and edit: the union of everything grants may give. */
      permissions: z
        .array(
          z.string().regex(/^(\*|[A-Za-z0-9][A-Za-z0-9._/-]*\*?)$/, {
            error: 'must be "*", "prefix*" or an exact server name',
          }),
        )
        .min(1)
        .default(["*"]),
      resources: resources.optional(),
    })
    .default({ enabled: true, permissions: ["*"] }),
});

const databaseSchema = z.strictObject({
  instances: positiveInt,
  storageClass: z.string().min(1).optional(),
  storageSize,
  walStorageSize: storageSize.optional(),
  resources,
  synchronous: z
    .strictObject({ enabled: z.boolean(), method: z.literal("any"), number: positiveInt })
    .optional(),
  pooler: z.boolean(),
});

const backupSchema = z.strictObject({
  retentionDays: positiveInt,
  /** Base backup schedule (CloudNativePG ScheduledBackup). */
  schedule: cron,
  resticSchedule: cron,
  pruneSchedule: cron,
  checkSchedule: cron,
  drillSchedule: cron,
});

const monitoringSchema = z.strictObject({
  retention: duration,
  storageSize,
  alertmanagerStorageSize: storageSize.default("1Gi"),
  grafanaHost: hostname.optional(),
});

const objectStoreSchema = z.discriminatedUnion(
  "kind",
  [
    z.strictObject({
      kind: z.literal("minio"),
      storageSize,
      bucket: dnsLabel.default("backups"),
    }),
    z.strictObject({
      kind: z.literal("gcs"),
      /** Bucket location; a region, or a multi/dual-region such as EU. */
      location: z.string().min(2),
      softDeleteDays: z.number().int().min(7, { error: "must be 0 or between 7 and 90" }).max(90, {
        error: "must be 0 or between 7 and 90",
      }),
      noncurrentVersionDays: positiveInt,
      /** Objects older than this are deleted by the lifecycle rule (backups expire before). */
      deleteAfterDays: positiveInt,
    }),
  ],
  { error: "kind must be one of minio, gcs" },
);

const namespacesSchema = z
  .strictObject({
    /** Namespace of the platform's own workloads that are not third-party operators (MinIO locally). */
    platform: z.string().min(1).default("platform"),
  })
  .default({ platform: "platform" });

// Where Helm charts come from: their public repositories (default), a folder of `helm package` archives named
// <chart>-<version>.tgz, or an internal OCI registry holding <baseUrl>/<chart>:<version> (air-gapped sites).
const chartsSchema = z
  .strictObject({
    source: z.discriminatedUnion(
      "kind",
      [
        z.strictObject({ kind: z.literal("repository") }),
        z.strictObject({ kind: z.literal("directory"), path: z.string().min(1) }),
        z.strictObject({
          kind: z.literal("oci"),
          baseUrl: z.string().regex(/^oci:\/\/[a-z0-9.-]+(:[0-9]+)?(\/[A-Za-z0-9._-]+)*$/, {
            error: "must be an oci:// URL such as oci://europe-west1-docker.pkg.dev/<project>/charts",
          }),
        }),
      ],
      { error: "kind must be one of repository, directory, oci" },
    ),
  })
  .default({ source: { kind: "repository" } });

// Secret Manager versions SREs pinned after rotating a value (GKE stacks): secret id → version number. An id not
// listed reads the version Pulumi created. Pinning a new version restarts the workloads that read it at start-up.
const secretVersionsSchema = z
  .partialRecord(z.union([z.enum(SECRET_IDS), z.string().regex(PACKAGE_CREDENTIAL_ID)]), positiveInt, {
    error: `keys must be secret ids (${SECRET_IDS.join(", ")}, registry-package-credential-<n>), values version numbers`,
  })
  .default({});

// In-cluster guardrails: the ValidatingAdmissionPolicies twin of the pack's key pod rules either warn and audit
// (roll-out) or deny; production must deny.
const guardrailsSchema = z
  .strictObject({ admission: z.enum(["audit", "deny"]) })
  .default({ admission: "audit" });

/** Every plain (non-secret) key the program reads, with its schema. */
const keySchemas = {
  environment: environmentSchema,
  protectStatefulResources: z.boolean(),
  cluster: clusterSchema,
  gateway: gatewaySchema,
  registry: registrySchema,
  database: databaseSchema,
  backup: backupSchema,
  monitoring: monitoringSchema,
  objectStore: objectStoreSchema,
  namespaces: namespacesSchema,
  charts: chartsSchema,
  secretVersions: secretVersionsSchema,
  guardrails: guardrailsSchema,
} as const;

/** Keys that must be stored with `pulumi config set --secret`. */
export const secretKeys = ["githubClientSecret", "packageRegistryCredentials"] as const;
export type SecretKey = (typeof secretKeys)[number];

type KeySchemas = typeof keySchemas;
type Plain = { [K in keyof KeySchemas]: z.output<KeySchemas[K]> };

export type Environment = z.output<typeof environmentSchema>;
export type MinikubeClusterSettings = z.output<typeof minikubeClusterSchema>;
export type GkeClusterSettings = z.output<typeof gkeClusterSchema> & {
  /** From `gcp:project`. */
  project: string;
  /** From `gcp:region`. */
  region: string;
};
export type ClusterSettings = MinikubeClusterSettings | GkeClusterSettings;
export type GatewaySettings = Plain["gateway"];
export type RegistrySettings = Plain["registry"];
export type PackageValidationSettings = RegistrySettings["packageValidation"];
export type DatabaseSettings = Plain["database"];
export type BackupSettings = Plain["backup"];
export type MonitoringSettings = Plain["monitoring"];
export type ObjectStoreSettings = Plain["objectStore"];
export type ResourceSettings = z.output<typeof resources>;
export type ChartSettings = Plain["charts"];
export type SecretVersions = Plain["secretVersions"];
export type GuardrailSettings = Plain["guardrails"];

export interface Settings {
  readonly project: string;
  readonly stack: string;
  readonly environment: Environment;
  /** `protect: true` on stateful resources (buckets, KMS, cluster, database). */
  readonly protectStatefulResources: boolean;
  readonly cluster: Readonly<ClusterSettings>;
  readonly gateway: Readonly<GatewaySettings>;
  /** `categoriesFile`, when set, is absolute here and holds a taxonomy the registry accepts. */
  readonly registry: Readonly<RegistrySettings>;
  readonly database: Readonly<DatabaseSettings>;
  readonly backup: Readonly<BackupSettings>;
  readonly monitoring: Readonly<MonitoringSettings>;
  readonly objectStore: Readonly<ObjectStoreSettings>;
  readonly namespaces: Readonly<Plain["namespaces"]>;
  /** Where charts come from; a directory source's path is absolute here. */
  readonly charts: Readonly<ChartSettings>;
  /** Secret Manager versions pinned after rotations (GKE). */
  readonly secretVersions: Readonly<SecretVersions>;
  /** How the in-cluster admission guardrails act. */
  readonly guardrails: Readonly<GuardrailSettings>;
  /** Secret values; each is a secret Output, or undefined when the key is unset and optional. */
  readonly secrets: {
    readonly githubClientSecret: pulumi.Output<string> | undefined;
    /** Token or password per `registry.packageValidation.credentials[].url` (secret key packageRegistryCredentials). */
    readonly packageRegistryCredentials: Readonly<Record<string, pulumi.Output<string>>>;
  };
}

/** The configuration failed validation; `problems` holds one line per problem, each naming its key. */
export class SettingsError extends pulumi.RunError {
  constructor(readonly problems: readonly string[]) {
    super(
      `invalid stack configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n${problems.map((p) => `  ${p}`).join("\n")}`,
    );
    this.name = "SettingsError";
  }
}

// A secret-looking name: the last segment of a key path ends in one of these words.
const SECRET_NAME =
  /(secret|password|passwd|token|apikey|api_key|privatekey|private_key|credentials?|accesskey|access_key)$/i;

/** Source of raw configuration; the real one reads Pulumi config, tests may pass a plain map. */
export interface ConfigSource {
  /** Raw string values keyed `namespace:key`, as Pulumi delivers them (structured values as JSON). */
  readonly values: Readonly<Record<string, string>>;
  isSecret(fullKey: string): boolean;
  readonly stack: string;
}

export function pulumiConfigSource(): ConfigSource {
  // `isConfigSecret` is exported by the runtime but marked internal; without it every key reads as plain.
  const runtime = pulumi.runtime as unknown as { isConfigSecret?: (key: string) => boolean };
  return {
    values: pulumi.runtime.allConfig(),
    isSecret: (key) => runtime.isConfigSecret?.(key) ?? false,
    stack: pulumi.getStack(),
  };
}

/** Reads, validates and freezes the stack's settings; throws `SettingsError` listing every problem. */
export function loadSettings(source: ConfigSource = pulumiConfigSource()): Settings {
  const problems: string[] = [];
  const plain: Partial<Record<keyof KeySchemas, unknown>> = {};

  for (const key of Object.keys(keySchemas) as (keyof KeySchemas)[]) {
    const fullKey = `${PROJECT}:${key}`;
    const raw = source.values[fullKey];
    const value = raw === undefined ? undefined : decode(raw);
    const result = keySchemas[key].safeParse(value, { reportInput: true });
    if (result.success) {
      plain[key] = result.data;
    } else {
      for (const issue of result.error.issues)
        problems.push(`${keyPath(fullKey, issue.path)}: ${describeIssue(issue)}`);
    }
  }

  problems.push(...unknownKeyProblems(source));
  problems.push(...plaintextSecretProblems(source));

  const gcp = { project: source.values["gcp:project"], region: source.values["gcp:region"] };
  const cluster = plain.cluster as Plain["cluster"] | undefined;
  if (cluster?.kind === "gke") problems.push(...gcpProblems(cluster, gcp));
  const credentialValues = decodeCredentialSecrets(source.values[`${PROJECT}:packageRegistryCredentials`]);
  const chartSettings = plain.charts as Plain["charts"] | undefined;
  // An OCI chart source on GKE is the stack's own chart mirror, nothing else.
  if (
    cluster?.kind === "gke" &&
    chartSettings?.source.kind === "oci" &&
    gcp.project &&
    gcp.region &&
    isGcpRegion(gcp.region)
  ) {
    const expected = chartMirrorUrl(mirrorFor(gcp.project, gcp.region));
    if (chartSettings.source.baseUrl.replace(/\/+$/, "") !== expected)
      problems.push(`${PROJECT}:charts.source.baseUrl: must be the stack's chart mirror ${expected}`);
  }
  if (problems.length === 0) {
    problems.push(
      ...crossKeyProblems(plain as Plain, source.values[`${PROJECT}:githubClientSecret`] !== undefined),
      ...packageCredentialProblems(plain as Plain, credentialValues),
    );
  }
  if (problems.length > 0) throw new SettingsError(problems);

  const parsed = plain as Plain;
  const chartSource = parsed.charts.source;
  let charts = parsed.charts;
  if (chartSource.kind === "directory") {
    const folder = path.resolve(PROJECT_ROOT, chartSource.path);
    const found = archiveProblems(folder, Object.values(pinnedCharts));
    if (found.length > 0) throw new SettingsError(found.map((p) => `${PROJECT}:charts.source.path: ${p}`));
    charts = { source: { kind: "directory", path: folder } };
  }
  let registry = parsed.registry;
  if (registry.categoriesFile !== undefined) {
    const file = path.resolve(PROJECT_ROOT, registry.categoriesFile);
    try {
      loadTaxonomyFile(file);
    } catch (error) {
      if (!(error instanceof TaxonomyFileError)) throw error;
      throw new SettingsError(error.problems.map((p) => `${PROJECT}:registry.categoriesFile: ${p}`));
    }
    registry = { ...registry, categoriesFile: file };
  }
  const values = { ...parsed, charts, registry };
  const clusterSettings: ClusterSettings =
    values.cluster.kind === "gke"
      ? { ...values.cluster, project: gcp.project ?? "", region: gcp.region ?? "" }
      : values.cluster;

  const githubClientSecret = source.values[`${PROJECT}:githubClientSecret`];
  return deepFreeze({
    project: PROJECT,
    stack: source.stack,
    ...values,
    cluster: clusterSettings,
    secrets: {
      githubClientSecret: githubClientSecret === undefined ? undefined : pulumi.secret(githubClientSecret),
      packageRegistryCredentials: Object.fromEntries(
        Object.entries(credentialValues ?? {}).map(([url, value]) => [url, pulumi.secret(value)]),
      ),
    },
  });
}

function decode(raw: string): unknown {
  // Pulumi hands structured values over as JSON text and scalars as plain strings.
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

function keyPath(fullKey: string, path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (acc, segment) => (typeof segment === "number" ? `${acc}[${segment}]` : `${acc}.${String(segment)}`),
    fullKey,
  );
}

function describeIssue(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case "invalid_type":
      return issue.input === undefined ? "is required" : `must be ${article(issue.expected)}`;
    case "unrecognized_keys":
      return `unknown key${issue.keys.length === 1 ? "" : "s"} ${issue.keys.join(", ")}`;
    case "invalid_value":
      return issue.message.startsWith("Invalid")
        ? `must be one of ${issue.values.map(String).join(", ")}`
        : issue.message;
    case "too_small":
      return issue.message.startsWith("Too small")
        ? `must be at least ${String(issue.minimum)}`
        : issue.message;
    case "too_big":
      return issue.message.startsWith("Too big") ? `must be at most ${String(issue.maximum)}` : issue.message;
    default:
      return issue.message;
  }
}

function article(expected: string): string {
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}

function unknownKeyProblems(source: ConfigSource): string[] {
  const known = new Set<string>([...Object.keys(keySchemas), ...secretKeys]);
  return Object.keys(source.values)
    .filter((key) => key.startsWith(`${PROJECT}:`) && !known.has(key.slice(PROJECT.length + 1)))
    .map((key) => `${key}: unknown key (known keys: ${[...known].sort().join(", ")})`);
}

function plaintextSecretProblems(source: ConfigSource): string[] {
  const problems: string[] = [];
  for (const [key, raw] of Object.entries(source.values)) {
    if (!key.startsWith(`${PROJECT}:`) || source.isSecret(key)) continue;
    for (const path of secretLookingPaths(key, decode(raw))) {
      const name = path.slice(PROJECT.length + 1);
      const nested = path !== key;
      problems.push(
        `${path}: looks like a secret but is stored in plain text; set it with ` +
          `'pulumi config set --secret ${nested ? "--path " : ""}${name}'`,
      );
    }
  }
  return problems;
}

function secretLookingPaths(path: string, value: unknown): string[] {
  const found: string[] = [];
  const lastSegment =
    path
      .split(/[.:[\]]/)
      .filter(Boolean)
      .pop() ?? "";
  if (SECRET_NAME.test(lastSegment)) return [path];
  if (Array.isArray(value))
    value.forEach((item, i) => found.push(...secretLookingPaths(`${path}[${i}]`, item)));
  else if (value !== null && typeof value === "object") {
    for (const [child, v] of Object.entries(value)) found.push(...secretLookingPaths(`${path}.${child}`, v));
  }
  return found;
}

function gcpProblems(
  cluster: z.output<typeof gkeClusterSchema>,
  gcp: { project?: string; region?: string },
): string[] {
  const problems: string[] = [];
  if (!gcp.project)
    problems.push("gcp:project: is required for a GKE stack ('pulumi config set gcp:project <project-id>')");
  else if (!/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/.test(gcp.project))
    problems.push(`gcp:project: '${gcp.project}' is not a valid project ID`);
  if (!gcp.region)
    problems.push("gcp:region: is required for a GKE stack ('pulumi config set gcp:region <region>')");
  else if (!isGcpRegion(gcp.region)) problems.push(`gcp:region: unknown region '${gcp.region}'`);
  else {
    cluster.nodeZones.forEach((zone, i) => {
      if (!isZoneOfRegion(zone, gcp.region ?? "")) {
        problems.push(`${PROJECT}:cluster.nodeZones[${i}]: zone '${zone}' is not in region ${gcp.region}`);
      }
    });
  }
  return problems;
}

function crossKeyProblems(v: Plain, hasGithubSecret: boolean): string[] {
  const problems: string[] = [];
  const k = (key: string) => `${PROJECT}:${key}`;
  const local = v.environment === "local";

  if (local && v.cluster.kind !== "minikube")
    problems.push(`${k("cluster.kind")}: must be minikube for the local environment`);
  if (!local && v.cluster.kind !== "gke")
    problems.push(`${k("cluster.kind")}: must be gke for the ${v.environment} environment`);
  if (v.cluster.kind === "minikube" && v.objectStore.kind !== "minio")
    problems.push(`${k("objectStore.kind")}: must be minio on a minikube cluster`);
  if (v.cluster.kind === "gke" && v.objectStore.kind !== "gcs")
    problems.push(`${k("objectStore.kind")}: must be gcs on a gke cluster`);
  if (v.cluster.kind === "minikube" && Object.keys(v.secretVersions).length > 0)
    problems.push(
      `${k("secretVersions")}: applies to GKE stacks only (local keeps its secrets in stack config and Kubernetes Secrets)`,
    );
  if (v.environment === "production" && v.guardrails.admission !== "deny")
    problems.push(`${k("guardrails.admission")}: must be deny in production`);
  if (local && v.gateway.issuer !== "local-ca")
    problems.push(
      `${k("gateway.issuer")}: must be local-ca for the local environment (Let's Encrypt cannot reach Minikube)`,
    );
  if (!local && v.gateway.issuer === "local-ca")
    problems.push(`${k("gateway.issuer")}: must be letsencrypt-staging or letsencrypt-production on GKE`);
  if (v.gateway.issuer !== "local-ca" && v.gateway.acmeEmail === undefined)
    problems.push(`${k("gateway.acmeEmail")}: is required with a Let's Encrypt issuer`);
  if (v.environment === "production" && v.gateway.issuer !== "letsencrypt-production")
    problems.push(`${k("gateway.issuer")}: must be letsencrypt-production in production`);

  if (v.cluster.kind === "gke") {
    if (v.cluster.regional && v.cluster.nodeZones.length < 3)
      problems.push(`${k("cluster.nodeZones")}: a regional cluster needs at least 3 zones`);
    if (!v.cluster.regional && v.cluster.nodeZones.length !== 1)
      problems.push(`${k("cluster.nodeZones")}: a zonal cluster has exactly 1 zone`);
    if (v.cluster.nodePool.minNodesPerZone > v.cluster.nodePool.maxNodesPerZone)
      problems.push(`${k("cluster.nodePool.minNodesPerZone")}: must not exceed maxNodesPerZone`);
    if (v.environment === "production") {
      if (!v.cluster.regional) problems.push(`${k("cluster.regional")}: must be true in production`);
      if (!v.cluster.secretsEncryption)
        problems.push(`${k("cluster.secretsEncryption")}: must be true in production`);
      if (!v.cluster.deletionProtection)
        problems.push(`${k("cluster.deletionProtection")}: must be true in production`);
      if (!v.protectStatefulResources)
        problems.push(`${k("protectStatefulResources")}: must be true in production`);
    }
  }

  const covered = new Set(v.gateway.hosts);
  v.registry.hosts.forEach((host, i) => {
    if (!covered.has(host))
      problems.push(`${k(`registry.hosts[${i}]`)}: '${host}' is not one of gateway.hosts`);
  });
  if (v.monitoring.grafanaHost !== undefined && !covered.has(v.monitoring.grafanaHost))
    problems.push(
      `${k("monitoring.grafanaHost")}: '${v.monitoring.grafanaHost}' is not one of gateway.hosts`,
    );
  if (v.registry.hpa !== undefined) {
    if (v.registry.hpa.min > v.registry.hpa.max)
      problems.push(`${k("registry.hpa.min")}: must not exceed hpa.max`);
    if (v.registry.hpa.min < v.registry.replicas)
      problems.push(`${k("registry.hpa.min")}: must be at least registry.replicas`);
  }
  if (v.database.synchronous?.enabled && v.database.synchronous.number >= v.database.instances)
    problems.push(`${k("database.synchronous.number")}: must be less than database.instances`);
  // The bucket lifecycle is a safety net behind Barman's retention; expiring first would delete live backups.
  if (v.objectStore.kind === "gcs" && v.objectStore.deleteAfterDays <= v.backup.retentionDays)
    problems.push(
      `${k("objectStore.deleteAfterDays")}: must be greater than backup.retentionDays (${v.backup.retentionDays})`,
    );
  // CI promotes the exact image staging built; a tag could move between staging and production.
  if (
    v.cluster.kind === "gke" &&
    v.registry.image !== undefined &&
    !/@sha256:[a-f0-9]{64}$/.test(v.registry.image)
  )
    problems.push(
      `${k("registry.image")}: must be pinned by digest on GKE (<repository>/mcp-registry@sha256:<digest>), got '${v.registry.image}'`,
    );
  if (v.registry.github !== undefined && !hasGithubSecret) {
    problems.push(
      `${k("githubClientSecret")}: is required when registry.github is set ('pulumi config set --secret githubClientSecret <value>')`,
    );
  }
  return problems;
}

/** The packageRegistryCredentials secret: a JSON object of credential URL -> token or password; "invalid" otherwise. */
function decodeCredentialSecrets(raw: string | undefined): Record<string, string> | "invalid" | undefined {
  if (raw === undefined) return undefined;
  const value = decode(raw);
  if (value === null || typeof value !== "object" || Array.isArray(value)) return "invalid";
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.some(([, secret]) => typeof secret !== "string" || secret === "")) return "invalid";
  return Object.fromEntries(entries) as Record<string, string>;
}

/** Every credential has exactly one source of its secret; secret values never appear in a message. */
function packageCredentialProblems(
  v: Plain,
  values: Record<string, string> | "invalid" | undefined,
): string[] {
  const key = `${PROJECT}:registry.packageValidation`;
  const secretKey = `${PROJECT}:packageRegistryCredentials`;
  if (values === "invalid")
    return [`${secretKey}: must be a JSON object of credential URL -> token or password (non-empty strings)`];
  const problems: string[] = [];
  const credentials = v.registry.packageValidation.authenticatedRegistries;
  const wanted = new Set<string>();
  credentials.forEach((credential, i) => {
    if (credential.workloadIdentity) {
      if (credential.username !== undefined)
        problems.push(`${key}.authenticatedRegistries[${i}]: workloadIdentity takes no username`);
      if (v.cluster.kind !== "gke")
        problems.push(
          `${key}.authenticatedRegistries[${i}].workloadIdentity: needs a GKE cluster (Workload Identity)`,
        );
      return;
    }
    wanted.add(credential.url);
    if (values?.[credential.url] === undefined)
      problems.push(
        `${secretKey}: has no value for '${credential.url}' (registry.packageValidation.authenticatedRegistries[${i}]); ` +
          `'pulumi config set --secret packageRegistryCredentials '{"${credential.url}":"<token or password>"}''`,
      );
  });
  for (const url of Object.keys(values ?? {})) {
    if (!wanted.has(url))
      problems.push(
        `${secretKey}: '${url}' is not the url of a token or password entry in registry.packageValidation.authenticatedRegistries`,
      );
  }
  if (
    v.registry.packageValidation.artifactRegistryRepositories.length > 0 &&
    !credentials.some((c) => c.workloadIdentity)
  )
    problems.push(
      `${key}.artifactRegistryRepositories: needs an authenticatedRegistries entry with workloadIdentity: true`,
    );
  return problems;
}

function deepFreeze<T>(value: T): T {
  if (
    value !== null &&
    typeof value === "object" &&
    !pulumi.Output.isInstance(value) &&
    !Object.isFrozen(value)
  ) {
    Object.freeze(value);
    for (const child of Object.values(value as Record<string, unknown>)) deepFreeze(child);
  }
  return value;
}
