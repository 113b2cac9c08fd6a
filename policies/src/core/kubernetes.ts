// Kubernetes object helpers: where each workload kind keeps its pod template, its containers, label selectors.
import { list, listAt, rec, recAt, str, strAt, stringMap, type Props } from "./values";

export const K8S = {
  namespace: "kubernetes:core/v1:Namespace",
  pod: "kubernetes:core/v1:Pod",
  service: "kubernetes:core/v1:Service",
  secret: "kubernetes:core/v1:Secret",
  configMap: "kubernetes:core/v1:ConfigMap",
  pvc: "kubernetes:core/v1:PersistentVolumeClaim",
  deployment: "kubernetes:apps/v1:Deployment",
  statefulSet: "kubernetes:apps/v1:StatefulSet",
  daemonSet: "kubernetes:apps/v1:DaemonSet",
  replicaSet: "kubernetes:apps/v1:ReplicaSet",
  job: "kubernetes:batch/v1:Job",
  cronJob: "kubernetes:batch/v1:CronJob",
  networkPolicy: "kubernetes:networking.k8s.io/v1:NetworkPolicy",
  pdb: "kubernetes:policy/v1:PodDisruptionBudget",
  hpa: "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
  gateway: "kubernetes:gateway.networking.k8s.io/v1:Gateway",
  httpRoute: "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute",
  cnpgCluster: "kubernetes:postgresql.cnpg.io/v1:Cluster",
  scheduledBackup: "kubernetes:postgresql.cnpg.io/v1:ScheduledBackup",
  objectStore: "kubernetes:barmancloud.cnpg.io/v1:ObjectStore",
  role: "kubernetes:rbac.authorization.k8s.io/v1:Role",
  clusterRole: "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole",
  crd: "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition",
  helmChartV4: "kubernetes:helm.sh/v4:Chart",
  helmReleaseV3: "kubernetes:helm.sh/v3:Release",
  externalSecret: "kubernetes:external-secrets.io/v1:ExternalSecret",
  validatingAdmissionPolicy: "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy",
  validatingAdmissionPolicyBinding:
    "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding",
} as const;

/** Path from the object to its pod template, per workload kind. */
const TEMPLATE_PATH: Readonly<Record<string, readonly string[]>> = {
  [K8S.deployment]: ["spec", "template"],
  [K8S.statefulSet]: ["spec", "template"],
  [K8S.daemonSet]: ["spec", "template"],
  [K8S.replicaSet]: ["spec", "template"],
  [K8S.job]: ["spec", "template"],
  [K8S.cronJob]: ["spec", "jobTemplate", "spec", "template"],
};

/** Kinds that carry a pod spec: the PSS and workload policies apply to all of them. */
export const WORKLOAD_TYPES: readonly string[] = [K8S.pod, ...Object.keys(TEMPLATE_PATH)];

/** Workloads that run until stopped (probes apply), as opposed to run-to-completion Jobs. */
export const LONG_RUNNING_TYPES: readonly string[] = [
  K8S.pod,
  K8S.deployment,
  K8S.statefulSet,
  K8S.daemonSet,
  K8S.replicaSet,
];

export const HELM_TYPES: readonly string[] = [K8S.helmChartV4, K8S.helmReleaseV3];

export function podSpecOf(type: string, props: Props): Props | undefined {
  if (type === K8S.pod) return recAt(props, "spec");
  const path = TEMPLATE_PATH[type];
  return path === undefined ? undefined : recAt(props, ...path, "spec");
}

export function podTemplateMetadataOf(type: string, props: Props): Props | undefined {
  if (type === K8S.pod) return recAt(props, "metadata");
  const path = TEMPLATE_PATH[type];
  return path === undefined ? undefined : recAt(props, ...path, "metadata");
}

export type ContainerKind = "container" | "init container" | "ephemeral container";

export interface ContainerRef {
  readonly kind: ContainerKind;
  readonly name: string;
  readonly spec: Props;
}

export function containersOf(podSpec: Props | undefined): ContainerRef[] {
  const result: ContainerRef[] = [];
  const add = (kind: ContainerKind, key: string) => {
    listAt(podSpec, key).forEach((entry, i) => {
      const spec = rec(entry);
      if (spec !== undefined) result.push({ kind, name: str(spec.name) ?? `#${i}`, spec });
    });
  };
  add("init container", "initContainers");
  add("container", "containers");
  add("ephemeral container", "ephemeralContainers");
  return result;
}

export function describeContainer(container: ContainerRef): string {
  return `${container.kind} "${container.name}"`;
}

export function metadataName(props: Props): string | undefined {
  return strAt(props, "metadata", "name");
}

/** The object's namespace, or "" when it relies on the provider's default namespace. */
export function namespaceOf(props: Props): string {
  return strAt(props, "metadata", "namespace") ?? "";
}

/** "namespace/name" for messages; falls back to the Pulumi name when metadata.name is auto-generated. */
export function objectRef(props: Props, fallback: string): string {
  const name = metadataName(props) ?? fallback;
  const namespace = namespaceOf(props);
  return namespace === "" ? name : `${namespace}/${name}`;
}

export function labelsOf(metadata: Props | undefined): Readonly<Record<string, string>> {
  return stringMap(metadata?.labels);
}

export function annotationsOf(metadata: Props | undefined): Readonly<Record<string, string>> {
  return stringMap(metadata?.annotations);
}

/** True when a LabelSelector has no terms at all (it selects every pod). */
export function isEmptySelector(selector: Props | undefined): boolean {
  return (
    Object.keys(stringMap(selector?.matchLabels)).length === 0 &&
    list(selector?.matchExpressions).length === 0
  );
}

/** Kubernetes LabelSelector semantics (matchLabels AND matchExpressions). */
export function selectorMatches(
  selector: Props | undefined,
  labels: Readonly<Record<string, string>>,
): boolean {
  if (selector === undefined) return false;
  for (const [key, value] of Object.entries(stringMap(selector.matchLabels))) {
    if (labels[key] !== value) return false;
  }
  for (const entry of list(selector.matchExpressions)) {
    const key = strAt(entry, "key") ?? "";
    const values = listAt(entry, "values").filter((v): v is string => typeof v === "string");
    const present = Object.prototype.hasOwnProperty.call(labels, key);
    switch (strAt(entry, "operator")) {
      case "In":
        if (!present || !values.includes(labels[key] ?? "")) return false;
        break;
      case "NotIn":
        if (present && values.includes(labels[key] ?? "")) return false;
        break;
      case "Exists":
        if (!present) return false;
        break;
      case "DoesNotExist":
        if (present) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}
