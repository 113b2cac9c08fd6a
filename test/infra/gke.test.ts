import { strict as assert } from "node:assert";
import { KMS_ROTATION_PERIOD, NODE_SA_PROJECT_ROLES, NODE_SA_REPOSITORY_ROLE } from "../../infra/cluster/gke";
import { gkeKubeconfig } from "../../infra/cluster/kubeconfig";
import { CHARTS_REPOSITORY, UPSTREAM_REGISTRIES, remoteRepositoryId } from "../../infra/lib/mirror";
import { parse as parseYaml } from "yaml";
import { findResource, ofType, type CapturedResource, type StackName } from "../support/program";
import { ofProvider, stackRun } from "./runs";

const CLUSTER = "gcp:container/cluster:Cluster";
const POOL = "gcp:container/nodePool:NodePool";

function only(resources: readonly CapturedResource[], type: string): CapturedResource {
  const found = ofType(resources, type);
  assert.equal(found.length, 1, `expected one ${type}, found ${found.length}`);
  return found[0]!;
}

describe("infra: GKE clusters", function () {
  this.timeout(120_000);

  for (const stack of ["staging", "production"] as const satisfies readonly StackName[]) {
    describe(stack, () => {
      it("has private nodes, authorized networks, Workload Identity and Dataplane V2", async () => {
        const { inputs } = only((await stackRun(stack)).resources, CLUSTER);
        assert.equal(inputs.privateClusterConfig.enablePrivateNodes, true);
        assert.match(inputs.privateClusterConfig.masterIpv4CidrBlock, /^172\.16\.0\.\d+\/28$/);
        assert.ok(inputs.masterAuthorizedNetworksConfig.cidrBlocks.length >= 1);
        assert.ok(
          inputs.masterAuthorizedNetworksConfig.cidrBlocks.every(
            (b: { cidrBlock: string }) => b.cidrBlock !== "0.0.0.0/0",
          ),
        );
        assert.equal(inputs.workloadIdentityConfig.workloadPool, `mcp-registry-${stack}.svc.id.goog`);
        assert.equal(inputs.datapathProvider, "ADVANCED_DATAPATH");
        assert.equal(inputs.networkingMode, "VPC_NATIVE");
        assert.deepEqual(inputs.ipAllocationPolicy, {
          clusterSecondaryRangeName: "pods",
          servicesSecondaryRangeName: "services",
        });
      });

      it("is hardened: shielded nodes, no legacy ABAC, no client certificate, release channel, maintenance window", async () => {
        const { inputs } = only((await stackRun(stack)).resources, CLUSTER);
        assert.equal(inputs.enableShieldedNodes, true);
        assert.equal(inputs.enableLegacyAbac, false);
        assert.equal(inputs.masterAuth.clientCertificateConfig.issueClientCertificate, false);
        assert.equal(inputs.releaseChannel.channel, stack === "production" ? "STABLE" : "REGULAR");
        assert.match(inputs.maintenancePolicy.recurringWindow.recurrence, /^FREQ=WEEKLY/);
        assert.equal(inputs.binaryAuthorization.evaluationMode, "PROJECT_SINGLETON_POLICY_ENFORCE");
        assert.equal(inputs.removeDefaultNodePool, true);
        assert.equal(inputs.initialNodeCount, 1);
      });

      it("runs an autoscaled COS_CONTAINERD pool on a dedicated least-privilege service account", async () => {
        const { resources } = await stackRun(stack);
        const pool = only(resources, POOL).inputs;
        assert.equal(pool.nodeConfig.imageType, "COS_CONTAINERD");
        assert.equal(
          pool.nodeConfig.serviceAccount,
          `${stack === "production" ? "mcp-production" : "mcp-staging"}-nodes@mcp-registry-${stack}.iam.gserviceaccount.com`,
        );
        assert.equal(pool.nodeConfig.workloadMetadataConfig.mode, "GKE_METADATA");
        assert.deepEqual(pool.nodeConfig.shieldedInstanceConfig, {
          enableSecureBoot: true,
          enableIntegrityMonitoring: true,
        });
        assert.deepEqual(pool.management, { autoRepair: true, autoUpgrade: true });
        assert.ok(pool.autoscaling.maxNodeCount >= pool.autoscaling.minNodeCount);
        const roles = ofType(resources, "gcp:projects/iAMMember:IAMMember")
          .map((r) => r.inputs.role)
          .sort();
        assert.deepEqual(roles, [...NODE_SA_PROJECT_ROLES].sort());
        // Reader on the registry's repository and each image mirror, nothing project-wide, nothing on charts.
        const repoRoles = ofType(
          resources,
          "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember",
        ).map((r) => r.inputs);
        assert.deepEqual(repoRoles.map((r) => r.repository).sort(), [
          "docker-io",
          "ghcr-io",
          "mcp-registry",
          "quay-io",
          "registry-k8s-io",
        ]);
        for (const role of repoRoles) {
          assert.equal(role.role, NODE_SA_REPOSITORY_ROLE);
          assert.match(role.member, /^serviceAccount:mcp-\w+-nodes@/);
        }
      });

      it("gives private nodes a VPC subnet with secondary ranges and Cloud NAT for egress", async () => {
        const { resources } = await stackRun(stack);
        const subnet = only(resources, "gcp:compute/subnetwork:Subnetwork").inputs;
        assert.deepEqual(
          subnet.secondaryIpRanges.map((r: { rangeName: string }) => r.rangeName),
          ["pods", "services"],
        );
        assert.equal(subnet.privateIpGoogleAccess, true);
        assert.equal(only(resources, "gcp:compute/network:Network").inputs.autoCreateSubnetworks, false);
        assert.equal(
          only(resources, "gcp:compute/routerNat:RouterNat").inputs.natIpAllocateOption,
          "AUTO_ONLY",
        );
      });

      it("lets the private control plane reach the operators' webhooks on the nodes, and nothing else", async () => {
        const rule = only((await stackRun(stack)).resources, "gcp:compute/firewall:Firewall").inputs;
        assert.equal(rule.direction, "INGRESS");
        assert.deepEqual(rule.sourceRanges, [stack === "production" ? "172.16.0.32/28" : "172.16.0.16/28"]);
        assert.deepEqual(rule.allows, [{ protocol: "tcp", ports: ["9443"] }]);
        assert.equal(rule.targetServiceAccounts.length, 1);
      });

      it("keeps registry images in Artifact Registry with cleanup policies", async () => {
        const repo = findResource(
          (await stackRun(stack)).resources,
          "gcp:artifactregistry/repository:Repository",
          `${stack}-images`,
        ).inputs;
        assert.equal(repo.format, "DOCKER");
        assert.deepEqual(
          repo.cleanupPolicies.map((p: { id: string; action: string }) => `${p.id}:${p.action}`),
          ["keep-recent:KEEP", "delete-untagged:DELETE"],
        );
        assert.equal(repo.cleanupPolicies[0].mostRecentVersions.keepCount, stack === "production" ? 30 : 10);
      });

      it("mirrors every upstream registry in a remote repository, and keeps the pinned charts in its own", async () => {
        const repos = ofType((await stackRun(stack)).resources, "gcp:artifactregistry/repository:Repository");
        const remotes = repos.filter((r) => r.inputs.mode === "REMOTE_REPOSITORY").map((r) => r.inputs);
        assert.deepEqual(
          remotes.map((r) => [r.repositoryId, r.format, r.location]),
          UPSTREAM_REGISTRIES.map((u) => [remoteRepositoryId(u), "DOCKER", "europe-west1"]),
        );
        const upstreams = remotes.map(
          (r) =>
            r.remoteRepositoryConfig.dockerRepository?.publicRepository ??
            r.remoteRepositoryConfig.commonRepository.uri,
        );
        assert.deepEqual(upstreams, [
          "DOCKER_HUB",
          "https://quay.io",
          "https://ghcr.io",
          "https://registry.k8s.io",
        ]);
        // The cache is the insurance against an upstream removing an image: nothing cleans it up.
        assert.ok(remotes.every((r) => r.cleanupPolicies === undefined));
        const chartRepo = repos.find((r) => r.inputs.repositoryId === CHARTS_REPOSITORY)?.inputs;
        assert.equal(chartRepo?.mode, undefined);
        assert.deepEqual(chartRepo?.dockerConfig, { immutableTags: true });
        const protectedRepos = repos.filter((r) => r.opts.protect === true).length;
        assert.equal(protectedRepos, stack === "production" ? repos.length : 0);
      });
    });
  }

  it("encrypts Secrets with a 90-day KMS key and protects stateful resources in production only", async () => {
    const production = (await stackRun("production")).resources;
    const staging = (await stackRun("staging")).resources;
    const cluster = only(production, CLUSTER);
    assert.equal(cluster.inputs.databaseEncryption.state, "ENCRYPTED");
    const key = only(production, "gcp:kms/cryptoKey:CryptoKey");
    assert.equal(key.inputs.rotationPeriod, KMS_ROTATION_PERIOD);
    assert.equal(KMS_ROTATION_PERIOD, "7776000s");
    // The mock gives each resource the id `<name>-id`: the cluster must reference the CryptoKey itself.
    assert.equal(cluster.inputs.databaseEncryption.keyName, `${key.name}-id`);
    const grant = only(production, "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember").inputs;
    assert.equal(grant.role, "roles/cloudkms.cryptoKeyEncrypterDecrypter");
    assert.equal(
      grant.member,
      "serviceAccount:service-123456789012@container-engine-robot.iam.gserviceaccount.com",
    );
    assert.equal(cluster.inputs.deletionProtection, true);
    for (const type of [
      CLUSTER,
      POOL,
      "gcp:kms/cryptoKey:CryptoKey",
      "gcp:kms/keyRing:KeyRing",
      "gcp:storage/bucket:Bucket",
    ])
      for (const r of ofType(production, type))
        assert.equal(r.opts.protect, true, `${type} ${r.name} unprotected`);

    assert.equal(only(staging, CLUSTER).inputs.databaseEncryption.state, "DECRYPTED");
    assert.equal(only(staging, CLUSTER).inputs.deletionProtection, false);
    assert.deepEqual(ofProvider(staging, "gcp:kms/"), []);
    assert.ok(
      staging.every((r) => r.opts.protect !== true),
      "staging protects nothing",
    );
  });

  it("is regional across three zones in production and zonal in staging", async () => {
    const production = only((await stackRun("production")).resources, CLUSTER).inputs;
    const staging = only((await stackRun("staging")).resources, CLUSTER).inputs;
    assert.equal(production.location, "europe-west1");
    assert.deepEqual(only((await stackRun("production")).resources, POOL).inputs.nodeLocations, [
      "europe-west1-b",
      "europe-west1-c",
      "europe-west1-d",
    ]);
    assert.equal(staging.location, "europe-west1-b");
  });

  it("builds the Kubernetes provider from a kubeconfig that uses gke-gcloud-auth-plugin", async () => {
    const { resources } = await stackRun("staging");
    const provider = findResource(resources, "pulumi:providers:kubernetes", "staging-k8s");
    const kubeconfig = parseYaml(String(provider.inputs.kubeconfig)) as {
      clusters: { cluster: { server: string } }[];
      users: { user: { exec: { command: string } } }[];
    };
    assert.equal(kubeconfig.clusters[0]!.cluster.server, "https://10.0.0.2");
    assert.equal(kubeconfig.users[0]!.user.exec.command, "gke-gcloud-auth-plugin");
  });
});

