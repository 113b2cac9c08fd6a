// External Secrets Operator (staging, production): syncs Google Secret Manager secrets into Kubernetes Secrets.
// It reads Secret Manager as its own Google service account through Workload Identity; that account has no
// project role at all, only secretAccessor on each secret the program names (infra/secrets/secret-manager.ts).
// One ClusterSecretStore, usable only from the namespaces that consume secrets.
import * as gcp from "@pulumi/gcp";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { ImageMirror } from "../lib/mirror";
import { HardenedNamespace } from "../lib/namespace";
import { charts } from "../versions";
import { pinnedRelease } from "./chart";
import type { ChartSource } from "./chart-archive";
import { ANYWHERE, GKE_METADATA_EGRESS, allow, tcp } from "./network";
import { containerSecurity, podDisruptionBudget, podSecurity, sizing } from "./values";

export const ESO_NAMESPACE = "external-secrets";
/** The approved store every ExternalSecret references (policy secrets-external-secret-store). */
export const SECRET_STORE = { kind: "ClusterSecretStore", name: "gcp-secret-manager" } as const;
/** The Google service account ESO reads Secret Manager as. */
export const ESO_GSA_ID = "external-secrets";
const RELEASE = "external-secrets";
const METRICS_PORT = 8080;
const WEBHOOK_PORT = 10250;

export interface ExternalSecretsOperatorArgs {
  readonly provider: k8s.Provider;
  readonly chartSource: ChartSource;
  readonly imageMirror: ImageMirror | undefined;
  /** The project holding the secrets and the service account, and its Workload Identity pool. */
  readonly project: string;
  readonly workloadPool: string;
  /** Namespaces whose ExternalSecrets may use the store; any other is refused by ESO. */
  readonly consumerNamespaces: readonly string[];
  readonly replicas: number;
  readonly dependsOn: pulumi.Resource[];
}

export class ExternalSecretsOperator extends pulumi.ComponentResource {
  readonly namespace = ESO_NAMESPACE;
  readonly serviceAccount: gcp.serviceaccount.Account;
  /** `serviceAccount:<email>` of ESO's Google service account. */
  readonly member: pulumi.Output<string>;
  /** The release and the ClusterSecretStore: ExternalSecrets must wait for them. */
  readonly ready: pulumi.Resource[];

