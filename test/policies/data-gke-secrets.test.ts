import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { K8S } from "../../policies/src/core/kubernetes";
import {
  GCP,
  backupRetention,
  bucketHardening,
  noPublicBuckets,
  restoreDrill,
  retentionDays,
  statefulProtected,
} from "../../policies/src/data-protection";
import {
  dataplaneV2,
  deletionProtection,
  legacyAuth,
  masterAuthorizedNetworks,
  nodeAutoRepairUpgrade,
  nodeServiceAccount,
  privateNodes,
  releaseChannel,
  secretsEncryption,
  shieldedNodes,
  workloadIdentity,
} from "../../policies/src/gke";
import { noSecretsInConfigMaps, secretDataSource, stackConfigEncrypted } from "../../policies/src/secrets";
import type { PackPolicy } from "../../policies/src/core/policy";
import {
  bucketProps,
  cnpgCluster,
  gkeCluster,
  gkeClusterProps,
  namespace,
  nodePool,
  nodePoolProps,
  objectStore,
  restoreDrill as drillCronJob,
} from "./fixtures";
import { checkResource, checkStack, resource, type Props } from "./support";

describe("policy data-backup-retention", () => {
  it("converts CNPG retention policies to days", () => {
    assert.deepEqual(["30d", "4w", "1m", "0d", "30"].map(retentionDays), [30, 28, 30, undefined, undefined]);
  });

  it("passes WAL archiving to an ObjectStore that keeps the minimum", () => {
    assert.deepEqual(checkStack(backupRetention, [cnpgCluster(), objectStore("30d")]).messages, []);
    assert.deepEqual(
      checkStack(backupRetention, [cnpgCluster(), objectStore("7d")], { minRetentionDays: 7 }).messages,
      [],
    );
  });

  it("fails short retention, a missing ObjectStore and a cluster without the plugin", () => {
    assert.deepEqual(checkStack(backupRetention, [cnpgCluster(), objectStore("7d")]).messages, [
      "ObjectStore mcp-registry/backups keeps backups 7d (7 days); at least 30 days are required",
    ]);
    assert.deepEqual(checkStack(backupRetention, [cnpgCluster(), objectStore("30d", "other")]).messages, [
      'database mcp-registry/registry-db names ObjectStore "backups", which the stack does not define',
    ]);
    const noWal = cnpgCluster("db", "mcp-registry", {
      plugins: [{ name: "barman-cloud.cloudnative-pg.io", parameters: { barmanObjectName: "backups" } }],
    });
    assert.deepEqual(checkStack(backupRetention, [noWal, objectStore()]).messages, [
      "database mcp-registry/db does not archive WAL through barman-cloud.cloudnative-pg.io (isWALArchiver is not true)",
    ]);
    assert.deepEqual(
      checkStack(backupRetention, [cnpgCluster("db", "mcp-registry", { plugins: [] })]).messages,
      [
        "database mcp-registry/db has no barman-cloud.cloudnative-pg.io plugin (no WAL archiving or base backups)",
      ],
    );
  });
});

describe("policy data-restore-drill", () => {
  it("passes a database with its drill CronJob", () => {
    assert.deepEqual(checkStack(restoreDrill, [cnpgCluster(), drillCronJob()]).messages, []);
  });

  it("fails a database without a drill, and a suspended drill", () => {
    assert.deepEqual(checkStack(restoreDrill, [cnpgCluster(), drillCronJob("other-db")]).messages, [
      "database mcp-registry/registry-db has no restore-drill CronJob",
    ]);
    assert.deepEqual(
      checkStack(restoreDrill, [cnpgCluster(), drillCronJob("registry-db", { suspend: true })]).messages,
      ["the restore drill of database mcp-registry/registry-db is suspended"],
    );
  });
});

describe("policy data-gcs-bucket-hardening", () => {
  it("passes a hardened bucket and fails each missing control", () => {
    assert.deepEqual(checkResource(bucketHardening, resource(GCP.bucket, "b", bucketProps())).messages, []);
    const weak = {
      ...bucketProps(),
      uniformBucketLevelAccess: false,
      publicAccessPrevention: undefined,
      versioning: { enabled: false },
    };
    assert.deepEqual(checkResource(bucketHardening, resource(GCP.bucket, "b", weak)).messages, [
      "uniformBucketLevelAccess is not true",
      "publicAccessPrevention is unset (inherited), not enforced",
      "versioning is not enabled",
    ]);
  });
});

