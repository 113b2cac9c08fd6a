// The `staging` and `production` cluster: a private, hardened GKE cluster in its own VPC, with a dedicated
// least-privilege node service account, an Artifact Registry repository for the registry image, and (in
// production) KMS-encrypted Secrets, deletion protection and `protect` on every stateful resource.
import * as gcp from "@pulumi/gcp";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { ImageMirror } from "../lib/mirror";
import type { GkeClusterSettings } from "../settings";
import { gkeContextName, gkeKubeconfig } from "./kubeconfig";
import { ArtifactMirrors } from "./mirrors";
import type { Cluster } from "./types";

export interface GkeClusterArgs {
  readonly settings: Readonly<GkeClusterSettings>;
  /** `protect: true` on the cluster, node pool, KMS key and repository. */
  readonly protect: boolean;
  /** Extra Google APIs the rest of the program needs (e.g. dns.googleapis.com for DNS-01). */
  readonly extraApis?: readonly string[];
}

/** Project roles of the node service account: logs, metrics and monitoring reads only (CIS GKE 5.2.1). */
export const NODE_SA_PROJECT_ROLES: readonly string[] = [
  "roles/logging.logWriter",
  "roles/monitoring.metricWriter",
  "roles/monitoring.viewer",
];
/** Granted on the registry's repository and the image mirrors only, so nodes can pull those images and nothing else. */
export const NODE_SA_REPOSITORY_ROLE = "roles/artifactregistry.reader";

/**
 * Webhook ports the private control plane must reach on the nodes beyond GKE's own 443/10250 rule:
 * CloudNativePG's admission webhook listens on 9443.
 */
export const CONTROL_PLANE_WEBHOOK_PORTS: readonly string[] = ["9443"];

/** KMS key rotation for Secrets encryption: 90 days. */
export const KMS_ROTATION_PERIOD = `${90 * 24 * 60 * 60}s`;

const BASE_APIS = [
  "compute.googleapis.com",
  "container.googleapis.com",
  "artifactregistry.googleapis.com",
  "iam.googleapis.com",
  "storage.googleapis.com",
  "cloudkms.googleapis.com",
];

export class GkeCluster extends pulumi.ComponentResource implements Cluster {
  readonly kind = "gke" as const;
  readonly provider: k8s.Provider;
  readonly kubeconfig: pulumi.Output<string>;
  readonly storageClass: string;
  readonly imageRepository: pulumi.Output<string>;
  readonly workloadIdentity: { readonly pool: string; readonly project: string };
  readonly ready: pulumi.Resource[];
  readonly cluster: gcp.container.Cluster;
  readonly nodePool: gcp.container.NodePool;
  readonly network: gcp.compute.Network;
  readonly subnetwork: gcp.compute.Subnetwork;
  readonly nodeServiceAccount: gcp.serviceaccount.Account;
  readonly repository: gcp.artifactregistry.Repository;
  readonly mirrors: ArtifactMirrors;
  readonly imageMirror: ImageMirror;
  /** The location (region or zone) of the control plane. */
  readonly location: string;
  readonly serviceAccountIssuer: { readonly issuer: string; readonly inCluster: false };

