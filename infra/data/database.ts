// The registry's PostgreSQL: a CloudNativePG Cluster with WAL archiving and scheduled base backups to the
// object store through the Barman Cloud plugin, an optional PgBouncer Pooler, PodMonitors and NetworkPolicies.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { mirrorImage, type ImageMirror } from "../lib/mirror";
import { API_SERVER_PORTS } from "../lib/namespace";
import { appLabels } from "../lib/workload";
import type { SecretStore, SecretValue } from "../secrets/types";
import type { Platform } from "../platform/types";
import type { BackupSettings, DatabaseSettings } from "../settings";
import type { BackupAccess } from "../storage/types";
import { images } from "../versions";
import {
  DATABASE_NAME,
  DATABASE_OWNER,
  DRILL_READER_ROLE,
  INSTANCE_STATUS_PORT,
  PGBOUNCER_METRICS_PORT,
  POSTGRES_METRICS_PORT,
  POSTGRES_PORT,
  appSecretName,
  barmanRetention,
  cnpgSchedule,
  databaseServices,
  logicalDumpCommand,
} from "./naming";

type Labels = Readonly<Record<string, string>>;

export interface DatabaseArgs {
  readonly provider: k8s.Provider;
  readonly namespace: pulumi.Input<string>;
  /** CNPG cluster name; also the instance pods' service account name. */
  readonly clusterName: string;
  readonly database: Readonly<DatabaseSettings>;
  readonly backup: Readonly<BackupSettings>;
  /** StorageClass when `database.storageClass` is unset (the cluster's default class). */
  readonly defaultStorageClass: string;
  /** Spread instances across zones (required anti-affinity on the zone label); across nodes otherwise. */
  readonly spreadAcrossZones: boolean;
  /** Where WAL and base backups go, with credentials valid in `namespace`. */
  readonly backupAccess: BackupAccess;
  readonly platform: Pick<Platform, "cnpg" | "monitoring" | "namespaces" | "ready">;
  /** Pods (in `namespace`) allowed to connect to PostgreSQL or the pooler, e.g. the registry and its migration Job. */
  readonly clientSelectors: readonly Labels[];
  /** Namespace whose pods may read the database as the drill reader role (the restore drill). */
  readonly drillNamespace: string;
  readonly protect: boolean;
  /** Pull the PostgreSQL and PgBouncer images through these mirrors (GKE); from their upstreams otherwise. */
  readonly imageMirror?: ImageMirror;
  /** Where the drill reader's password is kept (infra/secrets). */
  readonly secrets: SecretStore;
}

/** Validates the arguments before any resource exists; one message naming the bad field. */
export function validateDatabaseArgs(args: DatabaseArgs): void {
  const { database } = args;
  if (args.clientSelectors.length === 0)
    throw new Error("Database: clientSelectors must name at least one client of the database");
  if (database.synchronous?.enabled && database.synchronous.number >= database.instances)
    throw new Error("database.synchronous.number: must be less than database.instances");
  if (args.spreadAcrossZones && database.instances < 2)
    throw new Error("database.instances: spreading across zones needs at least 2 instances");
  barmanRetention(args.backup.retentionDays);
  cnpgSchedule(args.backup.schedule);
}

export class Database extends pulumi.ComponentResource {
  readonly clusterName: string;
  /** Host the application connects to: the pooler in front of the primary when enabled, else the rw service. */
  readonly host: string;
  /** Secret (in the database namespace) with the owner's `username` and `password` (created by CNPG). */
  readonly appSecretName: string;
  readonly objectStoreName: string;
  /** Password of the read-only drill reader role, as stored (the restore drill builds its own Secret from it). */
  readonly drillReaderPassword: SecretValue;
  readonly cluster: k8s.apiextensions.CustomResource;
  /** Labels of the pods behind `host` (pooler or instances), for clients' egress policies. */
  readonly endpointSelectors: Labels[];
  /** The standbys' read-only service (CNPG `-ro`) when the cluster has standbys; reads from it may lag. */
  readonly readHost: string | undefined;
  /** Labels of the pods behind `readHost` (instances: a standby's role moves with failovers). */
  readonly readEndpointSelectors: Labels[];
  readonly pooler: k8s.apiextensions.CustomResource | undefined;

