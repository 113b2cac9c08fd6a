// The MCP registry on Kubernetes, read top-down like the whiteboard picture:
// settings -> cluster -> platform services -> data (object store, database, backups) -> registry -> outputs.
import { GkeCluster } from "./cluster/gke";
import { MinikubeCluster } from "./cluster/minikube";
import type { Cluster } from "./cluster/types";
import { BACKUP_SERVICE_ACCOUNT, DATABASE_CLUSTER_NAME, REGISTRY_NAMESPACE } from "./data/naming";
import { PlatformServices } from "./platform";
import type { Platform } from "./platform/types";
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

// --- platform services (issue 5): cert-manager, Gateway API + NGINX Gateway Fabric, CNPG, K8up, monitoring ---
const platformServices = new PlatformServices("platform", {
  provider: cluster.provider,
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
});
export const platform: Platform = platformServices;

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
      });
/** Who reads and writes backups (contract in infra/storage/types.ts): the data section grants them access. */
export const backupConsumers: BackupConsumers = {
  database: { namespace: REGISTRY_NAMESPACE, serviceAccountName: DATABASE_CLUSTER_NAME },
  restic: { namespace: REGISTRY_NAMESPACE, serviceAccountName: BACKUP_SERVICE_ACCOUNT },
};

// --- data and registry (issue 6) ---

// --- outputs ---
export const environment = settings.environment;
export const kubeconfig = cluster.kubeconfig;
export const gatewayAddress = platform.gateway.address;
export const grafanaUrl = platform.monitoring.grafanaUrl;
export const grafanaAdminPassword = platformServices.grafanaAdminPassword;
export const localCaCertificate = platformServices.localCaCertificate;
export const backupLocation = objectStore.location;
export const imageRepository = cluster.imageRepository;
