// The real program under mocks, for each stack, passes every mandatory policy; deliberately weakened variants
// of its resources (built by mutating what it registered) are each caught.
import assert from "node:assert/strict";
import * as path from "node:path";
import { K8S } from "../../policies/src/core/kubernetes";
import { readStackConfig } from "../../policies/src/core/secrets";
import { GCP } from "../../policies/src/data-protection";
import type { PolicyOutcome, StackResource } from "../../policies/src/evaluate";
import { COMMAND } from "../../policies/src/images";
import { policies } from "../../policies/src/policies";
import { repoRoot, stackNames, type StackName } from "../support/program";
import { clone, evaluateStack, packConfig, stackResources, type Props } from "./support";

const EVALUATION_BUDGET_MS = 2000;

function describeFinding(outcome: PolicyOutcome): string[] {
  return outcome.findings
    .filter((f) => f.level === "mandatory")
    .map((f) => `${outcome.policy}: ${f.message} [${f.urn?.split("::").pop() ?? "stack"}]`);
}

type Mutation = (resources: StackResource[], stack: StackName) => string | undefined;

interface Variant {
  readonly title: string;
  readonly stacks: readonly StackName[];
  readonly policy: string;
  readonly message: RegExp;
  /** Weakens the captured resources in place; returns why it could not (the resource does not exist yet). */
  readonly mutate: Mutation;
}

const props = (r: StackResource) => r.props as Props;
const find = (resources: StackResource[], type: string, match: (r: StackResource) => boolean = () => true) =>
  resources.find((r) => r.type === type && match(r));
const named = (name: string) => (r: StackResource) => (props(r).metadata as Props | undefined)?.name === name;
const podSpec = (r: StackResource) => ((props(r).spec as Props).template as Props).spec as Props;
const firstContainer = (r: StackResource) => (podSpec(r).containers as Props[])[0] as Props;
const registryDeployment = (resources: StackResource[]) => find(resources, K8S.deployment, named("registry"));

/** Applies `change` to the registry Deployment, or says it is missing. */
function onRegistry(change: (deployment: StackResource) => void): Mutation {
  return (resources) => {
    const deployment = registryDeployment(resources);
    if (deployment === undefined) return "the program has no registry Deployment yet";
    change(deployment);
    return undefined;
  };
}

function replace(resources: StackResource[], target: StackResource, changes: Partial<StackResource>): void {
  resources[resources.indexOf(target)] = { ...target, ...changes };
}

const ALL: readonly StackName[] = stackNames;
const CLOUD: readonly StackName[] = ["staging", "production"];