  constructor(name: string, args: DatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mcp-registry:data:Database", name, {}, opts);
    validateDatabaseArgs(args);
    const { provider, namespace, database, backup, clusterName } = args;
    const child = { parent: this, provider };
    const crd = { ...child, dependsOn: args.platform.ready };
    const labels = appLabels(clusterName, "database");
    const services = databaseServices(clusterName);
    this.clusterName = clusterName;
    this.appSecretName = appSecretName(clusterName);
    this.objectStoreName = `${clusterName}-backups`;

    const readerPassword = new random.RandomPassword(
      `${name}-drill-reader`,
      { length: 40, special: false },
      { parent: this },
    );
    this.drillReaderPassword = args.secrets.value(
      "database-drill-reader-password",
      pulumi.secret(readerPassword.result),
      child,
    );
    const readerSecretName = `${clusterName}-drill-reader`;
    // `cnpg.io/reload`: CloudNativePG resets the role's password whenever this Secret changes (a rotation).
    const readerSecret = args.secrets.secret(
      `${name}-drill-reader`,
      {
        namespace,
        name: readerSecretName,
        type: "kubernetes.io/basic-auth",
        labels: { ...labels, "cnpg.io/reload": "true" },
        data: { username: DRILL_READER_ROLE, password: this.drillReaderPassword },
      },
      child,
    );

    new k8s.apiextensions.CustomResource(
      `${name}-object-store`,
      {
        apiVersion: "barmancloud.cnpg.io/v1",
        kind: "ObjectStore",
        metadata: { name: this.objectStoreName, namespace, labels },
        spec: objectStoreSpec(args.backupAccess, barmanRetention(backup.retentionDays)),
      },
      crd,
    );

    const storageClass = database.storageClass ?? args.defaultStorageClass;
    this.cluster = new k8s.apiextensions.CustomResource(
      `${name}-cluster`,
      {
        apiVersion: "postgresql.cnpg.io/v1",
        kind: "Cluster",
        metadata: { name: clusterName, namespace, labels },
        spec: clusterSpec({
          args,
          storageClass,
          objectStoreName: this.objectStoreName,
          readerSecretName,
          labels,
        }),
      },
      { ...crd, dependsOn: [...args.platform.ready, readerSecret.resource], protect: args.protect },
    );

    new k8s.apiextensions.CustomResource(
      `${name}-scheduled-backup`,
      {
        apiVersion: "postgresql.cnpg.io/v1",
        kind: "ScheduledBackup",
        metadata: { name: `${clusterName}-daily`, namespace, labels },
        spec: {
          schedule: cnpgSchedule(backup.schedule),
          // A base backup right away, so PITR and the restore drill work from the first day.
          immediate: true,
          backupOwnerReference: "self",
          cluster: { name: clusterName },
          method: "plugin",
          pluginConfiguration: { name: args.platform.cnpg.barmanPluginName },
        },
      },
      { ...crd, dependsOn: [...args.platform.ready, this.cluster] },
    );

    const monitor = (suffix: string, selector: Labels, port: string) =>
      new k8s.apiextensions.CustomResource(
        `${name}-${suffix}-pod-monitor`,
        {
          apiVersion: "monitoring.coreos.com/v1",
          kind: "PodMonitor",
          metadata: {
            name: `${clusterName}-${suffix}`,
            namespace,
            labels: { ...labels, ...args.platform.monitoring.selectorLabels },
          },
          spec: { selector: { matchLabels: { ...selector } }, podMetricsEndpoints: [{ port }] },
        },
        crd,
      );
    const instanceSelector = { "cnpg.io/cluster": clusterName };
    monitor("instances", { ...instanceSelector, "cnpg.io/podRole": "instance" }, "metrics");

    this.pooler = undefined;
    this.host = services.rw;
    this.endpointSelectors = [{ ...instanceSelector, "cnpg.io/podRole": "instance" }];
    // Direct, not through a pooler: reads keep prepared statements, and -ro spreads connections.
    this.readHost = database.instances > 1 ? services.ro : undefined;
    this.readEndpointSelectors = this.readHost === undefined ? [] : [...this.endpointSelectors];
    if (database.pooler) {
      const poolerName = services.pooler;
      this.pooler = new k8s.apiextensions.CustomResource(
        `${name}-pooler`,
        {
          apiVersion: "postgresql.cnpg.io/v1",
          kind: "Pooler",
          metadata: { name: poolerName, namespace, labels },
          spec: {
            cluster: { name: clusterName },
            instances: Math.max(2, Math.min(database.instances, 3)),
            type: "rw",
            pgbouncer: {
              // Transaction pooling: the registry holds no session state across statements.
              poolMode: "transaction",
              parameters: { max_client_conn: "500", default_pool_size: "20" },
            },
            template: {
              metadata: { labels: { ...labels, "app.kubernetes.io/component": "database-pooler" } },
              spec: {
                containers: [
                  {
                    name: "pgbouncer",
                    image: mirrorImage(images.pgbouncer, args.imageMirror),
                    resources: {
                      requests: { cpu: "50m", memory: "64Mi" },
                      limits: { cpu: "500m", memory: "256Mi" },
                    },
                  },
                ],
                topologySpreadConstraints: [
                  {
                    maxSkew: 1,
                    topologyKey: args.spreadAcrossZones
                      ? "topology.kubernetes.io/zone"
                      : "kubernetes.io/hostname",
                    whenUnsatisfiable: "ScheduleAnyway",
                    labelSelector: { matchLabels: { "cnpg.io/poolerName": poolerName } },
                  },
                ],
              },
            },
          },
        },
        { ...crd, dependsOn: [...args.platform.ready, this.cluster] },
      );
      this.host = poolerName;
      this.endpointSelectors = [{ "cnpg.io/poolerName": poolerName }];
      monitor("pooler", { "cnpg.io/poolerName": poolerName }, "metrics");
    }

    this.networkPolicies(name, args, child);

    this.registerOutputs({ clusterName, host: this.host, objectStoreName: this.objectStoreName });
  }