  constructor(name: string, args: ExternalSecretsOperatorArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mcp-registry:platform:ExternalSecretsOperator", name, {}, opts);
    const provider = args.provider;
    if (args.consumerNamespaces.length === 0)
      throw new Error("ExternalSecretsOperator: consumerNamespaces is empty");

    this.serviceAccount = new gcp.serviceaccount.Account(
      `${name}-gsa`,
      {
        project: args.project,
        accountId: ESO_GSA_ID,
        displayName: "External Secrets Operator (reads the named Secret Manager secrets only)",
      },
      { parent: this },
    );
    this.member = pulumi.interpolate`serviceAccount:${this.serviceAccount.email}`;
    const binding = new gcp.serviceaccount.IAMMember(
      `${name}-workload-identity`,
      {
        serviceAccountId: this.serviceAccount.name,
        role: "roles/iam.workloadIdentityUser",
        member: `serviceAccount:${args.workloadPool}[${ESO_NAMESPACE}/${RELEASE}]`,
      },
      { parent: this },
    );

    // restricted: the controller, its webhook and its cert controller run non-root, read-only, without capabilities.
    const ns = new HardenedNamespace(
      `${name}-ns`,
      {
        provider,
        name: ESO_NAMESPACE,
        podSecurity: "restricted",
        allowApiServerEgress: true,
        allowScrapingFrom: { namespace: "monitoring", ports: [METRICS_PORT] },
      },
      { parent: this, dependsOn: args.dependsOn },
    );
    const k8sOpts = { parent: this, provider, dependsOn: [...args.dependsOn, ns] };
    allow(
      `${name}-allow-webhook`,
      {
        namespace: ESO_NAMESPACE,
        name: "allow-webhook-from-apiserver",
        podLabels: { "app.kubernetes.io/name": "external-secrets-webhook" },
        ingress: [{ from: [ANYWHERE], ports: tcp(WEBHOOK_PORT) }],
      },
      k8sOpts,
    );
    // Secret Manager's API over HTTPS, and the metadata server that hands out the Workload Identity token.
    allow(
      `${name}-allow-secret-manager`,
      {
        namespace: ESO_NAMESPACE,
        name: "allow-secret-manager",
        podLabels: { "app.kubernetes.io/name": "external-secrets" },
        egress: [{ to: [ANYWHERE], ports: tcp(443) }, ...GKE_METADATA_EGRESS],
      },
      k8sOpts,
    );

    const small = sizing({ cpu: "20m", memory: "64Mi", memoryLimit: "128Mi" });
    const common = {
      replicaCount: args.replicas,
      podDisruptionBudget: podDisruptionBudget(args.replicas),
      podSecurityContext: { enabled: true, ...podSecurity() },
      securityContext: { enabled: true, ...containerSecurity() },
    };
    const release = pinnedRelease(
      `${name}-release`,
      {
        chart: charts.externalSecrets,
        source: args.chartSource,
        imageMirror: args.imageMirror,
        releaseName: RELEASE,
        namespace: ESO_NAMESPACE,
        values: {
          // The CRDs are templates of the published chart, upgraded with the release (crdUpgrades in versions.ts).
          installCRDs: true,
          ...common,
          leaderElect: true,
          resources: sizing({ cpu: "50m", memory: "128Mi", memoryLimit: "256Mi" }),
          serviceAccount: { annotations: { "iam.gke.io/gcp-service-account": this.serviceAccount.email } },
          livenessProbe: { enabled: true },
          readinessProbe: { enabled: true },
          // The registry's secrets only flow into the cluster: nothing is ever pushed back to Secret Manager.
          processPushSecret: false,
          processClusterPushSecret: false,
          webhook: { ...common, resources: small, livenessProbe: { enabled: true } },
          certController: { ...common, resources: small, livenessProbe: { enabled: true } },
        },
      },
      { ...k8sOpts, dependsOn: [...k8sOpts.dependsOn, binding] },
    );

    const store = new k8s.apiextensions.CustomResource(
      `${name}-store`,
      {
        apiVersion: "external-secrets.io/v1",
        kind: SECRET_STORE.kind,
        metadata: { name: SECRET_STORE.name },
        spec: {
          // No `auth`: the controller's own Workload Identity (the annotated Kubernetes service account) is used.
          provider: { gcpsm: { projectID: args.project } },
          conditions: [{ namespaces: [...args.consumerNamespaces] }],
        },
      },
      { parent: this, provider, dependsOn: [release] },
    );
    this.ready = [release, store];
    this.registerOutputs({ serviceAccount: this.serviceAccount.email });
  }

  /** Prometheus scrapes the controller once the monitoring stack's CRDs exist (they come after ESO). */
  monitor(
    name: string,
    args: { selectorLabels: Readonly<Record<string, string>>; dependsOn: pulumi.Resource[] },
    provider: k8s.Provider,
  ): void {
    new k8s.apiextensions.CustomResource(
      name,
      {
        apiVersion: "monitoring.coreos.com/v1",
        kind: "PodMonitor",
        metadata: { name: "external-secrets", namespace: ESO_NAMESPACE, labels: { ...args.selectorLabels } },
        spec: {
          selector: { matchLabels: { "app.kubernetes.io/name": "external-secrets" } },
          podMetricsEndpoints: [{ port: "metrics", interval: "30s" }],
        },
      },
      { parent: this, provider, dependsOn: [...this.ready, ...args.dependsOn] },
    );
  }
}
