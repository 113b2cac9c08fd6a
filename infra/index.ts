// The MCP registry on Kubernetes, read top-down like the whiteboard picture:
// settings -> cluster -> platform services -> data (object store, database, backups) -> registry -> outputs.
import { GkeCluster } from "./cluster/gke";
import { MinikubeCluster } from "./cluster/minikube";
import type { Cluster } from "./cluster/types";
import { Database } from "./data/database";
import { LogicalBackup } from "./data/logical-backup";
import {
  BACKUP_SERVICE_ACCOUNT,
  DATABASE_CLUSTER_NAME,
  REGISTRY_NAMESPACE,
  RESTORE_DRILL_NAMESPACE,
  SCRATCH_CLUSTER_NAME,
} from "./data/naming";
import { RestoreDrill } from "./data/restore-drill";
import { HardenedNamespace } from "./lib/namespace";
import { PLATFORM_NAMESPACES, PlatformServices } from "./platform";
import { ESO_NAMESPACE } from "./platform/external-secrets";
import { AdmissionGuardrails } from "./platform/guardrails";
import type { Platform } from "./platform/types";
import { REGISTRY_PORT, RegistryApp, SERVER_SELECTOR } from "./registry/app";
import {
  CONTROLLER_AUDIENCE,
  CONTROLLER_NAMESPACE,
  CONTROLLER_SERVICE_ACCOUNT,
  RegistryController,
} from "./registry/controller";
import { RegistryPackageIdentity } from "./registry/identity";
import { RegistryImage, imageSourceFor } from "./registry/image";
import { RegistryMonitoring } from "./registry/monitoring";
import { RegistryRoute } from "./registry/route";
import { RegistrySecrets } from "./registry/secrets";
import { KubernetesSecretStore } from "./secrets/kubernetes";
import { SecretManagerStore } from "./secrets/secret-manager";
import type { SecretStore } from "./secrets/types";
import { loadSettings } from "./settings";
import { GcsStore } from "./storage/gcs";
import { MinioStore } from "./storage/minio";
import type { BackupConsumers, BackupObjectStore } from "./storage/types";

// --- settings: the only place that reads config; fails here, before any resource, on bad config ---
const settings = loadSettings();

// --- cluster (issue 5): an existing Minikube context, or a private hardened GKE cluster ---
const gke = settings.cluster.kind === "gke" ? settings.cluster : undefined;
export const cluster: Cluster =
  settings.cluster.kind === "minikube"
    ? new MinikubeCluster("local", { settings: settings.cluster })
    : new GkeCluster(settings.environment, {
        settings: settings.cluster,
        protect: settings.protectStatefulResources,
        extraApis: settings.gateway.cloudDnsZone ? ["dns.googleapis.com"] : [],
      });

// --- in-cluster guardrails (issue 16): the pack's key pod rules as ValidatingAdmissionPolicies, in every namespace ---
new AdmissionGuardrails("guardrails", {
  provider: cluster.provider,
  environment: settings.environment,
  mode: settings.guardrails.admission,
  namespaces: [
    ...Object.values(PLATFORM_NAMESPACES),
    REGISTRY_NAMESPACE,
    RESTORE_DRILL_NAMESPACE,
    ...(settings.registry.controller.enabled ? [CONTROLLER_NAMESPACE] : []),
    ...(settings.objectStore.kind === "minio" ? [settings.namespaces.platform] : []),
    ...(gke ? [ESO_NAMESPACE] : []),
  ],
  dependsOn: cluster.ready,
});

// --- secrets (issue 16): Secret Manager synced by External Secrets Operator on GKE; Kubernetes Secrets locally ---
const secretManager = gke
  ? new SecretManagerStore("secrets", {
      provider: cluster.provider,
      project: gke.project,
      region: gke.region,
      workloadPool: cluster.workloadIdentity?.pool ?? "",
      chartSource: settings.charts.source,
      imageMirror: cluster.imageMirror,
      // The namespaces whose workloads read secrets: the registry (and its dumps), the drill, Grafana.
      consumerNamespaces: [REGISTRY_NAMESPACE, RESTORE_DRILL_NAMESPACE, PLATFORM_NAMESPACES.monitoring],
      versions: settings.secretVersions,
      replicas: 2,
      protect: settings.protectStatefulResources,
      dependsOn: cluster.ready,
    })
  : undefined;
const secrets: SecretStore = secretManager ?? new KubernetesSecretStore();