  private networkPolicies(
    name: string,
    args: DatabaseArgs,
    child: { parent: pulumi.Resource; provider: k8s.Provider },
  ): void {
    const { namespace, clusterName } = args;
    const instances = { "cnpg.io/cluster": clusterName, "cnpg.io/podRole": "instance" };
    const tcp = (port: number) => ({ protocol: "TCP", port });
    const fromNamespace = (ns: string) => ({
      namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": ns } },
    });
    const clients = args.clientSelectors.map((selector) => ({
      podSelector: { matchLabels: { ...selector } },
    }));
    const monitoring = fromNamespace(args.platform.monitoring.namespace);

    new k8s.networking.v1.NetworkPolicy(
      `${name}-instances`,
      {
        metadata: { name: `${clusterName}-instances`, namespace },
        spec: {
          podSelector: { matchLabels: instances },
          policyTypes: ["Ingress", "Egress"],
          ingress: [
            // Streaming replication and the instance manager's status endpoint, between instances.
            {
              from: [{ podSelector: { matchLabels: instances } }],
              ports: [tcp(POSTGRES_PORT), tcp(INSTANCE_STATUS_PORT)],
            },
            // The operator polls each instance's status endpoint.
            { from: [fromNamespace(args.platform.namespaces.cnpg)], ports: [tcp(INSTANCE_STATUS_PORT)] },
            {
              from: [
                ...clients,
                ...(args.database.pooler
                  ? [
                      {
                        podSelector: {
                          matchLabels: { "cnpg.io/poolerName": databaseServices(clusterName).pooler },
                        },
                      },
                    ]
                  : []),
                // The restore drill compares row counts of the source with its restore.
                fromNamespace(args.drillNamespace),
              ],
              ports: [tcp(POSTGRES_PORT)],
            },
            { from: [monitoring], ports: [tcp(POSTGRES_METRICS_PORT)] },
          ],
          egress: [
            {
              to: [{ podSelector: { matchLabels: instances } }],
              ports: [tcp(POSTGRES_PORT), tcp(INSTANCE_STATUS_PORT)],
            },
            // The instance manager watches its Cluster through the API server.
            { ports: API_SERVER_PORTS.map(tcp) },
            // WAL archiving and base backups: the store names what its consumers need (MinIO, or GCS plus the
            // GKE metadata server that Workload Identity tokens come from).
            ...args.backupAccess.egress,
          ],
        },
      },
      child,
    );

    if (args.database.pooler) {
      const poolerName = databaseServices(clusterName).pooler;
      new k8s.networking.v1.NetworkPolicy(
        `${name}-pooler`,
        {
          metadata: { name: poolerName, namespace },
          spec: {
            podSelector: { matchLabels: { "cnpg.io/poolerName": poolerName } },
            policyTypes: ["Ingress", "Egress"],
            ingress: [
              { from: clients, ports: [tcp(POSTGRES_PORT)] },
              { from: [monitoring], ports: [tcp(PGBOUNCER_METRICS_PORT)] },
            ],
            egress: [
              { to: [{ podSelector: { matchLabels: instances } }], ports: [tcp(POSTGRES_PORT)] },
              { ports: API_SERVER_PORTS.map(tcp) },
            ],
          },
        },
        child,
      );
    }
  }
}

