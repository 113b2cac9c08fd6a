// GKE: private nodes, authorized networks, Workload Identity, shielded nodes, Dataplane V2, a release channel,
// no legacy auth, node auto-repair/upgrade, KMS secrets encryption and deletion protection, and a dedicated
// node service account.
import { resourcePolicy, type Subject } from "./core/policy";
import { list, listAt, rec, recAt, str, strAt, type Props } from "./core/values";
import { GCP } from "./data-protection";

const GKE = [GCP.gkeCluster, GCP.nodePool];

interface NodeConfig {
  /** "node pool X", "the default node pool", "nodePools[0]". */
  readonly where: string;
  readonly config: Props | undefined;
  readonly pool: Props | undefined;
}

/** The node configurations a resource defines: a NodePool's own, or a cluster's default and inline pools. */
export function nodeConfigs(resource: Subject): NodeConfig[] {
  if (resource.type === GCP.nodePool) {
    return [
      {
        where: `node pool ${resource.name}`,
        config: recAt(resource.props, "nodeConfig"),
        pool: resource.props,
      },
    ];
  }
  const result: NodeConfig[] = [];
  if (resource.props.removeDefaultNodePool !== true && list(resource.props.nodePools).length === 0) {
    result.push({
      where: "the default node pool",
      config: recAt(resource.props, "nodeConfig"),
      pool: undefined,
    });
  }
  listAt(resource.props, "nodePools").forEach((pool, i) => {
    result.push({
      where: `nodePools[${i}] (${strAt(pool, "name") ?? "unnamed"})`,
      config: recAt(pool, "nodeConfig"),
      pool: rec(pool),
    });
  });
  return result;
}

export const privateNodes = resourcePolicy({
  name: "gke-private-nodes",
  description:
    "GKE nodes have no public IPs: the cluster sets privateClusterConfig.enablePrivateNodes true and no node pool " +
    "turns private nodes off (networkConfig.enablePrivateNodes false).",
  severity: "critical",
  category: "security",
  remediationSteps:
    "Set privateClusterConfig: {enablePrivateNodes: true, masterIpv4CidrBlock} and give nodes egress through Cloud NAT.",
  controls: [
    { source: "checkov", id: "CKV_GCP_25" },
    { source: "checkov", id: "CKV_GCP_64" },
    { source: "CIS GKE", id: "5.6.5 Ensure clusters are created with Private Nodes" },
  ],
  appliesTo: GKE,
  validate: ({ resource, report }) => {
    if (
      resource.type === GCP.gkeCluster &&
      recAt(resource.props, "privateClusterConfig")?.enablePrivateNodes !== true
    ) {
      report("privateClusterConfig.enablePrivateNodes is not true (nodes get public IPs)");
    }
    const pools =
      resource.type === GCP.nodePool ? [resource.props] : listAt(resource.props, "nodePools").map(rec);
    pools.forEach((pool, i) => {
      if (recAt(pool, "networkConfig")?.enablePrivateNodes === false) {
        report(
          `${resource.type === GCP.nodePool ? `node pool ${resource.name}` : `nodePools[${i}]`} sets networkConfig.enablePrivateNodes false`,
        );
      }
    });
  },
});

export const masterAuthorizedNetworks = resourcePolicy({
  name: "gke-master-authorized-networks",
  description:
    "The control plane accepts connections only from configured networks: masterAuthorizedNetworksConfig lists " +
    "at least one CIDR, none of them 0.0.0.0/0, and Google Cloud public IPs are not allowed in.",
  severity: "high",
  category: "security",
  remediationSteps:
    "Set masterAuthorizedNetworksConfig.cidrBlocks to the operators' and CI's networks (cluster.masterAuthorizedNetworks).",
  controls: [
    { source: "checkov", id: "CKV_GCP_20" },
    { source: "CIS GKE", id: "5.6.3 Ensure Control Plane Authorized Networks is Enabled" },
  ],
  appliesTo: [GCP.gkeCluster],
  validate: ({ resource, report }) => {
    const config = recAt(resource.props, "masterAuthorizedNetworksConfig");
    const blocks = list(config?.cidrBlocks).map((b) => strAt(b, "cidrBlock") ?? "");
    if (config === undefined || blocks.length === 0)
      report("masterAuthorizedNetworksConfig has no cidrBlocks");
    for (const block of blocks)
      if (block === "0.0.0.0/0") report("masterAuthorizedNetworksConfig allows 0.0.0.0/0");
    if (config?.gcpPublicCidrsAccessEnabled === true)
      report("masterAuthorizedNetworksConfig.gcpPublicCidrsAccessEnabled is true");
  },
});

