// The MCPServer controller (registry-app's `controller` command, same image): its CRDs (generated in registry-app),
// its own restricted namespace, least-privilege RBAC, a hardened Deployment whose only credentials are two projected
// service account tokens (one for the API server, one with audience `mcp-registry` that the registry exchanges at
// /auth/kubernetes), NetworkPolicies, a PodMonitor and alerts on reconcile failures.
import * as fs from "node:fs";
import * as path from "node:path";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { parseAllDocuments } from "yaml";
import { HardenedNamespace } from "../lib/namespace";
import { appLabels, hardenedContainer, hardenedPodSpec, httpProbes, selectorLabels } from "../lib/workload";
import type { Platform } from "../platform/types";
import type { ResourceSettings } from "../settings";
import type { RuleGroup } from "./alerts";

export const CONTROLLER_NAMESPACE = "mcp-registry-controller";
export const CONTROLLER_SERVICE_ACCOUNT = "registry-controller";
export const CONTROLLER_PORT = 8080;
/** Audience of the projected token the registry accepts at /auth/kubernetes. */
export const CONTROLLER_AUDIENCE = "mcp-registry";
export const CONTROLLER_LEASE = "mcp-registry-controller";
export const CONTROLLER_SELECTOR = selectorLabels("registry-controller", "controller");
const GROUP = "mcp-registry.io";

/** The CRDs as registry-app generates them from its zod schemas (`npm run crds -w registry-app`). */
export const CRDS_FILE = path.resolve(__dirname, "..", "..", "registry-app", "crds", "mcp-registry.io.yaml");

export const CONTROLLER_RESOURCES: ResourceSettings = {
  requests: { cpu: "50m", memory: "128Mi" },
  limits: { cpu: "250m", memory: "256Mi" },
};

type PolicyRule = k8s.types.input.rbac.v1.PolicyRule;

export type CrdManifest = k8s.apiextensions.v1.CustomResourceDefinitionArgs & { metadata: { name: string } };

/** Every CustomResourceDefinition in the generated file; throws naming the file when one is malformed. */
export function controllerCrdManifests(file = CRDS_FILE): CrdManifest[] {
  return parseAllDocuments(fs.readFileSync(file, "utf8")).map((doc, index) => {
    const manifest = doc.toJS() as { kind?: unknown; metadata?: { name?: unknown }; spec?: unknown } | null;
    if (
      manifest?.kind !== "CustomResourceDefinition" ||
      typeof manifest.metadata?.name !== "string" ||
      !manifest.spec
    )
      throw new Error(`${file}: document ${index + 1} is not a CustomResourceDefinition`);
    // Checked above as far as the program relies on it; the API server validates the rest.
    return manifest as unknown as CrdManifest;
  });
}

/** What the controller may do cluster-wide: read MCPServers and grants, patch MCPServers (finalizers) and their status, record events. */
export const CONTROLLER_CLUSTER_RULES: readonly PolicyRule[] = [
  { apiGroups: [GROUP], resources: ["mcpservers"], verbs: ["get", "list", "watch", "patch"] },
  { apiGroups: [GROUP], resources: ["mcpservers/status"], verbs: ["get", "patch"] },
  { apiGroups: [GROUP], resources: ["mcpnamespacegrants"], verbs: ["get", "list", "watch"] },
  { apiGroups: [""], resources: ["events"], verbs: ["create"] },
];

/** In its own namespace: its leader-election Lease (create cannot be narrowed to a name, the rest is). */
export const CONTROLLER_LEASE_RULES: readonly PolicyRule[] = [
  { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["create"] },
  {
    apiGroups: ["coordination.k8s.io"],
    resources: ["leases"],
    resourceNames: [CONTROLLER_LEASE],
    verbs: ["get", "update"],
  },
];

/** Aggregated into the built-in `admin`/`edit` and `view` roles, so teams manage MCPServers where they work. */
const TEAM_EDIT_RULES: readonly PolicyRule[] = [
  {
    apiGroups: [GROUP],
    resources: ["mcpservers"],
    verbs: ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"],
  },
];
const TEAM_VIEW_RULES: readonly PolicyRule[] = [
  { apiGroups: [GROUP], resources: ["mcpservers", "mcpservers/status"], verbs: ["get", "list", "watch"] },
];

export interface ControllerAlertParams {
  readonly namespace: string;
}