const variants: Variant[] = [
  {
    title: "the registry container runs as root",
    stacks: ALL,
    policy: "pods-run-as-non-root",
    message: /container "registry" (may run as root|sets runAsUser: 0)/,
    mutate: onRegistry((d) => {
      Object.assign(firstContainer(d).securityContext as Props, { runAsNonRoot: false, runAsUser: 0 });
      Object.assign(podSpec(d).securityContext as Props, { runAsNonRoot: false, runAsUser: 0 });
    }),
  },
  {
    title: "the registry container is privileged and mounts the node's filesystem",
    stacks: ALL,
    policy: "pods-no-host-access",
    message: /volume "host" is a hostPath volume/,
    mutate: onRegistry((d) => {
      (podSpec(d).volumes as Props[]).push({ name: "host", hostPath: { path: "/" } });
    }),
  },
  {
    title: "the registry container can escalate privileges",
    stacks: ALL,
    policy: "pods-no-privilege-escalation",
    message: /container "registry" does not set allowPrivilegeEscalation: false/,
    mutate: onRegistry((d) => ((firstContainer(d).securityContext as Props).allowPrivilegeEscalation = true)),
  },
  {
    title: "the registry keeps all capabilities",
    stacks: ALL,
    policy: "pods-drop-all-capabilities",
    message: /does not drop ALL capabilities/,
    mutate: onRegistry((d) => delete (firstContainer(d).securityContext as Props).capabilities),
  },
  {
    title: "the registry gets a plaintext secret in its environment",
    stacks: ALL,
    policy: "pods-no-plaintext-secrets-in-env",
    message: /env MCP_REGISTRY_GITHUB_CLIENT_SECRET is set in plain text/,
    mutate: onRegistry((d) => {
      const container = firstContainer(d);
      container.env = [
        ...((container.env as Props[]) ?? []),
        { name: "MCP_REGISTRY_GITHUB_CLIENT_SECRET", value: "0123456789abcdef" },
      ];
    }),
  },
  {
    title: "the registry image uses :latest",
    stacks: ALL,
    policy: "images-pinned",
    message: /uses the mutable tag latest/,
    mutate: onRegistry((d) => (firstContainer(d).image = "registry.access.redhat.com/ubi9/nodejs-22:latest")),
  },
  {
    title: "the registry image comes from Docker Hub",
    stacks: ALL,
    policy: "images-allowed-registries",
    message: /"node:22" is not from an allowed registry/,
    mutate: onRegistry((d) =>
      Object.assign(firstContainer(d), { image: "node:22", imagePullPolicy: "IfNotPresent" }),
    ),
  },
  {
    title: "the registry image builds from a non-UBI base",
    stacks: ALL,
    policy: "images-ubi9-base",
    message: /base image "docker.io\/library\/node:22-alpine" of .* is not Red Hat UBI 9/,
    mutate: (resources) => {
      const build = find(
        resources,
        COMMAND,
        (r) => (props(r).environment as Props | undefined)?.DOCKERFILE !== undefined,
      );
      if (build === undefined) return "the program has no image build in this stack";
      (props(build).environment as Props).BASE_IMAGES = "docker.io/library/node:22-alpine";
      return undefined;
    },
  },
  {
    title: "production runs a single registry replica",
    stacks: ["production"],
    policy: "availability-deployment-replicas",
    message: /runs 1 replica\(s\)/,
    mutate: (resources) => {
      const deployment = registryDeployment(resources);
      if (deployment === undefined) return "the program has no registry Deployment yet";
      (props(deployment).spec as Props).replicas = 1;
      for (const hpa of resources.filter((r) => r.type === K8S.hpa))
        (props(hpa).spec as Props).minReplicas = 1;
      return undefined;
    },
  },
  {
    title: "the registry loses its PodDisruptionBudget",
    stacks: CLOUD,
    policy: "stack-deployment-pdb",
    message: /Deployment mcp-registry\/registry has no PodDisruptionBudget/,
    mutate: (resources) => {
      const before = resources.length;
      for (const pdb of resources.filter((r) => r.type === K8S.pdb))
        resources.splice(resources.indexOf(pdb), 1);
      return before === resources.length ? "the program has no PodDisruptionBudget yet" : undefined;
    },
  },
  {
    title: "a namespace loses its default deny",
    stacks: ALL,
    policy: "stack-namespace-default-deny",
    message: /Namespace \S+ has no default-deny NetworkPolicy/,
    mutate: (resources) => {
      const denies = resources.filter(
        (r) => r.type === K8S.networkPolicy && (props(r).metadata as Props).name === "default-deny",
      );
      const victim = denies[0];
      if (victim === undefined) return "the program creates no default-deny NetworkPolicy yet";
      resources.splice(resources.indexOf(victim), 1);
      return undefined;
    },
  },
  {
    title: "a ClusterIP Service becomes a LoadBalancer",
    stacks: ALL,
    policy: "network-no-exposed-services",
    message: /is of type LoadBalancer/,
    mutate: (resources) => {
      const service = find(resources, K8S.service);
      if (service === undefined) return "the program creates no Service yet";
      props(service).spec = { ...((props(service).spec as Props) ?? {}), type: "LoadBalancer" };
      return undefined;
    },
  },
  {
    title: "an application route attaches to the plain-HTTP listener",
    stacks: ALL,
    policy: "network-gateway-https-only",
    message: /is plain HTTP and route .* does more than redirect to https/,
    mutate: (resources) => {
      const route = find(resources, K8S.httpRoute, (r) =>
        ((props(r).spec as Props).rules as Props[]).some(
          (rule) => (rule.backendRefs as unknown[] | undefined)?.length,
        ),
      );
      if (route === undefined) return "the program has no application HTTPRoute yet";
      for (const ref of (props(route).spec as Props).parentRefs as Props[]) delete ref.sectionName;
      return undefined;
    },
  },
  {
    title: "backups keep less than the environment's retention",
    stacks: CLOUD,
    policy: "data-backup-retention",
    message: /keeps backups 1d \(1 days\); at least \d+ days are required/,
    mutate: (resources) => {
      const cluster = find(resources, K8S.cnpgCluster);
      const plugins = ((cluster && (props(cluster).spec as Props).plugins) ?? []) as Props[];
      const storeName = (plugins[0]?.parameters as Props | undefined)?.barmanObjectName;
      const namespace = cluster && (props(cluster).metadata as Props).namespace;
      const store = find(
        resources,
        K8S.objectStore,
        (r) => named(String(storeName))(r) && (props(r).metadata as Props).namespace === namespace,
      );
      if (store === undefined) return "the program has no Barman ObjectStore for its database yet";
      (props(store).spec as Props).retentionPolicy = "1d";
      return undefined;
    },
  },
  {
    title: "the restore drill is removed",
    stacks: ALL,
    policy: "data-restore-drill",
    message: /has no restore-drill CronJob/,
    mutate: (resources) => {
      const drills = resources.filter(
        (r) =>
          r.type === K8S.cronJob &&
          ((props(r).metadata as Props).labels as Props | undefined)?.["app.kubernetes.io/component"] ===
            "restore-drill",
      );
      if (drills.length === 0) return "the program has no restore drill yet";
      for (const drill of drills) resources.splice(resources.indexOf(drill), 1);
      return undefined;
    },
  },
  {
    title: "the database loses its backup schedule",
    stacks: ALL,
    policy: "stack-database-backup-schedule",
    message: /has no ScheduledBackup/,
    mutate: (resources) => {
      const schedules = resources.filter((r) => r.type === K8S.scheduledBackup);
      if (schedules.length === 0) return "the program has no ScheduledBackup yet";
      for (const schedule of schedules) resources.splice(resources.indexOf(schedule), 1);
      return undefined;
    },
  },
  {
    title: "production runs a single database instance",
    stacks: ["production"],
    policy: "availability-cnpg-instances",
    message: /spec.instances is 1; at least 3 are required/,
    mutate: (resources) => {
      const cluster = find(resources, K8S.cnpgCluster);
      if (cluster === undefined) return "the program has no CloudNativePG Cluster yet";
      (props(cluster).spec as Props).instances = 1;
      return undefined;
    },
  },
  {
    title: "a bucket without public access prevention",
    stacks: CLOUD,
    policy: "data-gcs-bucket-hardening",
    message: /publicAccessPrevention is unset \(inherited\), not enforced/,
    mutate: (resources) => {
      const bucket = find(resources, GCP.bucket);
      if (bucket === undefined) return "the program has no bucket yet";
      delete props(bucket).publicAccessPrevention;
      return undefined;
    },
  },
  {
    title: "a bucket readable by allUsers",
    stacks: CLOUD,
    policy: "data-gcs-no-public-access",
    message: /grants allUsers access/,
    mutate: (resources) => {
      const member = find(resources, GCP.bucketIamMember);
      if (member === undefined) return "the program has no bucket IAM member yet";
      props(member).member = "allUsers";
      return undefined;
    },
  },
  {
    title: "a production bucket is not protected",
    stacks: ["production"],
    policy: "data-stateful-resources-protected",
    message: /gcp:storage\/bucket:Bucket \S+ is not protected/,
    mutate: (resources) => {
      const bucket = find(resources, GCP.bucket);
      if (bucket === undefined) return "the program has no bucket yet";
      replace(resources, bucket, { protect: false });
      return undefined;
    },
  },
  {
    title: "a GKE cluster with public nodes",
    stacks: CLOUD,
    policy: "gke-private-nodes",
    message: /privateClusterConfig.enablePrivateNodes is not true/,
    mutate: (resources) => {
      const cluster = find(resources, GCP.gkeCluster);
      if (cluster === undefined) return "the program has no GKE cluster yet";
      props(cluster).privateClusterConfig = { enablePrivateNodes: false };
      return undefined;
    },
  },
  {
    title: "a GKE control plane open to the internet",
    stacks: CLOUD,
    policy: "gke-master-authorized-networks",
    message: /allows 0.0.0.0\/0/,
    mutate: (resources) => {
      const cluster = find(resources, GCP.gkeCluster);
      if (cluster === undefined) return "the program has no GKE cluster yet";
      props(cluster).masterAuthorizedNetworksConfig = {
        cidrBlocks: [{ cidrBlock: "0.0.0.0/0", displayName: "any" }],
      };
      return undefined;
    },
  },
  {
    title: "GKE nodes on the metadata server without Workload Identity",
    stacks: CLOUD,
    policy: "gke-workload-identity",
    message: /workloadMetadataConfig.mode GCE_METADATA/,
    mutate: (resources) => {
      const pool = find(resources, GCP.nodePool);
      if (pool === undefined) return "the program has no node pool yet";
      (props(pool).nodeConfig as Props).workloadMetadataConfig = { mode: "GCE_METADATA" };
      return undefined;
    },
  },
  {
    title: "GKE nodes as the default compute service account",
    stacks: CLOUD,
    policy: "gke-node-service-account",
    message: /runs as the Compute Engine default service account/,
    mutate: (resources) => {
      const pool = find(resources, GCP.nodePool);
      if (pool === undefined) return "the program has no node pool yet";
      delete (props(pool).nodeConfig as Props).serviceAccount;
      return undefined;
    },
  },
  {
    title: "production Secrets without KMS encryption",
    stacks: ["production"],
    policy: "gke-secrets-encryption",
    message: /databaseEncryption is not ENCRYPTED/,
    mutate: (resources) => {
      const cluster = find(resources, GCP.gkeCluster);
      if (cluster === undefined) return "the program has no GKE cluster yet";
      delete props(cluster).databaseEncryption;
      return undefined;
    },
  },
  {
    // Cloud stacks create no Kubernetes Secret with a value (Secret Manager through ExternalSecrets): local only.
    title: "a Kubernetes Secret fed from plaintext stack config",
    stacks: ["local"],
    policy: "secrets-kubernetes-secret-source",
    message: /key password equals a plaintext value of \.\.\/stacks\/Pulumi\.\w+\.yaml/,
    mutate: (resources, stack) => {
      const secret = find(resources, K8S.secret);
      if (secret === undefined) return "the program creates no Secret yet";
      const file = path.join(repoRoot, "stacks", `Pulumi.${stack}.yaml`);
      const plain = readStackConfig(file).find((e) => !e.secure && (e.value ?? "").length >= 6)?.value;
      if (plain === undefined) return "the stack file has no plaintext value to leak";
      props(secret).stringData = { password: plain };
      return undefined;
    },
  },
  {
    title: "a Kubernetes Secret with a value on a cloud stack",
    stacks: CLOUD,
    policy: "secrets-from-secret-manager",
    message: /Secret mcp-registry\/hand-made holds values in the program \(password\)/,
    mutate: (resources) => {
      resources.push({
        type: K8S.secret,
        name: "hand-made",
        urn: "urn:pulumi:stack::mcp-registry::kubernetes:core/v1:Secret::hand-made",
        props: { metadata: { name: "hand-made", namespace: "mcp-registry" }, stringData: { password: "x" } },
        protect: false,
      });
      return undefined;
    },
  },
  {
    title: "an ExternalSecret reading from a store other than the approved one",
    stacks: CLOUD,
    policy: "secrets-external-secret-store",
    message: /reads from SecretStore\/elsewhere, not an approved store/,
    mutate: (resources) => {
      const external = find(resources, K8S.externalSecret);
      if (external === undefined) return "the program creates no ExternalSecret yet";
      (props(external).spec as Props).secretStoreRef = { kind: "SecretStore", name: "elsewhere" };
      return undefined;
    },
  },
  {
    title: "External Secrets Operator's account granted Secret Manager on the whole project",
    stacks: CLOUD,
    policy: "secrets-manager-access",
    message: /grants roles\/secretmanager\.secretAccessor on the whole project/,
    mutate: (resources) => {
      const grant = find(resources, "gcp:secretmanager/secretIamMember:SecretIamMember");
      if (grant === undefined) return "the program grants no Secret Manager access yet";
      resources.push({
        type: "gcp:projects/iAMMember:IAMMember",
        name: "eso-everything",
        urn: "urn:pulumi:stack::mcp-registry::gcp:projects/iAMMember:IAMMember::eso-everything",
        props: { project: "p", role: "roles/secretmanager.secretAccessor", member: props(grant).member },
        protect: false,
      });
      return undefined;
    },
  },
  {
    title: "a namespace without the guardrails' bindings",
    stacks: ALL,
    policy: "guardrails-admission-policies",
    message: /namespace mcp-registry has no binding of pods-no-privileged, /,
    mutate: (resources) => {
      const inRegistry = (r: StackResource) =>
        r.type === K8S.validatingAdmissionPolicyBinding &&
        (props(r).metadata as Props | undefined)?.name?.toString().endsWith(".mcp-registry") === true;
      if (!resources.some(inRegistry)) return "the program binds no guardrails yet";
      resources.splice(0, resources.length, ...resources.filter((r) => !inRegistry(r)));
      return undefined;
    },
  },
  {
    title: "production guardrails that only warn",
    stacks: ["production"],
    policy: "guardrails-admission-policies",
    message: /acts with \[Audit, Warn\], not \[Deny\]/,
    mutate: (resources) => {
      const binding = find(resources, K8S.validatingAdmissionPolicyBinding);
      if (binding === undefined) return "the program binds no guardrails yet";
      (props(binding).spec as Props).validationActions = ["Warn", "Audit"];
      return undefined;
    },
  },
];