export const workloadIdentity = resourcePolicy({
  name: "gke-workload-identity",
  description:
    "Workload Identity is on: the cluster sets workloadIdentityConfig.workloadPool and every node configuration " +
    "runs the GKE metadata server (workloadMetadataConfig.mode GKE_METADATA), hiding the node's credentials.",
  severity: "high",
  category: "security",
  remediationSteps:
    'Set workloadIdentityConfig: {workloadPool: "<project>.svc.id.goog"} on the cluster and ' +
    'nodeConfig.workloadMetadataConfig: {mode: "GKE_METADATA"} on every node pool.',
  controls: [
    { source: "checkov", id: "CKV_GCP_69" },
    { source: "CIS GKE", id: "5.2.2 Prefer using dedicated GCP Service Accounts and Workload Identity" },
  ],
  appliesTo: GKE,
  validate: ({ resource, report }) => {
    if (resource.type === GCP.gkeCluster) {
      const pool = strAt(resource.props, "workloadIdentityConfig", "workloadPool");
      if (pool === undefined || pool === "") report("workloadIdentityConfig.workloadPool is not set");
    }
    for (const node of nodeConfigs(resource)) {
      const mode = strAt(node.config, "workloadMetadataConfig", "mode");
      if (mode !== "GKE_METADATA")
        report(`${node.where} runs with workloadMetadataConfig.mode ${mode ?? "unset"}, not GKE_METADATA`);
    }
  },
});

export const shieldedNodes = resourcePolicy({
  name: "gke-shielded-nodes",
  description:
    "Shielded GKE nodes with secure boot: the cluster does not turn enableShieldedNodes off (the provider's " +
    "default is on) and every node configuration sets shieldedInstanceConfig.enableSecureBoot true and keeps " +
    "integrity monitoring on.",
  severity: "high",
  category: "security",
  remediationSteps:
    "Set enableShieldedNodes: true on the cluster and nodeConfig.shieldedInstanceConfig: {enableSecureBoot: true, " +
    "enableIntegrityMonitoring: true} on every node pool.",
  controls: [
    { source: "checkov", id: "CKV_GCP_71" },
    { source: "checkov", id: "CKV_GCP_68" },
    { source: "checkov", id: "CKV_GCP_72" },
    { source: "CIS GKE", id: "5.5.5 Ensure Shielded GKE Nodes are Enabled" },
    { source: "CIS GKE", id: "5.5.7 Ensure Secure Boot for Shielded GKE Nodes is Enabled" },
  ],
  appliesTo: GKE,
  validate: ({ resource, report }) => {
    if (resource.type === GCP.gkeCluster && resource.props.enableShieldedNodes === false) {
      report("enableShieldedNodes is false");
    }
    for (const node of nodeConfigs(resource)) {
      const shielded = recAt(node.config, "shieldedInstanceConfig");
      if (shielded?.enableSecureBoot !== true) report(`${node.where} does not enable secure boot`);
      if (shielded?.enableIntegrityMonitoring === false)
        report(`${node.where} disables integrity monitoring`);
    }
  },
});