/** Alerts on the controller's metrics (contract: registry-app/src/controller/metrics.ts). */
export function controllerRuleGroups(p: ControllerAlertParams): RuleGroup[] {
  const sel = `namespace="${p.namespace}"`;
  const runbook = { runbook: "registry-app/README.md#the-mcpserver-controller" };
  return [
    {
      name: "mcp-registry-controller",
      rules: [
        {
          alert: "MCPServerControllerReconcileFailing",
          expr: `sum by (reason) (rate(mcp_registry_controller_reconcile_failures_total{${sel}, reason=~"RegistryUnavailable|Error"}[10m])) > 0`,
          for: "15m",
          labels: { severity: "warning" },
          annotations: {
            summary: "The MCPServer controller keeps failing to publish ({{ $labels.reason }})",
            description:
              "Reconciliations fail for 15 minutes because the registry is unreachable or refuses the controller's login, or on an internal error; MCPServer changes are not reaching the registry.",
            ...runbook,
          },
        },
        {
          alert: "MCPServerResourcesRejected",
          expr: `sum by (reason) (increase(mcp_registry_controller_reconcile_failures_total{${sel}, reason=~"Invalid|Forbidden|Conflict"}[1h])) > 0`,
          labels: { severity: "info" },
          annotations: {
            summary:
              "MCPServer resources are refused ({{ $labels.reason }}); their teams see why in the status",
            description:
              "kubectl get mcpservers -A shows which; each carries a Ready=False condition with the reason.",
            ...runbook,
          },
        },
        {
          alert: "MCPServerControllerNoLeader",
          expr: `max(mcp_registry_controller_leader{${sel}}) < 1 or absent(mcp_registry_controller_leader{${sel}})`,
          for: "10m",
          labels: { severity: "warning" },
          annotations: {
            summary: "No MCPServer controller replica holds the leader lease: nothing is being published",
            ...runbook,
          },
        },
        {
          alert: "MCPServerControllerQueueBacklog",
          expr: `max(mcp_registry_controller_queue_depth{${sel}}) > 50`,
          for: "15m",
          labels: { severity: "warning" },
          annotations: {
            summary: "More than 50 MCPServers have been waiting for the controller for 15 minutes",
            ...runbook,
          },
        },
      ],
    },
  ];
}

export interface RegistryControllerArgs {
  readonly provider: k8s.Provider;
  readonly image: pulumi.Input<string>;
  readonly imagePullPolicy: pulumi.Input<string>;
  readonly replicas: number;
  /** The registry Service the controller publishes through, and its public URL for status.registryUrl. */
  readonly registry: {
    readonly namespace: string;
    readonly serviceName: string;
    readonly port: number;
    readonly podSelector: Readonly<Record<string, string>>;
    readonly publicUrl: string;
  };
  /**
   * Let anonymous clients read the service account issuer's discovery document and keys, for a registry that
   * verifies tokens against the API server itself (Minikube); GKE publishes them on the internet already.
   */
  readonly publicIssuerDiscovery: boolean;
  readonly platform: Pick<Platform, "monitoring" | "ready">;
  readonly resources?: ResourceSettings;
  readonly protect: boolean;
  readonly dependsOn: pulumi.Resource[];
}

export class RegistryController extends pulumi.ComponentResource {
  readonly namespace: string = CONTROLLER_NAMESPACE;
  /** `namespace/name` of the controller's service account, for the registry's MCP_REGISTRY_KUBERNETES_SERVICE_ACCOUNTS. */
  readonly serviceAccount = `${CONTROLLER_NAMESPACE}/${CONTROLLER_SERVICE_ACCOUNT}`;
  readonly crds: k8s.apiextensions.v1.CustomResourceDefinition[];