describe("policy conformance: the real program under mocks", function () {
  this.timeout(180_000);

  for (const stack of stackNames) {
    describe(stack, () => {
      let resources: StackResource[] = [];
      let outcomes: PolicyOutcome[] = [];
      let elapsedMs = 0;

      before(async () => {
        resources = await stackResources(stack);
        const started = performance.now();
        outcomes = evaluateStack(resources, packConfig(stack));
        elapsedMs = performance.now() - started;
      });

      it("passes every mandatory policy", () => {
        assert.ok(resources.length > 0, "the program registered no resources");
        assert.deepEqual(outcomes.flatMap(describeFinding), []);
      });

      it(`evaluates the whole pack in under ${EVALUATION_BUDGET_MS} ms`, () => {
        console.log(
          `      ${stack}: ${policies.length} policies over ${resources.length} resources in ${elapsedMs.toFixed(0)} ms`,
        );
        assert.ok(elapsedMs < EVALUATION_BUDGET_MS, `took ${elapsedMs.toFixed(0)} ms`);
      });

      for (const variant of variants.filter((v) => v.stacks.includes(stack))) {
        it(`catches ${variant.title} (${variant.policy})`, function () {
          const weakened = clone(resources);
          const missing = variant.mutate(weakened, stack);
          if (missing !== undefined) {
            console.log(`      skipped: ${missing}`);
            this.skip();
          }
          const policy = policies.find((p) => p.name === variant.policy);
          assert.ok(policy, `unknown policy ${variant.policy}`);
          const [outcome] = evaluateStack(weakened, packConfig(stack), [policy]);
          const mandatory = (outcome?.findings ?? [])
            .filter((f) => f.level === "mandatory")
            .map((f) => f.message);
          assert.ok(
            mandatory.some((m) => variant.message.test(m)),
            `${variant.policy} did not report ${String(variant.message)}; it reported: ${JSON.stringify(mandatory)}`,
          );
        });
      }
    });
  }
});