export const dataplaneV2 = resourcePolicy({
  name: "gke-network-policy-enforcement",
  description:
    "NetworkPolicies are enforced: the cluster uses Dataplane V2 (datapathProvider ADVANCED_DATAPATH) or, on the " +
    "legacy dataplane, networkPolicy.enabled true.",
  severity: "high",
  category: "security",
  remediationSteps:
    'Set datapathProvider: "ADVANCED_DATAPATH" on the cluster (Dataplane V2 enforces NetworkPolicy).',
  controls: [
    { source: "checkov", id: "CKV_GCP_12" },
    { source: "CIS GKE", id: "5.6.7 Ensure Network Policy is Enabled and set as appropriate" },
  ],
  appliesTo: [GCP.gkeCluster],
  validate: ({ resource, report }) => {
    const datapath = str(resource.props.datapathProvider);
    if (datapath !== "ADVANCED_DATAPATH" && recAt(resource.props, "networkPolicy")?.enabled !== true) {
      report(
        `datapathProvider is ${datapath ?? "unset"} and networkPolicy is not enabled: NetworkPolicies would not be enforced`,
      );
    }
  },
});

const CHANNELS = new Set(["RAPID", "REGULAR", "STABLE", "EXTENDED"]);

export const releaseChannel = resourcePolicy({
  name: "gke-release-channel",
  description: "The cluster is enrolled in a release channel (RAPID, REGULAR, STABLE or EXTENDED).",
  severity: "medium",
  category: "security",
  remediationSteps: 'Set releaseChannel: {channel: "REGULAR"} (or STABLE for production).',
  controls: [
    { source: "checkov", id: "CKV_GCP_70" },
    {
      source: "CIS GKE",
      id: "5.5.4 When creating New Clusters - Automate GKE version management using Release Channels",
    },
  ],
  appliesTo: [GCP.gkeCluster],
  validate: ({ resource, report }) => {
    const channel = strAt(resource.props, "releaseChannel", "channel");
    if (channel === undefined || !CHANNELS.has(channel))
      report(`releaseChannel.channel is ${channel ?? "unset"}`);
  },
});

export const legacyAuth = resourcePolicy({
  name: "gke-legacy-auth-disabled",
  description:
    "Legacy ABAC is off and no client certificate is issued (enableLegacyAbac and issueClientCertificate not true).",
  severity: "high",
  category: "security",
  remediationSteps:
    "Remove enableLegacyAbac and masterAuth.clientCertificateConfig.issueClientCertificate (or set them false).",
  controls: [
    { source: "checkov", id: "CKV_GCP_7" },
    { source: "checkov", id: "CKV_GCP_13" },
    { source: "CIS GKE", id: "5.8.4 Ensure Legacy Authorization (ABAC) is Disabled" },
    { source: "CIS GKE", id: "5.8.2 Ensure authentication using Client Certificates is Disabled" },
  ],
  appliesTo: [GCP.gkeCluster],
  validate: ({ resource, report }) => {
    if (resource.props.enableLegacyAbac === true) report("enableLegacyAbac is true");
    if (recAt(resource.props, "masterAuth", "clientCertificateConfig")?.issueClientCertificate === true) {
      report("masterAuth.clientCertificateConfig.issueClientCertificate is true");
    }
  },
});

export const nodeAutoRepairUpgrade = resourcePolicy({
  name: "gke-node-auto-repair-upgrade",
  description:
    "Node pools keep auto-repair and auto-upgrade on (management.autoRepair and autoUpgrade not false; the " +
    "provider's default is on).",
  severity: "medium",
  category: "security",
  remediationSteps: "Set management: {autoRepair: true, autoUpgrade: true} on every node pool.",
  controls: [
    { source: "checkov", id: "CKV_GCP_9" },
    { source: "checkov", id: "CKV_GCP_10" },
    { source: "CIS GKE", id: "5.5.2 Ensure Node Auto-Repair is enabled for GKE nodes" },
    { source: "CIS GKE", id: "5.5.3 Ensure Node Auto-Upgrade is enabled for GKE nodes" },
  ],
  appliesTo: GKE,
  validate: ({ resource, report, notApplicable }) => {
    const pools = nodeConfigs(resource).filter((n) => n.pool !== undefined);
    if (pools.length === 0) return notApplicable("the cluster defines no node pools inline");
    for (const node of pools) {
      const management = recAt(node.pool, "management");
      if (management?.autoRepair === false) report(`${node.where} turns auto-repair off`);
      if (management?.autoUpgrade === false) report(`${node.where} turns auto-upgrade off`);
    }
  },
});