  constructor(name: string, args: RegistryControllerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mcp-registry:registry:RegistryController", name, {}, opts);
    if (args.replicas < 1) throw new Error("RegistryController: replicas must be at least 1");
    const { provider } = args;
    const child = { parent: this, provider };
    const labels = appLabels("registry-controller", "controller");

    // CRDs outlive the controller: deleting one would delete every MCPServer of every team.
    this.crds = controllerCrdManifests().map(
      (manifest) =>
        new k8s.apiextensions.v1.CustomResourceDefinition(
          `${name}-crd-${manifest.metadata.name.split(".")[0]}`,
          manifest,
          { ...child, protect: args.protect },
        ),
    );

    const ns = new HardenedNamespace(
      `${name}-namespace`,
      {
        provider,
        name: CONTROLLER_NAMESPACE,
        podSecurity: "restricted",
        allowApiServerEgress: true,
        allowScrapingFrom: { namespace: args.platform.monitoring.namespace, ports: [CONTROLLER_PORT] },
      },
      { parent: this },
    );
    const inNamespace = { ...child, dependsOn: [ns] };

    const account = new k8s.core.v1.ServiceAccount(
      `${name}-account`,
      {
        metadata: { name: CONTROLLER_SERVICE_ACCOUNT, namespace: CONTROLLER_NAMESPACE, labels },
        automountServiceAccountToken: false,
      },
      inNamespace,
    );
    const subject = {
      kind: "ServiceAccount",
      name: CONTROLLER_SERVICE_ACCOUNT,
      namespace: CONTROLLER_NAMESPACE,
    };
    const clusterRole = new k8s.rbac.v1.ClusterRole(
      `${name}-cluster-role`,
      { metadata: { name: "mcp-registry-controller", labels }, rules: [...CONTROLLER_CLUSTER_RULES] },
      child,
    );
    new k8s.rbac.v1.ClusterRoleBinding(
      `${name}-cluster-role-binding`,
      {
        metadata: { name: "mcp-registry-controller", labels },
        roleRef: {
          apiGroup: "rbac.authorization.k8s.io",
          kind: "ClusterRole",
          name: clusterRole.metadata.name,
        },
        subjects: [subject],
      },
      { ...child, dependsOn: [account] },
    );
    const leaseRole = new k8s.rbac.v1.Role(
      `${name}-lease-role`,
      {
        metadata: { name: "leader-election", namespace: CONTROLLER_NAMESPACE, labels },
        rules: [...CONTROLLER_LEASE_RULES],
      },
      inNamespace,
    );
    new k8s.rbac.v1.RoleBinding(
      `${name}-lease-role-binding`,
      {
        metadata: { name: "leader-election", namespace: CONTROLLER_NAMESPACE, labels },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: leaseRole.metadata.name },
        subjects: [subject],
      },
      { ...inNamespace, dependsOn: [ns, account] },
    );
    for (const [suffix, aggregate, rules] of [
      ["edit", ["admin", "edit"], TEAM_EDIT_RULES],
      ["view", ["view"], TEAM_VIEW_RULES],
    ] as const) {
      new k8s.rbac.v1.ClusterRole(
        `${name}-team-${suffix}`,
        {
          metadata: {
            name: `mcp-registry-mcpservers-${suffix}`,
            labels: {
              ...labels,
              ...Object.fromEntries(
                aggregate.map((role) => [`rbac.authorization.k8s.io/aggregate-to-${role}`, "true"]),
              ),
            },
          },
          rules: [...rules],
        },
        child,
      );
    }
    if (args.publicIssuerDiscovery) {
      new k8s.rbac.v1.ClusterRoleBinding(
        `${name}-issuer-discovery`,
        {
          metadata: { name: "mcp-registry-service-account-issuer-discovery", labels },
          roleRef: {
            apiGroup: "rbac.authorization.k8s.io",
            kind: "ClusterRole",
            name: "system:service-account-issuer-discovery",
          },
          // Only the issuer's discovery document and public keys (the built-in role's two paths).
          subjects: [
            { apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: "system:unauthenticated" },
          ],
        },
        child,
      );
    }

