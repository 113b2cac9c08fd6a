// Stack-level rules that span resources: default deny per namespace, a PDB and a NetworkPolicy per
// Deployment, a backup schedule per database.
import {
  K8S,
  isEmptySelector,
  labelsOf,
  metadataName,
  namespaceOf,
  objectRef,
  podTemplateMetadataOf,
  selectorMatches,
} from "./core/kubernetes";
import { stackPolicy, type Subject } from "./core/policy";
import { list, rec, recAt, strAt } from "./core/values";

/** A NetworkPolicy that selects every pod, for both directions, and allows nothing. */
export function isDefaultDeny(policy: Subject): boolean {
  const spec = recAt(policy.props, "spec");
  const types = list(spec?.policyTypes);
  return (
    rec(spec?.podSelector) !== undefined &&
    isEmptySelector(rec(spec?.podSelector)) &&
    types.includes("Ingress") &&
    types.includes("Egress") &&
    list(spec?.ingress).length === 0 &&
    list(spec?.egress).length === 0
  );
}

export const namespaceDefaultDeny = stackPolicy({
  name: "stack-namespace-default-deny",
  description:
    "Every Namespace the program creates has a default-deny NetworkPolicy: podSelector {} with policyTypes " +
    "Ingress and Egress and no rules (infra/lib/namespace.ts HardenedNamespace creates it).",
  severity: "high",
  category: "security",
  remediationSteps:
    "Create the namespace with HardenedNamespace, or add the default-deny NetworkPolicy to it.",
  controls: [
    { source: "checkov", id: "CKV2_K8S_6" },
    { source: "kube-score", id: "pod-networkpolicy" },
    { source: "Polaris", id: "missingNetworkPolicy" },
  ],
  appliesTo: [K8S.namespace],
  validate: ({ resources, report }) => {
    const denies = resources.filter((r) => r.type === K8S.networkPolicy && isDefaultDeny(r));
    for (const namespace of resources.filter((r) => r.type === K8S.namespace)) {
      const name = metadataName(namespace.props) ?? namespace.name;
      if (!denies.some((d) => namespaceOf(d.props) === name)) {
        report(`Namespace ${name} has no default-deny NetworkPolicy`, namespace);
      }
    }
  },
});

function podLabels(deployment: Subject): Readonly<Record<string, string>> {
  return labelsOf(podTemplateMetadataOf(deployment.type, deployment.props));
}

export const deploymentPdb = stackPolicy({
  name: "stack-deployment-pdb",
  description:
    "Every Deployment has a PodDisruptionBudget in its namespace whose selector matches the Deployment's pod " +
    "labels, with minAvailable or maxUnavailable set.",
  severity: "medium",
  category: "availability",
  remediationSteps:
    "Add a policy/v1 PodDisruptionBudget (maxUnavailable: 1) selecting the Deployment's selector labels.",
  controls: [
    { source: "kube-score", id: "deployment-has-poddisruptionbudget" },
    { source: "Polaris", id: "missingPodDisruptionBudget" },
  ],
  appliesTo: [K8S.deployment],
  validate: ({ resources, report }) => {
    const pdbs = resources.filter((r) => r.type === K8S.pdb);
    for (const deployment of resources.filter((r) => r.type === K8S.deployment)) {
      const labels = podLabels(deployment);
      const matching = pdbs.filter(
        (p) =>
          namespaceOf(p.props) === namespaceOf(deployment.props) &&
          !isEmptySelector(recAt(p.props, "spec", "selector")) &&
          selectorMatches(recAt(p.props, "spec", "selector"), labels),
      );
      const ref = objectRef(deployment.props, deployment.name);
      if (matching.length === 0)
        report(`Deployment ${ref} has no PodDisruptionBudget selecting its pods`, deployment);
      else if (
        !matching.some((p) => {
          const spec = recAt(p.props, "spec");
          return spec?.minAvailable !== undefined || spec?.maxUnavailable !== undefined;
        })
      ) {
        report(
          `the PodDisruptionBudget of Deployment ${ref} sets neither minAvailable nor maxUnavailable`,
          deployment,
        );
      }
    }
  },
});

export const deploymentNetworkPolicy = stackPolicy({
  name: "stack-deployment-network-policy",
  description:
    "Every Deployment is selected by a NetworkPolicy of its own (a non-empty podSelector matching its pod labels) " +
    "that states the traffic it may receive and send; the namespace's default deny alone does not count.",
  severity: "high",
  category: "security",
  remediationSteps:
    "Add a NetworkPolicy in the Deployment's namespace whose podSelector matches its selector labels, allowing " +
    "only the ingress and egress it needs.",
  controls: [
    { source: "checkov", id: "CKV2_K8S_6" },
    { source: "kube-score", id: "pod-networkpolicy" },
    { source: "Polaris", id: "missingNetworkPolicy" },
  ],
  appliesTo: [K8S.deployment],
  validate: ({ resources, report }) => {
    const policies = resources.filter((r) => r.type === K8S.networkPolicy);
    for (const deployment of resources.filter((r) => r.type === K8S.deployment)) {
      const labels = podLabels(deployment);
      const selected = policies.some((p) => {
        const selector = recAt(p.props, "spec", "podSelector");
        return (
          namespaceOf(p.props) === namespaceOf(deployment.props) &&
          !isEmptySelector(selector) &&
          selectorMatches(selector, labels)
        );
      });
      if (!selected) {
        report(
          `Deployment ${objectRef(deployment.props, deployment.name)} is selected by no NetworkPolicy of its own`,
          deployment,
        );
      }
    }
  },
});

/** CNPG Clusters that are backup sources (a cluster bootstrapped by recovery is a restore target, e.g. a drill). */
export function sourceDatabases(resources: readonly Subject[]): Subject[] {
  return resources.filter(
    (r) => r.type === K8S.cnpgCluster && rec(recAt(r.props, "spec", "bootstrap")?.recovery) === undefined,
  );
}

export const databaseBackupSchedule = stackPolicy({
  name: "stack-database-backup-schedule",
  description:
    "Every CloudNativePG Cluster (other than recovery-bootstrapped restore targets) has a ScheduledBackup in its " +
    "namespace (spec.cluster.name) that is not suspended.",
  severity: "high",
  category: "security",
  remediationSteps:
    "Add a postgresql.cnpg.io/v1 ScheduledBackup with spec.cluster.name set to the Cluster, method plugin " +
    "(barman-cloud.cloudnative-pg.io).",
  controls: [{ source: "Project baseline", id: "Scheduled database backups" }],
  appliesTo: [K8S.cnpgCluster],
  validate: ({ resources, report }) => {
    const schedules = resources.filter((r) => r.type === K8S.scheduledBackup);
    for (const cluster of sourceDatabases(resources)) {
      const name = metadataName(cluster.props);
      const schedule = schedules.find(
        (s) =>
          strAt(s.props, "spec", "cluster", "name") === name &&
          namespaceOf(s.props) === namespaceOf(cluster.props),
      );
      const ref = objectRef(cluster.props, cluster.name);
      if (schedule === undefined) report(`database ${ref} has no ScheduledBackup`, cluster);
      else if (recAt(schedule.props, "spec")?.suspend === true) {
        report(`the ScheduledBackup of database ${ref} is suspended`, schedule);
      }
    }
  },
});

export const stackPolicies = [
  namespaceDefaultDeny,
  deploymentPdb,
  deploymentNetworkPolicy,
  databaseBackupSchedule,
];