/** The ObjectStore `spec` for an access: S3 keys from a Secret, or GKE Workload Identity for gs:// paths. */
export function objectStoreSpec(access: BackupAccess, retentionPolicy: string): Record<string, unknown> {
  const credentials =
    access.auth.kind === "s3-secret"
      ? {
          s3Credentials: {
            accessKeyId: { name: access.auth.secretName, key: access.auth.accessKeyIdKey },
            secretAccessKey: { name: access.auth.secretName, key: access.auth.secretAccessKeyKey },
          },
        }
      : { googleCredentials: { gkeEnvironment: true } };
  return {
    retentionPolicy,
    configuration: {
      destinationPath: access.destinationPath,
      ...(access.endpointUrl === undefined ? {} : { endpointURL: access.endpointUrl }),
      ...credentials,
      wal: { compression: "gzip", maxParallel: 2 },
      data: { compression: "gzip", jobs: 2 },
    },
    instanceSidecarConfiguration: {
      resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "500m", memory: "256Mi" } },
    },
  };
}

interface ClusterSpecInput {
  readonly args: DatabaseArgs;
  readonly storageClass: string;
  readonly objectStoreName: string;
  readonly readerSecretName: string;
  readonly labels: Labels;
}

function clusterSpec(input: ClusterSpecInput): Record<string, unknown> {
  const { args, storageClass, objectStoreName, readerSecretName } = input;
  const { database } = args;
  const workloadIdentity =
    args.backupAccess.auth.kind === "workload-identity" ? args.backupAccess.auth.annotations : undefined;
  return {
    instances: database.instances,
    imageName: mirrorImage(images.postgres, args.imageMirror),
    primaryUpdateStrategy: "unsupervised",
    enableSuperuserAccess: false,
    postgresql: {
      parameters: { "pg_stat_statements.track": "top", log_min_duration_statement: "1000" },
      ...(database.synchronous?.enabled
        ? {
            // Quorum commit: a commit waits for `number` of the standbys, whichever answer first.
            synchronous: {
              method: database.synchronous.method,
              number: database.synchronous.number,
              dataDurability: "required",
            },
          }
        : {}),
    },
    bootstrap: {
      initdb: {
        database: DATABASE_NAME,
        owner: DATABASE_OWNER,
        // The registry's search uses trigram indexes; the extension is created by a superuser here.
        postInitApplicationSQL: ["CREATE EXTENSION IF NOT EXISTS pg_trgm"],
      },
    },
    managed: {
      roles: [
        {
          name: DRILL_READER_ROLE,
          ensure: "present",
          login: true,
          inRoles: ["pg_read_all_data"],
          connectionLimit: 4,
          passwordSecret: { name: readerSecretName },
        },
      ],
    },
    storage: { size: database.storageSize, storageClass },
    ...(database.walStorageSize === undefined
      ? {}
      : { walStorage: { size: database.walStorageSize, storageClass } }),
    resources: {
      requests: { ...database.resources.requests },
      limits: { ...database.resources.limits },
    },
    affinity: {
      enablePodAntiAffinity: true,
      topologyKey: args.spreadAcrossZones ? "topology.kubernetes.io/zone" : "kubernetes.io/hostname",
      podAntiAffinityType: args.spreadAcrossZones ? "required" : "preferred",
    },
    // The PodMonitor is declared next to the cluster, with the labels this Prometheus selects (CloudNativePG's own
    // `monitoring.enablePodMonitor` is deprecated in 1.30 and off by default, so it is left unset).
    plugins: [
      {
        name: args.platform.cnpg.barmanPluginName,
        isWALArchiver: true,
        parameters: { barmanObjectName: objectStoreName },
      },
    ],
    // K8up's application-aware backup runs this in one instance's postgres container and stores stdout.
    inheritedMetadata: {
      labels: { "app.kubernetes.io/part-of": "mcp-registry" },
      annotations: {
        "k8up.io/backupcommand": logicalDumpCommand(),
        "k8up.io/file-extension": ".sql",
        "k8up.io/backupcommand-container": "postgres",
      },
    },
    ...(workloadIdentity === undefined
      ? {}
      : { serviceAccountTemplate: { metadata: { annotations: workloadIdentity } } }),
  };
}