    const registryUrl = `http://${args.registry.serviceName}.${args.registry.namespace}.svc:${args.registry.port}`;
    const container = {
      ...hardenedContainer({
        name: "controller",
        image: args.image,
        imagePullPolicy: args.imagePullPolicy,
        command: ["node", "dist/src/main.js", "controller"],
        env: [
          { name: "MCP_REGISTRY_CONTROLLER_REGISTRY_URL", value: registryUrl },
          { name: "MCP_REGISTRY_CONTROLLER_PUBLIC_URL", value: args.registry.publicUrl },
          { name: "MCP_REGISTRY_CONTROLLER_TOKEN_FILE", value: "/var/run/secrets/mcp-registry/token" },
          { name: "MCP_REGISTRY_CONTROLLER_ADDRESS", value: `:${CONTROLLER_PORT}` },
          { name: "MCP_REGISTRY_CONTROLLER_LEASE_NAME", value: CONTROLLER_LEASE },
          {
            name: "MCP_REGISTRY_CONTROLLER_NAMESPACE",
            valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } },
          },
          {
            name: "MCP_REGISTRY_CONTROLLER_IDENTITY",
            valueFrom: { fieldRef: { fieldPath: "metadata.name" } },
          },
        ],
        resources: args.resources ?? CONTROLLER_RESOURCES,
        volumeMounts: [
          {
            name: "kube-api-access",
            mountPath: "/var/run/secrets/kubernetes.io/serviceaccount",
            readOnly: true,
          },
          { name: "registry-token", mountPath: "/var/run/secrets/mcp-registry", readOnly: true },
        ],
      }),
      ports: [{ name: "http", containerPort: CONTROLLER_PORT, protocol: "TCP" }],
      ...httpProbes(3),
    };
    new k8s.apps.v1.Deployment(
      `${name}-deployment`,
      {
        metadata: { name: "registry-controller", namespace: CONTROLLER_NAMESPACE, labels },
        spec: {
          replicas: args.replicas,
          revisionHistoryLimit: 5,
          selector: { matchLabels: { ...CONTROLLER_SELECTOR } },
          template: {
            metadata: { labels },
            spec: hardenedPodSpec({
              serviceAccountName: account.metadata.name,
              // The lease is released on SIGTERM; a standby takes over at once.
              terminationGracePeriodSeconds: 30,
              topologySpreadConstraints: [
                {
                  maxSkew: 1,
                  topologyKey: "kubernetes.io/hostname",
                  whenUnsatisfiable: "ScheduleAnyway",
                  labelSelector: { matchLabels: { ...CONTROLLER_SELECTOR } },
                },
              ],
              containers: [container],
              volumes: [
                {
                  // What automounting would give, written out, since automountServiceAccountToken is off.
                  name: "kube-api-access",
                  projected: {
                    defaultMode: 0o444,
                    sources: [
                      { serviceAccountToken: { path: "token", expirationSeconds: 3607 } },
                      { configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] } },
                      {
                        downwardAPI: {
                          items: [{ path: "namespace", fieldRef: { fieldPath: "metadata.namespace" } }],
                        },
                      },
                    ],
                  },
                },
                {
                  // Useless to the API server (wrong audience); the registry exchanges it for a registry token.
                  name: "registry-token",
                  projected: {
                    defaultMode: 0o444,
                    sources: [
                      {
                        serviceAccountToken: {
                          path: "token",
                          audience: CONTROLLER_AUDIENCE,
                          expirationSeconds: 3600,
                        },
                      },
                    ],
                  },
                },
              ],
            }),
          },
        },
      },
      { ...inNamespace, dependsOn: [ns, ...this.crds, ...args.dependsOn] },
    );
    if (args.replicas > 1) {
      new k8s.policy.v1.PodDisruptionBudget(
        `${name}-pdb`,
        {
          metadata: { name: "registry-controller", namespace: CONTROLLER_NAMESPACE, labels },
          spec: { maxUnavailable: 1, selector: { matchLabels: { ...CONTROLLER_SELECTOR } } },
        },
        inNamespace,
      );
    }

    new k8s.networking.v1.NetworkPolicy(
      `${name}-egress`,
      {
        metadata: { name: "registry-controller-egress", namespace: CONTROLLER_NAMESPACE, labels },
        spec: {
          podSelector: { matchLabels: { ...CONTROLLER_SELECTOR } },
          policyTypes: ["Egress"],
          egress: [
            {
              to: [
                {
                  namespaceSelector: {
                    matchLabels: { "kubernetes.io/metadata.name": args.registry.namespace },
                  },
                  podSelector: { matchLabels: { ...args.registry.podSelector } },
                },
              ],
              ports: [{ protocol: "TCP", port: args.registry.port }],
            },
          ],
        },
      },
      inNamespace,
    );

    const monitored = {
      ...appLabels("registry-controller", "monitoring"),
      ...args.platform.monitoring.selectorLabels,
    };
    const crd = { ...inNamespace, dependsOn: [ns, ...args.platform.ready] };
    new k8s.apiextensions.CustomResource(
      `${name}-pod-monitor`,
      {
        apiVersion: "monitoring.coreos.com/v1",
        kind: "PodMonitor",
        metadata: { name: "registry-controller", namespace: CONTROLLER_NAMESPACE, labels: monitored },
        spec: {
          selector: { matchLabels: { ...CONTROLLER_SELECTOR } },
          podMetricsEndpoints: [{ port: "http", path: "/metrics", interval: "30s", scrapeTimeout: "10s" }],
        },
      },
      crd,
    );
    new k8s.apiextensions.CustomResource(
      `${name}-rules`,
      {
        apiVersion: "monitoring.coreos.com/v1",
        kind: "PrometheusRule",
        metadata: { name: "registry-controller", namespace: CONTROLLER_NAMESPACE, labels: monitored },
        spec: { groups: controllerRuleGroups({ namespace: CONTROLLER_NAMESPACE }) },
      },
      crd,
    );
    this.registerOutputs({ namespace: this.namespace, serviceAccount: this.serviceAccount });
  }
}