  constructor(name: string, args: GkeClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mcp-registry:cluster:Gke", name, {}, opts);
    const s = args.settings;
    const project = s.project;
    const region = s.region;
    const location = s.regional ? region : (s.nodeZones[0] ?? region);
    this.location = location;
    // GKE's issuer serves its discovery document and keys publicly.
    this.serviceAccountIssuer = {
      issuer: `https://container.googleapis.com/v1/projects/${project}/locations/${location}/clusters/${s.name}`,
      inCluster: false,
    };
    this.storageClass = s.storageClass;
    this.workloadIdentity = { pool: `${project}.svc.id.goog`, project };
    const child = { parent: this };
    const stateful = { parent: this, protect: args.protect };

    // Enabling the APIs first turns a half-applied first `pulumi up` into a clean one; never disabled on destroy.
    const apis = [...new Set([...BASE_APIS, ...(args.extraApis ?? [])])].map(
      (service) =>
        new gcp.projects.Service(
          `${name}-api-${service.split(".")[0]}`,
          { project, service, disableOnDestroy: false, disableDependentServices: false },
          child,
        ),
    );
    const afterApis = { parent: this, dependsOn: apis };

    // --- network: a dedicated VPC-native subnet with secondary ranges, and NAT because nodes have no public IP ---
    this.network = new gcp.compute.Network(
      `${name}-vpc`,
      { project, name: `${s.name}-vpc`, autoCreateSubnetworks: false, routingMode: "REGIONAL" },
      afterApis,
    );
    this.subnetwork = new gcp.compute.Subnetwork(
      `${name}-subnet`,
      {
        project,
        region,
        name: `${s.name}-nodes`,
        network: this.network.id,
        ipCidrRange: s.subnetCidr,
        privateIpGoogleAccess: true,
        secondaryIpRanges: [
          { rangeName: "pods", ipCidrRange: s.podsCidr },
          { rangeName: "services", ipCidrRange: s.servicesCidr },
        ],
        logConfig: {
          aggregationInterval: "INTERVAL_10_MIN",
          flowSampling: 0.5,
          metadata: "INCLUDE_ALL_METADATA",
        },
      },
      child,
    );
    const router = new gcp.compute.Router(
      `${name}-router`,
      { project, region, name: `${s.name}-router`, network: this.network.id },
      child,
    );
    new gcp.compute.RouterNat(
      `${name}-nat`,
      {
        project,
        region,
        name: `${s.name}-nat`,
        router: router.name,
        natIpAllocateOption: "AUTO_ONLY",
        sourceSubnetworkIpRangesToNat: "LIST_OF_SUBNETWORKS",
        subnetworks: [{ name: this.subnetwork.id, sourceIpRangesToNats: ["ALL_IP_RANGES"] }],
        logConfig: { enable: true, filter: "ERRORS_ONLY" },
      },
      child,
    );

    // --- Artifact Registry: the registry image, with cleanup so old builds do not pile up ---
    this.repository = new gcp.artifactregistry.Repository(
      `${name}-images`,
      {
        project,
        location: region,
        repositoryId: "mcp-registry",
        format: "DOCKER",
        description: "Images of the MCP registry, tagged by content hash.",
        // Tags are content hashes (infra/lib/content-hash.ts), so a tag never needs to move.
        dockerConfig: { immutableTags: true },
        cleanupPolicyDryRun: false,
        cleanupPolicies: [
          {
            id: "keep-recent",
            action: "KEEP",
            mostRecentVersions: { keepCount: s.artifactRegistry.keepRecentVersions },
          },
          {
            id: "delete-untagged",
            action: "DELETE",
            condition: {
              tagState: "UNTAGGED",
              olderThan: `${s.artifactRegistry.deleteUntaggedAfterDays * 24 * 60 * 60}s`,
            },
          },
        ],
      },
      { ...stateful, dependsOn: apis },
    );
    this.imageRepository = pulumi.interpolate`${region}-docker.pkg.dev/${project}/${this.repository.repositoryId}`;

    // --- node identity: a dedicated service account, never the Compute Engine default ---
    this.nodeServiceAccount = new gcp.serviceaccount.Account(
      `${name}-nodes`,
      { project, accountId: `${s.name}-nodes`.slice(0, 30), displayName: `GKE nodes of ${s.name}` },
      afterApis,
    );
    const nodeMember = pulumi.interpolate`serviceAccount:${this.nodeServiceAccount.email}`;
    const nodeRoles: pulumi.Resource[] = NODE_SA_PROJECT_ROLES.map(
      (role) =>
        new gcp.projects.IAMMember(
          `${name}-nodes-${role.split("/")[1]!.replace(/\./g, "-")}`,
          { project, role, member: nodeMember },
          child,
        ),
    );
    nodeRoles.push(
      new gcp.artifactregistry.RepositoryIamMember(
        `${name}-nodes-artifactregistry-reader`,
        {
          project,
          location: region,
          repository: this.repository.name,
          role: NODE_SA_REPOSITORY_ROLE,
          member: nodeMember,
        },
        child,
      ),
    );

    // Every third-party image comes through the project's own pull-through mirrors (infra/cluster/mirrors.ts).
    this.mirrors = new ArtifactMirrors(
      `${name}-mirrors`,
      {
        project,
        region,
        nodeMember,
        readerRole: NODE_SA_REPOSITORY_ROLE,
        protect: args.protect,
        dependsOn: apis,
      },
      child,
    );
    this.imageMirror = this.mirrors.mirror;
    nodeRoles.push(...this.mirrors.grants);

    // A private control plane reaches nodes only on 443 and 10250 unless a rule opens an operator's webhook port.
    new gcp.compute.Firewall(
      `${name}-webhooks`,
      {
        project,
        name: `${s.name}-control-plane-webhooks`,
        network: this.network.id,
        direction: "INGRESS",
        sourceRanges: [s.masterIpv4Cidr],
        targetServiceAccounts: [this.nodeServiceAccount.email],
        allows: [{ protocol: "tcp", ports: [...CONTROL_PLANE_WEBHOOK_PORTS] }],
        description: "GKE control plane to admission webhooks on the nodes",
      },
      child,
    );

    // --- Secrets encryption with a Cloud KMS key the GKE service agent may use ---
    const encryption = s.secretsEncryption
      ? this.secretsKey(name, s.name, project, region, stateful, apis)
      : undefined;

    const nodeConfig: gcp.types.input.container.ClusterNodeConfig = {
      machineType: s.nodePool.machineType,
      diskSizeGb: s.nodePool.diskSizeGb,
      diskType: s.nodePool.diskType,
      imageType: "COS_CONTAINERD",
      spot: s.nodePool.spot,
      serviceAccount: this.nodeServiceAccount.email,
      // Access is governed by the service account's IAM roles; the scope only lets those roles apply.
      oauthScopes: ["https://www.googleapis.com/auth/cloud-platform"],
      workloadMetadataConfig: { mode: "GKE_METADATA" },
      shieldedInstanceConfig: { enableSecureBoot: true, enableIntegrityMonitoring: true },
      metadata: { "disable-legacy-endpoints": "true" },
      labels: { "mcp-registry-environment": s.name },
    };

    this.cluster = new gcp.container.Cluster(
      `${name}-gke`,
      {
        project,
        name: s.name,
        location,
        network: this.network.id,
        subnetwork: this.subnetwork.id,
        networkingMode: "VPC_NATIVE",
        ipAllocationPolicy: { clusterSecondaryRangeName: "pods", servicesSecondaryRangeName: "services" },
        // The default pool only bootstraps the cluster; our own pool replaces it.
        removeDefaultNodePool: true,
        initialNodeCount: 1,
        nodeConfig,
        privateClusterConfig: {
          enablePrivateNodes: true,
          // The public endpoint stays, reachable only from masterAuthorizedNetworks (SRE VPN, CI runners).
          enablePrivateEndpoint: false,
          masterIpv4CidrBlock: s.masterIpv4Cidr,
          masterGlobalAccessConfig: { enabled: false },
        },
        masterAuthorizedNetworksConfig: {
          cidrBlocks: s.masterAuthorizedNetworks.map((n) => ({ displayName: n.name, cidrBlock: n.cidr })),
          gcpPublicCidrsAccessEnabled: false,
        },
        workloadIdentityConfig: { workloadPool: this.workloadIdentity.pool },
        datapathProvider: "ADVANCED_DATAPATH",
        enableShieldedNodes: true,
        enableLegacyAbac: false,
        masterAuth: { clientCertificateConfig: { issueClientCertificate: false } },
        releaseChannel: { channel: s.releaseChannel },
        maintenancePolicy: {
          recurringWindow: {
            startTime: s.maintenanceWindow.startTime,
            endTime: s.maintenanceWindow.endTime,
            recurrence: s.maintenanceWindow.recurrence,
          },
        },
        binaryAuthorization: { evaluationMode: "PROJECT_SINGLETON_POLICY_ENFORCE" },
        loggingConfig: { enableComponents: ["SYSTEM_COMPONENTS", "WORKLOADS"] },
        monitoringConfig: {
          enableComponents: ["SYSTEM_COMPONENTS"],
          managedPrometheus: { enabled: false },
        },
        securityPostureConfig: { mode: "BASIC", vulnerabilityMode: "VULNERABILITY_BASIC" },
        addonsConfig: {
          httpLoadBalancing: { disabled: false },
          horizontalPodAutoscaling: { disabled: false },
          gcePersistentDiskCsiDriverConfig: { enabled: true },
        },
        databaseEncryption: encryption
          ? { state: "ENCRYPTED", keyName: encryption.key.id }
          : { state: "DECRYPTED" },
        deletionProtection: s.deletionProtection,
      },
      {
        ...stateful,
        dependsOn: [...apis, ...nodeRoles, ...(encryption ? [encryption.grant] : [])],
        // The default pool's node_config is only used at creation; its removal must not trigger a replacement.
        ignoreChanges: ["nodeConfig", "initialNodeCount"],
      },
    );

    this.nodePool = new gcp.container.NodePool(
      `${name}-pool`,
      {
        project,
        name: "general",
        cluster: this.cluster.name,
        location,
        nodeLocations: s.regional ? [...s.nodeZones] : undefined,
        autoscaling: {
          minNodeCount: s.nodePool.minNodesPerZone,
          maxNodeCount: s.nodePool.maxNodesPerZone,
        },
        management: { autoRepair: true, autoUpgrade: true },
        upgradeSettings: { maxSurge: 1, maxUnavailable: 0 },
        nodeConfig,
      },
      { ...stateful, dependsOn: nodeRoles },
    );
    this.ready = [this.nodePool];

    const contextName = gkeContextName(project, location, s.name);
    this.kubeconfig = pulumi.secret(
      pulumi
        .all([this.cluster.endpoint, this.cluster.masterAuth])
        .apply(([endpoint, auth]) =>
          gkeKubeconfig({ contextName, endpoint, clusterCaCertificate: auth.clusterCaCertificate ?? "" }),
        ),
    );
    this.provider = new k8s.Provider(
      `${name}-k8s`,
      { kubeconfig: this.kubeconfig, enableServerSideApply: true },
      { parent: this, dependsOn: [this.nodePool] },
    );

    this.registerOutputs({
      clusterName: this.cluster.name,
      endpoint: this.cluster.endpoint,
      imageRepository: this.imageRepository,
      imageMirror: this.imageMirror.base,
      kubeconfig: this.kubeconfig,
    });
  }