describe("policy data-gcs-no-public-access", () => {
  it("passes service-account members and fails allUsers/allAuthenticatedUsers in members, bindings and ACLs", () => {
    const member = (m: string) =>
      resource(GCP.bucketIamMember, "m", { bucket: "backups", role: "roles/storage.objectAdmin", member: m });
    assert.deepEqual(
      checkResource(noPublicBuckets, member("serviceAccount:cnpg@p.iam.gserviceaccount.com")).messages,
      [],
    );
    assert.deepEqual(checkResource(noPublicBuckets, member("allUsers")).messages, [
      "grants allUsers access to bucket backups",
    ]);
    const binding = resource(GCP.bucketIamBinding, "b", {
      bucket: "backups",
      role: "roles/storage.objectViewer",
      members: ["group:ops@example.com", "allAuthenticatedUsers"],
    });
    assert.deepEqual(checkResource(noPublicBuckets, binding).messages, [
      "grants allAuthenticatedUsers access to bucket backups",
    ]);
    const policy = (data: string) =>
      resource(GCP.bucketIamPolicy, "p", { bucket: "backups", policyData: data });
    const open = JSON.stringify({
      bindings: [{ role: "roles/storage.objectViewer", members: ["allUsers"] }],
    });
    assert.deepEqual(checkResource(noPublicBuckets, policy(open)).messages, [
      "grants allUsers access to bucket backups",
    ]);
    assert.deepEqual(checkResource(noPublicBuckets, policy("{bad")).messages, [
      "policyData is not valid JSON, so its members cannot be checked",
    ]);
    const acl = resource(GCP.defaultObjectAcl, "acl", {
      bucket: "backups",
      entity: "allUsers",
      role: "READER",
    });
    assert.deepEqual(checkResource(noPublicBuckets, acl).messages, [
      "grants allUsers access to bucket backups",
    ]);
  });
});

describe("policy data-stateful-resources-protected", () => {
  const stateful = (protect: boolean) => [
    resource(GCP.bucket, "backups", bucketProps(), protect),
    cnpgCluster(),
    namespace("mcp-registry", protect),
    namespace("gateway", false),
  ];

  it("passes protected stateful resources and their namespace", () => {
    const [bucket, , ns, other] = stateful(true);
    const db = { ...cnpgCluster(), protect: true };
    assert.deepEqual(checkStack(statefulProtected, [bucket!, db, ns!, other!]).messages, []);
  });

  it("fails unprotected ones, including the namespace that holds the database", () => {
    assert.deepEqual(checkStack(statefulProtected, stateful(false)).messages, [
      "gcp:storage/bucket:Bucket backups is not protected",
      "kubernetes:postgresql.cnpg.io/v1:Cluster registry-db is not protected",
      "Namespace mcp-registry holds stateful resources and is not protected",
    ]);
  });

  it("is not applicable where protection is not required", () => {
    assert.equal(
      checkStack(statefulProtected, stateful(false), { requireProtection: false }).notApplicable,
      "protection is not required in this environment",
    );
  });
});

interface GkeCase {
  readonly policy: PackPolicy;
  readonly cluster?: (props: Props) => void;
  readonly pool?: (props: Props) => void;
  readonly messages: string[];
}

