// The reviewed exemptions allowlist. Each entry lets one resource break one policy, for a stated reason;
// the violation is still reported (as advisory, quoting the entry) and every entry is listed in REPORT.md.
// Changes to this file need a security reviewer's approval (CODEOWNERS).
// Objects a Helm chart renders are named `<release>:<Kind>:<namespace>/<name>` (test/charts renders them in CI).
import type { Exemption } from "./src/core/exemption";

const NODE_EXPORTER =
  "kube-prometheus-stack:DaemonSet:monitoring-node/kube-prometheus-stack-prometheus-node-exporter";
const NODE_EXPORTER_REASON =
  "node-exporter reports the node itself: it reads the host's /proc, /sys and root filesystem (read-only hostPath " +
  "mounts) in the host's PID and network namespaces. It runs alone in the privileged namespace monitoring-node " +
  "(reason on the namespace), non-root, read-only, without capabilities or privilege escalation";
const CHART_REVIEW = "platform-security (issue 10 review of the rendered charts)";

/** node-exporter's host access, one exemption per PSS rule it needs. */
function nodeExporterExemption(id: string, policy: string): Exemption {
  return {
    id,
    policy,
    resourceType: "kubernetes:apps/v1:DaemonSet",
    resourceName: NODE_EXPORTER,
    reason: NODE_EXPORTER_REASON,
    approvedBy: CHART_REVIEW,
    approvedOn: "2026-12-02",
    expiresOn: "2027-12-31",
  };
}

export const exemptions: readonly Exemption[] = [
  {
    id: "EX-001",
    policy: "pods-no-service-account-token",
    resourceType: "kubernetes:batch/v1:CronJob",
    resourceName: "restore-drill-cronjob",
    reason:
      "the restore drill creates, waits for and deletes its scratch CloudNativePG Cluster with kubectl; the token " +
      "is bound to the restore-drill Role (get/list/watch/create/delete postgresql.cnpg.io clusters in its own " +
      "namespace only) and the ServiceAccount itself does not automount",
    approvedBy: "platform-security (issue 7 review)",
    approvedOn: "2026-11-27",
  },
  nodeExporterExemption("EX-003", "pods-host-namespaces"),
  nodeExporterExemption("EX-004", "pods-no-host-access"),
  nodeExporterExemption("EX-005", "pods-restricted-volume-types"),
  {
    id: "EX-006",
    policy: "pods-no-service-account-token",
    resourceType: "kubernetes:apps/v1:Deployment",
    resourceName: [
      "barman-cloud:Deployment:cnpg-system/barman-cloud-plugin-barman-cloud",
      "cert-manager:Deployment:cert-manager/cert-manager",
      "cert-manager:Deployment:cert-manager/cert-manager-cainjector",
      "cert-manager:Deployment:cert-manager/cert-manager-webhook",
      "cnpg:Deployment:cnpg-system/cnpg-cloudnative-pg",
      "external-secrets:Deployment:external-secrets/external-secrets",
      "external-secrets:Deployment:external-secrets/external-secrets-cert-controller",
      "external-secrets:Deployment:external-secrets/external-secrets-webhook",
      "k8up:Deployment:k8up/k8up",
      "kube-prometheus-stack:Deployment:monitoring/kube-prometheus-stack-grafana",
      "kube-prometheus-stack:Deployment:monitoring/kube-prometheus-stack-kube-state-metrics",
      "kube-prometheus-stack:Deployment:monitoring/kube-prometheus-stack-operator",
      "nginx-gateway:Deployment:gateway/nginx-gateway-nginx-gateway-fabric",
    ],
    reason:
      "operators and controllers whose job is to watch and write the Kubernetes API (Grafana's sidecars watch " +
      "dashboard ConfigMaps; External Secrets writes the Secrets it syncs and its webhook's certificate); each " +
      "chart binds its ServiceAccount to the chart's own RBAC, reviewed with the pin",
    approvedBy: CHART_REVIEW,
    approvedOn: "2026-12-02",
    expiresOn: "2027-12-31",
  },
  {
    id: "EX-007",
    policy: "pods-no-service-account-token",
    resourceType: "kubernetes:batch/v1:Job",
    resourceName: [
      "cert-manager:Job:cert-manager/cert-manager-startupapicheck",
      "k8up:Job:k8up/k8up-cleanup",
      "kube-prometheus-stack:Job:monitoring/kube-prometheus-stack-admission-create",
      "kube-prometheus-stack:Job:monitoring/kube-prometheus-stack-admission-patch",
      "nginx-gateway:Job:gateway/nginx-gateway-nginx-gateway-fabric-cert-generator",
    ],
    reason:
      "Helm hook Jobs that run once per install or upgrade to create certificates, patch webhook configurations, " +
      "check the API or clean up; each has a ServiceAccount and RBAC of its own, created and deleted with the hook",
    approvedBy: CHART_REVIEW,
    approvedOn: "2026-12-02",
    expiresOn: "2027-12-31",
  },
  {
    id: "EX-008",
    policy: "pods-probes",
    resourceType: "kubernetes:apps/v1:Deployment",
    resourceName: [
      "barman-cloud:Deployment:cnpg-system/barman-cloud-plugin-barman-cloud",
      "cert-manager:Deployment:cert-manager/cert-manager",
      "cert-manager:Deployment:cert-manager/cert-manager-cainjector",
      "k8up:Deployment:k8up/k8up",
      "kube-prometheus-stack:Deployment:monitoring/kube-prometheus-stack-grafana",
      "nginx-gateway:Deployment:gateway/nginx-gateway-nginx-gateway-fabric",
    ],
    reason:
      "the pinned charts define no probe (or only one of the two) for these containers and expose no value to add " +
      "one: cert-manager's controller and cainjector, K8up, the Barman Cloud plugin, NGINX Gateway Fabric's " +
      "control plane and Grafana's dashboard sidecars. Their failures surface through the operators' own metrics " +
      "and alerts; revisit with each chart bump",
    approvedBy: CHART_REVIEW,
    approvedOn: "2026-12-02",
    expiresOn: "2027-06-30",
  },
  {
    id: "EX-009",
    policy: "pods-resources",
    resourceType: "kubernetes:batch/v1:Job",
    resourceName: "nginx-gateway:Job:gateway/nginx-gateway-nginx-gateway-fabric-cert-generator",
    reason:
      "NGINX Gateway Fabric 2.2.2's cert-generator hook Job has no resources value; it runs for seconds per " +
      "install or upgrade and the gateway namespace has no other batch work",
    approvedBy: CHART_REVIEW,
    approvedOn: "2026-12-02",
    expiresOn: "2027-06-30",
  },
  {
    id: "EX-010",
    policy: "pods-no-service-account-token",
    resourceType: "kubernetes:apps/v1:Deployment",
    resourceName: "registry-controller-deployment",
    reason:
      "the MCPServer controller watches MCPServers and grants, patches their status and finalizers, records events " +
      "and holds its leader Lease, through a projected token bound to the ClusterRole and Role in " +
      "infra/registry/controller.ts (no wildcards, rbac-no-wildcards); automounting stays off, and its second " +
      "projected token has the audience mcp-registry, which the API server refuses",
    approvedBy: "platform-security (issue 15 review)",
    approvedOn: "2026-12-02",
  },
];