// --- platform services (issue 5): cert-manager, Gateway API + NGINX Gateway Fabric, CNPG, K8up, monitoring ---
const platformServices = new PlatformServices("platform", {
  provider: cluster.provider,
  chartSource: settings.charts.source,
  imageMirror: cluster.imageMirror,
  gateway: settings.gateway,
  monitoring: settings.monitoring,
  storageClass: cluster.storageClass,
  // Operators, webhooks, Prometheus and Alertmanager: one copy on a laptop, two wherever nodes can fail.
  replicas: cluster.kind === "gke" ? 2 : 1,
  workloadIdentity: cluster.workloadIdentity,
  staticIp: gke && { project: gke.project, region: gke.region, name: `${gke.name}-gateway` },
  routeNamespaces: [REGISTRY_NAMESPACE],
  protect: settings.protectStatefulResources,
  dependsOn: cluster.ready,
  secrets,
});
export const platform: Platform = platformServices;
secretManager?.operator.monitor(
  "secrets-operator-metrics",
  { selectorLabels: platform.monitoring.selectorLabels, dependsOn: platform.ready },
  cluster.provider,
);

// --- backup object store (issue 5): MinIO or GCS, behind BackupObjectStore ---
export const objectStore: BackupObjectStore =
  settings.objectStore.kind === "minio"
    ? new MinioStore("backups", {
        provider: cluster.provider,
        namespace: settings.namespaces.platform,
        storageClass: cluster.storageClass,
        storageSize: settings.objectStore.storageSize,
        bucket: settings.objectStore.bucket,
        dependsOn: cluster.ready,
      })
    : new GcsStore("backups", {
        provider: cluster.provider,
        project: gke?.project ?? "",
        environment: settings.environment,
        settings: settings.objectStore,
        workloadPool: cluster.workloadIdentity?.pool ?? "",
        protect: settings.protectStatefulResources,
        secrets,
      });
/** Who reads and writes backups (contract in infra/storage/types.ts): the data section grants them access. */
export const backupConsumers: BackupConsumers = {
  database: { namespace: REGISTRY_NAMESPACE, serviceAccountName: DATABASE_CLUSTER_NAME },
  restic: { namespace: REGISTRY_NAMESPACE, serviceAccountName: BACKUP_SERVICE_ACCOUNT },
};

// --- data and registry (issue 6): namespace, PostgreSQL with proven backups, the registry, its route and alerts ---
const registryNamespace = new HardenedNamespace("registry", {
  provider: cluster.provider,
  name: REGISTRY_NAMESPACE,
  podSecurity: "restricted",
  protect: settings.protectStatefulResources,
});
const inRegistryNamespace = { dependsOn: [registryNamespace] };
const regional = gke?.regional ?? false;
const database = new Database(
  "database",
  {
    provider: cluster.provider,
    namespace: registryNamespace.name,
    clusterName: DATABASE_CLUSTER_NAME,
    database: settings.database,
    backup: settings.backup,
    defaultStorageClass: cluster.storageClass,
    spreadAcrossZones: regional,
    backupAccess: objectStore.grantDatabaseAccess(
      "registry-db",
      backupConsumers.database,
      inRegistryNamespace,
    ),
    platform,
    clientSelectors: [{ "app.kubernetes.io/name": "registry" }],
    drillNamespace: RESTORE_DRILL_NAMESPACE,
    protect: settings.protectStatefulResources,
    imageMirror: cluster.imageMirror,
    secrets,
  },
  { dependsOn: [registryNamespace, ...cluster.ready] },
);
new LogicalBackup("logical-backup", {
  provider: cluster.provider,
  namespace: registryNamespace.name,
  name: "registry-db-dump",
  backup: settings.backup,
  restic: objectStore.grantResticAccess("registry-dump", backupConsumers.restic, inRegistryNamespace),
  platform,
});
const restoreDrill = new RestoreDrill("restore-drill", {
  provider: cluster.provider,
  namespace: RESTORE_DRILL_NAMESPACE,
  sourceCluster: DATABASE_CLUSTER_NAME,
  sourceNamespace: REGISTRY_NAMESPACE,
  scratchCluster: SCRATCH_CLUSTER_NAME,
  schedule: settings.backup.drillSchedule,
  backupAccess: (ns) =>
    objectStore.grantDatabaseAccess(
      "restore-drill",
      { namespace: ns.name, serviceAccountName: SCRATCH_CLUSTER_NAME, readOnly: true },
      { dependsOn: [ns] },
    ),
  readerPassword: database.drillReaderPassword,
  secrets,
  database: settings.database,
  storageClass: settings.database.storageClass ?? cluster.storageClass,
  platform,
  imageMirror: cluster.imageMirror,
});