const gkeCases: GkeCase[] = [
  {
    policy: privateNodes,
    cluster: (p) => ((p.privateClusterConfig as Props).enablePrivateNodes = false),
    messages: ["privateClusterConfig.enablePrivateNodes is not true (nodes get public IPs)"],
  },
  {
    policy: privateNodes,
    pool: (p) => (p.networkConfig = { enablePrivateNodes: false }),
    messages: ["node pool nodes sets networkConfig.enablePrivateNodes false"],
  },
  {
    policy: masterAuthorizedNetworks,
    cluster: (p) => (p.masterAuthorizedNetworksConfig = { cidrBlocks: [{ cidrBlock: "0.0.0.0/0" }] }),
    messages: ["masterAuthorizedNetworksConfig allows 0.0.0.0/0"],
  },
  {
    policy: workloadIdentity,
    cluster: (p) => delete p.workloadIdentityConfig,
    messages: ["workloadIdentityConfig.workloadPool is not set"],
  },
  {
    policy: workloadIdentity,
    pool: (p) => ((p.nodeConfig as Props).workloadMetadataConfig = { mode: "GCE_METADATA" }),
    messages: ["node pool nodes runs with workloadMetadataConfig.mode GCE_METADATA, not GKE_METADATA"],
  },
  {
    policy: shieldedNodes,
    pool: (p) => delete (p.nodeConfig as Props).shieldedInstanceConfig,
    messages: ["node pool nodes does not enable secure boot"],
  },
  {
    policy: shieldedNodes,
    cluster: (p) => (p.enableShieldedNodes = false),
    messages: ["enableShieldedNodes is false"],
  },
  {
    policy: dataplaneV2,
    cluster: (p) => delete p.datapathProvider,
    messages: [
      "datapathProvider is unset and networkPolicy is not enabled: NetworkPolicies would not be enforced",
    ],
  },
  {
    policy: releaseChannel,
    cluster: (p) => (p.releaseChannel = { channel: "UNSPECIFIED" }),
    messages: ["releaseChannel.channel is UNSPECIFIED"],
  },
  {
    policy: legacyAuth,
    cluster: (p) =>
      Object.assign(p, {
        enableLegacyAbac: true,
        masterAuth: { clientCertificateConfig: { issueClientCertificate: true } },
      }),
    messages: [
      "enableLegacyAbac is true",
      "masterAuth.clientCertificateConfig.issueClientCertificate is true",
    ],
  },
  {
    policy: nodeAutoRepairUpgrade,
    pool: (p) => (p.management = { autoRepair: false, autoUpgrade: false }),
    messages: ["node pool nodes turns auto-repair off", "node pool nodes turns auto-upgrade off"],
  },
  {
    policy: secretsEncryption,
    cluster: (p) => (p.databaseEncryption = { state: "DECRYPTED" }),
    messages: ["databaseEncryption is not ENCRYPTED with a KMS keyName"],
  },
  {
    policy: deletionProtection,
    cluster: (p) => (p.deletionProtection = false),
    messages: ["deletionProtection is false"],
  },
  {
    policy: nodeServiceAccount,
    pool: (p) =>
      ((p.nodeConfig as Props).serviceAccount = "123456789012-compute@developer.gserviceaccount.com"),
    messages: [
      "node pool nodes runs as the Compute Engine default service account 123456789012-compute@developer.gserviceaccount.com",
    ],
  },
  {
    policy: nodeServiceAccount,
    cluster: (p) => delete p.removeDefaultNodePool,
    messages: [
      "the default node pool runs as the Compute Engine default service account (nodeConfig.serviceAccount unset)",
    ],
  },
];

describe("policies: GKE", () => {
  for (const { policy, cluster, pool, messages } of gkeCases) {
    const target = cluster !== undefined ? "cluster" : "node pool";
    it(`${policy.name} passes the hardened ${target} and fails: ${messages[0]}`, () => {
      const good = cluster !== undefined ? gkeCluster() : nodePool();
      const result = checkResource(policy, good);
      assert.deepEqual(result.messages, []);
      const props = cluster !== undefined ? gkeClusterProps() : nodePoolProps();
      (cluster ?? pool)?.(props);
      assert.deepEqual(
        checkResource(policy, cluster !== undefined ? gkeCluster(props) : nodePool(props)).messages,
        messages,
      );
    });
  }

  it("leave KMS encryption and deletion protection to environments that require them", () => {
    const props = { ...gkeClusterProps(), databaseEncryption: undefined, deletionProtection: false };
    assert.equal(
      checkResource(secretsEncryption, gkeCluster(props), { requireSecretsEncryption: false }).notApplicable,
      "not required in this environment",
    );
    assert.equal(
      checkResource(deletionProtection, gkeCluster(props), { requireDeletionProtection: false })
        .notApplicable,
      "not required in this environment",
    );
  });
});