describe("infra: gkeKubeconfig", () => {
  it("writes one context with the CA, the endpoint and the exec plugin, and no static credentials", () => {
    const text = gkeKubeconfig({
      contextName: "gke_p_r_c",
      endpoint: "34.1.2.3",
      clusterCaCertificate: "Q0E=",
    });
    const doc = parseYaml(text) as Record<string, unknown>;
    assert.deepEqual(doc, {
      apiVersion: "v1",
      kind: "Config",
      clusters: [
        { name: "gke_p_r_c", cluster: { server: "https://34.1.2.3", "certificate-authority-data": "Q0E=" } },
      ],
      contexts: [{ name: "gke_p_r_c", context: { cluster: "gke_p_r_c", user: "gke_p_r_c" } }],
      "current-context": "gke_p_r_c",
      users: [
        {
          name: "gke_p_r_c",
          user: {
            exec: {
              apiVersion: "client.authentication.k8s.io/v1beta1",
              command: "gke-gcloud-auth-plugin",
              installHint:
                "Install gke-gcloud-auth-plugin: 'gcloud components install gke-gcloud-auth-plugin'",
              provideClusterInfo: true,
              interactiveMode: "IfAvailable",
            },
          },
        },
      ],
    });
  });

  it("refuses an empty endpoint or CA", () => {
    assert.throws(
      () => gkeKubeconfig({ contextName: "c", endpoint: "", clusterCaCertificate: "Q0E=" }),
      /gkeKubeconfig: endpoint is empty/,
    );
    assert.throws(
      () => gkeKubeconfig({ contextName: "c", endpoint: "1.2.3.4", clusterCaCertificate: " " }),
      /gkeKubeconfig: clusterCaCertificate is empty/,
    );
  });
});