  private secretsKey(
    name: string,
    clusterName: string,
    project: string,
    region: string,
    stateful: pulumi.CustomResourceOptions,
    apis: pulumi.Resource[],
  ): { key: gcp.kms.CryptoKey; grant: gcp.kms.CryptoKeyIAMMember } {
    const keyRing = new gcp.kms.KeyRing(
      `${name}-keyring`,
      { project, location: region, name: `${clusterName}-gke` },
      { ...stateful, dependsOn: apis },
    );
    const key = new gcp.kms.CryptoKey(
      `${name}-secrets-key`,
      {
        keyRing: keyRing.id,
        name: "gke-secrets",
        purpose: "ENCRYPT_DECRYPT",
        rotationPeriod: KMS_ROTATION_PERIOD,
        versionTemplate: { algorithm: "GOOGLE_SYMMETRIC_ENCRYPTION", protectionLevel: "SOFTWARE" },
      },
      stateful,
    );
    const projectNumber = gcp.organizations.getProjectOutput({ projectId: project }, { parent: this }).number;
    const grant = new gcp.kms.CryptoKeyIAMMember(
      `${name}-secrets-key-gke-agent`,
      {
        cryptoKeyId: key.id,
        role: "roles/cloudkms.cryptoKeyEncrypterDecrypter",
        member: pulumi.interpolate`serviceAccount:service-${projectNumber}@container-engine-robot.iam.gserviceaccount.com`,
      },
      { parent: this },
    );
    return { key, grant };
  }
}