describe("policies: secrets", () => {
  let dir: string;
  let stackFile: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "secrets-policy-"));
    stackFile = path.join(dir, "Pulumi.test.yaml");
    fs.writeFileSync(
      stackFile,
      [
        "config:",
        "  mcp-registry:environment: staging",
        "  mcp-registry:githubClientSecret:",
        "    secure: v1:abcdef",
        "  mcp-registry:registry:",
        "    hosts: [registry.example.com]",
        "    oidc:",
        "      clientId: mcp-registry-client",
        "      clientSecret: plain-oidc-secret-value",
        "  mcp-registry:notes: postgres://app:hunter2@db:5432/registry",
      ].join("\n"),
    );
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("secrets-stack-config-encrypted fails plaintext secret-looking keys and credentials, passes secure ones", () => {
    assert.deepEqual(checkStack(stackConfigEncrypted, [], { stackConfigFile: stackFile }).messages, [
      `${stackFile}: mcp-registry:registry.oidc.clientSecret looks secret but is stored in plain text`,
      `${stackFile}: mcp-registry:notes contains a URL with an embedded password in plain text`,
    ]);
    const clean = path.join(dir, "Pulumi.clean.yaml");
    fs.writeFileSync(
      clean,
      "config:\n  mcp-registry:environment: local\n  mcp-registry:githubClientSecret:\n    secure: v1:x\n",
    );
    assert.deepEqual(checkStack(stackConfigEncrypted, [], { stackConfigFile: clean }).messages, []);
    assert.deepEqual(
      checkStack(stackConfigEncrypted, [], { stackConfigFile: path.join(dir, "missing.yaml") }).messages,
      [
        `the stack configuration file ${path.join(dir, "missing.yaml")} does not exist (looked for ${path.join(dir, "missing.yaml")})`,
      ],
    );
    assert.equal(
      checkStack(stackConfigEncrypted, []).notApplicable,
      "no stackConfigFile is configured for this stack",
    );
  });

  const secret = (data: Props, stringData: Props = {}) =>
    resource(K8S.secret, "s", {
      metadata: { name: "registry-auth", namespace: "mcp-registry" },
      data,
      stringData,
    });
  const b64 = (s: string) => Buffer.from(s).toString("base64");

  it("secrets-kubernetes-secret-source passes generated values and fails placeholders and plaintext config", () => {
    const options = { stackConfigFile: stackFile };
    assert.deepEqual(
      checkResource(secretDataSource, secret({ password: b64("x8Jq2-random-output") }), options).messages,
      [],
    );
    assert.deepEqual(
      checkResource(
        secretDataSource,
        secret({ password: b64("changeme") }, { OIDC_CLIENT_SECRET: "plain-oidc-secret-value" }),
        options,
      ).messages,
      [
        'Secret mcp-registry/registry-auth key password holds the placeholder "changeme"',
        `Secret mcp-registry/registry-auth key OIDC_CLIENT_SECRET equals a plaintext value of ${stackFile}`,
      ],
    );
  });

  it("secrets-not-in-configmaps passes plain settings and fails secret-looking keys and credentials", () => {
    const cm = (data: Props) =>
      resource(K8S.configMap, "cm", { metadata: { name: "registry", namespace: "mcp-registry" }, data });
    assert.deepEqual(
      checkResource(noSecretsInConfigMaps, cm({ MCP_REGISTRY_TOKEN_TTL_SECONDS: "3600", LOG_LEVEL: "info" }))
        .messages,
      [],
    );
    assert.deepEqual(
      checkResource(
        noSecretsInConfigMaps,
        cm({ GITHUB_CLIENT_SECRET: "abc", "key.pem": "-----BEGIN PRIVATE KEY-----\nx" }),
      ).messages,
      [
        "ConfigMap mcp-registry/registry key GITHUB_CLIENT_SECRET looks like a secret",
        "ConfigMap mcp-registry/registry key key.pem contains a PEM private key",
      ],
    );
  });
});
