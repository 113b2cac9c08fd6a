// Hand-built resources that satisfy every policy; each test weakens one field to see the policy catch it.
import { K8S } from "../../policies/src/core/kubernetes";
import { GCP } from "../../policies/src/data-protection";
import { resource, type Props } from "./support";

const DIGEST = `sha256:${"a".repeat(64)}`;
export const REGISTRY_IMAGE = `europe-west1-docker.pkg.dev/mcp-registry-staging/mcp/registry@${DIGEST}`;

export function hardenedContainer(name = "app", image = REGISTRY_IMAGE): Props {
  return {
    name,
    image,
    securityContext: {
      runAsNonRoot: true,
      runAsUser: 10001,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      privileged: false,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" },
    },
    resources: { requests: { cpu: "100m", memory: "256Mi" }, limits: { memory: "512Mi" } },
    readinessProbe: { httpGet: { path: "/readyz", port: 8080 } },
    livenessProbe: { httpGet: { path: "/livez", port: 8080 } },
    volumeMounts: [{ name: "tmp", mountPath: "/tmp" }],
  };
}

export function hardenedPodSpec(containers: Props[] = [hardenedContainer()]): Props {
  return {
    automountServiceAccountToken: false,
    securityContext: {
      runAsNonRoot: true,
      runAsUser: 10001,
      fsGroup: 10001,
      seccompProfile: { type: "RuntimeDefault" },
    },
    containers,
    volumes: [{ name: "tmp", emptyDir: { sizeLimit: "64Mi" } }],
    topologySpreadConstraints: [
      {
        maxSkew: 1,
        topologyKey: "topology.kubernetes.io/zone",
        whenUnsatisfiable: "ScheduleAnyway",
        labelSelector: { matchLabels: { app: "registry" } },
      },
    ],
  };
}

export const APP_LABELS = { "app.kubernetes.io/name": "registry", "app.kubernetes.io/component": "server" };

export function deploymentProps(podSpec: Props = hardenedPodSpec(), replicas = 2): Props {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "registry", namespace: "mcp-registry", labels: APP_LABELS },
    spec: {
      replicas,
      selector: { matchLabels: APP_LABELS },
      template: { metadata: { labels: APP_LABELS }, spec: podSpec },
    },
  };
}

export function deployment(podSpec?: Props, replicas?: number) {
  return resource(K8S.deployment, "registry", deploymentProps(podSpec, replicas));
}

export function cronJob(
  podSpec: Props = hardenedPodSpec(),
  metadata: Props = { name: "job", namespace: "mcp-registry" },
) {
  return resource(K8S.cronJob, "job", {
    metadata,
    spec: {
      schedule: "0 5 * * *",
      jobTemplate: { spec: { template: { spec: { ...podSpec, restartPolicy: "OnFailure" } } } },
    },
  });
}

export function namespace(name: string, protect = false) {
  return resource(K8S.namespace, `${name}-ns`, { metadata: { name } }, protect);
}

export function defaultDeny(ns: string) {
  return resource(K8S.networkPolicy, `${ns}-default-deny`, {
    metadata: { name: "default-deny", namespace: ns },
    spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] },
  });
}

export function appNetworkPolicy(ns = "mcp-registry", labels: Props = APP_LABELS) {
  return resource(K8S.networkPolicy, `${ns}-registry`, {
    metadata: { name: "registry", namespace: ns },
    spec: {
      podSelector: { matchLabels: labels },
      policyTypes: ["Ingress"],
      ingress: [{ ports: [{ port: 8080, protocol: "TCP" }] }],
    },
  });
}

export function pdb(ns = "mcp-registry", labels: Props = APP_LABELS, spec: Props = { maxUnavailable: 1 }) {
  return resource(K8S.pdb, "registry-pdb", {
    metadata: { name: "registry", namespace: ns },
    spec: { selector: { matchLabels: labels }, ...spec },
  });
}

export function gkeClusterProps(): Props {
  return {
    name: "mcp-staging",
    removeDefaultNodePool: true,
    initialNodeCount: 1,
    privateClusterConfig: {
      enablePrivateNodes: true,
      enablePrivateEndpoint: false,
      masterIpv4CidrBlock: "172.16.0.16/28",
    },
    masterAuthorizedNetworksConfig: {
      cidrBlocks: [{ cidrBlock: "198.51.100.0/24", displayName: "ops-vpn" }],
    },
    workloadIdentityConfig: { workloadPool: "mcp-registry-staging.svc.id.goog" },
    enableShieldedNodes: true,
    datapathProvider: "ADVANCED_DATAPATH",
    releaseChannel: { channel: "REGULAR" },
    enableLegacyAbac: false,
    masterAuth: { clientCertificateConfig: { issueClientCertificate: false } },
    databaseEncryption: {
      state: "ENCRYPTED",
      keyName: "projects/p/locations/europe-west1/keyRings/r/cryptoKeys/k",
    },
    deletionProtection: true,
  };
}

export function nodePoolProps(): Props {
  return {
    cluster: "mcp-staging",
    management: { autoRepair: true, autoUpgrade: true },
    nodeConfig: {
      machineType: "e2-standard-4",
      imageType: "COS_CONTAINERD",
      serviceAccount: "gke-nodes@mcp-registry-staging.iam.gserviceaccount.com",
      workloadMetadataConfig: { mode: "GKE_METADATA" },
      shieldedInstanceConfig: { enableSecureBoot: true, enableIntegrityMonitoring: true },
    },
  };
}

export const gkeCluster = (props: Props = gkeClusterProps()) => resource(GCP.gkeCluster, "cluster", props);
export const nodePool = (props: Props = nodePoolProps()) => resource(GCP.nodePool, "nodes", props);

export function bucketProps(): Props {
  return {
    name: "mcp-registry-backups",
    location: "EU",
    uniformBucketLevelAccess: true,
    publicAccessPrevention: "enforced",
    versioning: { enabled: true },
  };
}

export function cnpgCluster(name = "registry-db", ns = "mcp-registry", extra: Props = {}) {
  return resource(K8S.cnpgCluster, name, {
    metadata: { name, namespace: ns },
    spec: {
      instances: 3,
      plugins: [
        {
          name: "barman-cloud.cloudnative-pg.io",
          isWALArchiver: true,
          parameters: { barmanObjectName: "backups" },
        },
      ],
      ...extra,
    },
  });
}

export function objectStore(retentionPolicy: string | undefined = "30d", ns = "mcp-registry") {
  return resource(K8S.objectStore, "backups-store", {
    metadata: { name: "backups", namespace: ns },
    spec: {
      ...(retentionPolicy === undefined ? {} : { retentionPolicy }),
      configuration: { destinationPath: "gs://b/" },
    },
  });
}

export function scheduledBackup(cluster = "registry-db", ns = "mcp-registry", extra: Props = {}) {
  return resource(K8S.scheduledBackup, `${cluster}-backup`, {
    metadata: { name: `${cluster}-daily`, namespace: ns },
    spec: { schedule: "0 0 2 * * *", cluster: { name: cluster }, method: "plugin", ...extra },
  });
}

export function restoreDrill(of = "registry-db", extra: Props = {}) {
  return resource(K8S.cronJob, `${of}-drill`, {
    metadata: {
      name: `${of}-restore-drill`,
      namespace: "mcp-registry",
      labels: { "app.kubernetes.io/component": "restore-drill" },
      annotations: { "mcp-registry.io/drill-of": of },
    },
    spec: {
      schedule: "0 5 * * *",
      ...extra,
      jobTemplate: { spec: { template: { spec: hardenedPodSpec() } } },
    },
  });
}