export const secretsEncryption = resourcePolicy({
  name: "gke-secrets-encryption",
  description:
    "Where requireSecretsEncryption is set (production), Kubernetes Secrets are encrypted at the application " +
    "layer with a Cloud KMS key (databaseEncryption state ENCRYPTED with a keyName).",
  severity: "high",
  category: "security",
  remediationSteps:
    'Set databaseEncryption: {state: "ENCRYPTED", keyName: <KMS CryptoKey id>} (cluster.secretsEncryption).',
  controls: [
    { source: "GKE hardening guide", id: "Application-layer secrets encryption with Cloud KMS" },
    {
      source: "CIS GKE",
      id: "5.3.1 Ensure Kubernetes Secrets are encrypted using keys managed in Cloud KMS",
    },
  ],
  appliesTo: [GCP.gkeCluster],
  config: {
    requireSecretsEncryption: {
      type: "boolean",
      default: true,
      description: "Require KMS encryption of Secrets.",
    },
  },
  validate: ({ resource, config, report, notApplicable }) => {
    if (!config.requireSecretsEncryption) return notApplicable("not required in this environment");
    const encryption = recAt(resource.props, "databaseEncryption");
    if (str(encryption?.state) !== "ENCRYPTED" || (str(encryption?.keyName) ?? "") === "") {
      report("databaseEncryption is not ENCRYPTED with a KMS keyName");
    }
  },
});

export const deletionProtection = resourcePolicy({
  name: "gke-deletion-protection",
  description:
    "Where requireDeletionProtection is set (production), the cluster keeps deletionProtection on (not false; the " +
    "provider's default is on).",
  severity: "high",
  category: "security",
  remediationSteps: "Set deletionProtection: true on the cluster (cluster.deletionProtection).",
  controls: [{ source: "Project baseline", id: "Production cluster deletion protection" }],
  appliesTo: [GCP.gkeCluster],
  config: {
    requireDeletionProtection: {
      type: "boolean",
      default: true,
      description: "Require deletion protection.",
    },
  },
  validate: ({ resource, config, report, notApplicable }) => {
    if (!config.requireDeletionProtection) return notApplicable("not required in this environment");
    if (resource.props.deletionProtection === false) report("deletionProtection is false");
  },
});

const DEFAULT_COMPUTE_SA = /^\d+-compute@developer\.gserviceaccount\.com$/;

export const nodeServiceAccount = resourcePolicy({
  name: "gke-node-service-account",
  description:
    "Nodes run as a dedicated least-privilege service account: every node configuration sets " +
    "nodeConfig.serviceAccount, and it is not the Compute Engine default service account.",
  severity: "high",
  category: "security",
  remediationSteps:
    "Create a node service account with only logging.logWriter, monitoring.metricWriter, monitoring.viewer and " +
    "artifactregistry.reader, and set nodeConfig.serviceAccount to it; set removeDefaultNodePool: true.",
  controls: [
    {
      source: "CIS GKE",
      id: "5.2.1 Ensure GKE clusters are not running using the Compute Engine default service account",
    },
  ],
  appliesTo: GKE,
  validate: ({ resource, report, notApplicable }) => {
    const nodes = nodeConfigs(resource);
    if (nodes.length === 0)
      return notApplicable("the cluster defines no node configuration (removeDefaultNodePool)");
    for (const node of nodes) {
      const account = str(node.config?.serviceAccount);
      if (account === undefined || account === "" || account === "default") {
        report(
          `${node.where} runs as the Compute Engine default service account (nodeConfig.serviceAccount unset)`,
        );
      } else if (DEFAULT_COMPUTE_SA.test(account)) {
        report(`${node.where} runs as the Compute Engine default service account ${account}`);
      }
    }
  },
});

export const gkePolicies = [
  privateNodes,
  masterAuthorizedNetworks,
  workloadIdentity,
  shieldedNodes,
  dataplaneV2,
  releaseChannel,
  legacyAuth,
  nodeAutoRepairUpgrade,
  secretsEncryption,
  deletionProtection,
  nodeServiceAccount,
];