const image = new RegistryImage("registry-image", {
  source: imageSourceFor(settings.registry, settings.cluster, cluster.imageRepository),
});
const registrySecrets = new RegistrySecrets(
  "registry-secrets",
  {
    provider: cluster.provider,
    namespace: registryNamespace.name,
    githubClientSecret: settings.secrets.githubClientSecret,
    packageRegistryCredentials: settings.secrets.packageRegistryCredentials,
    store: secrets,
  },
  inRegistryNamespace,
);
// Artifact Registry tokens for package verification, where a credential asks for Workload Identity.
const packageIdentity =
  cluster.workloadIdentity !== undefined &&
  settings.registry.packageValidation.authenticatedRegistries.some(
    (credential) => credential.workloadIdentity,
  )
    ? new RegistryPackageIdentity("registry-packages", {
        project: cluster.workloadIdentity.project,
        pool: cluster.workloadIdentity.pool,
        namespace: REGISTRY_NAMESPACE,
        serviceAccountName: "registry",
        repositories: settings.registry.packageValidation.artifactRegistryRepositories,
      })
    : undefined;
const controllerSettings = settings.registry.controller;
const registry = new RegistryApp("registry", {
  provider: cluster.provider,
  namespace: registryNamespace.name,
  image: image.ref,
  imagePullPolicy: image.pullPolicy,
  registry: settings.registry,
  database: {
    host: database.host,
    appSecretName: database.appSecretName,
    viaPooler: database.pooler !== undefined,
    podSelectors: database.endpointSelectors,
    readHost: database.readHost,
    readPodSelectors: database.readEndpointSelectors,
  },
  secrets: registrySecrets.refs,
  spreadAcrossZones: regional,
  platform,
  dependsOn: [registryNamespace, database.cluster, ...registrySecrets.ready, ...cluster.ready],
  googleServiceAccount: packageIdentity?.email,
  kubernetesAuth: controllerSettings.enabled
    ? {
        ...cluster.serviceAccountIssuer,
        audience: CONTROLLER_AUDIENCE,
        serviceAccounts: [`${CONTROLLER_NAMESPACE}/${CONTROLLER_SERVICE_ACCOUNT}`],
        permissions: controllerSettings.permissions,
        clientNamespaces: [CONTROLLER_NAMESPACE],
      }
    : undefined,
});
const route = new RegistryRoute("registry-route", {
  provider: cluster.provider,
  namespace: registryNamespace.name,
  hosts: settings.registry.hosts,
  serviceName: registry.serviceName,
  servicePort: REGISTRY_PORT,
  platform,
});
// --- Kubernetes-native registration (issue 15): MCPServer resources published by a controller ---
if (controllerSettings.enabled) {
  new RegistryController("registry-controller", {
    provider: cluster.provider,
    image: image.ref,
    imagePullPolicy: image.pullPolicy,
    replicas: controllerSettings.replicas ?? (cluster.kind === "gke" ? 2 : 1),
    registry: {
      namespace: REGISTRY_NAMESPACE,
      serviceName: registry.serviceName,
      port: REGISTRY_PORT,
      podSelector: SERVER_SELECTOR,
      publicUrl: `https://${settings.registry.hosts[0]}`,
    },
    publicIssuerDiscovery: cluster.serviceAccountIssuer.inCluster,
    platform,
    resources: controllerSettings.resources,
    protect: settings.protectStatefulResources,
    dependsOn: [registry.deployment, ...cluster.ready],
  });
}
new RegistryMonitoring("registry-monitoring", {
  provider: cluster.provider,
  namespace: registryNamespace.name,
  serviceSelector: SERVER_SELECTOR,
  portName: "http",
  // Base backups and drills run daily: alert when one is a day and a bit (backups) or two days (drill) late.
  alerts: {
    namespace: REGISTRY_NAMESPACE,
    service: registry.serviceName,
    databaseCluster: DATABASE_CLUSTER_NAME,
    drillNamespace: RESTORE_DRILL_NAMESPACE,
    drillCronJob: restoreDrill.cronJobName,
    drillMaxAgeHours: 50,
    backupMaxAgeHours: 26,
  },
  platform,
});

// --- outputs ---
export const environment = settings.environment;
export const kubeconfig = cluster.kubeconfig;
export const gatewayAddress = platform.gateway.address;
export const grafanaUrl = platform.monitoring.grafanaUrl;
export const grafanaAdminPassword = platformServices.grafanaAdminPassword;
export const localCaCertificate = platformServices.localCaCertificate;
export const backupLocation = objectStore.location;
export const imageRepository = cluster.imageRepository;
export const registryUrls = route.urls;
export const databaseCluster = database.clusterName;
export const registryImage = image.ref;
