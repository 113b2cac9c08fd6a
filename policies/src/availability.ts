// Availability (mandatory in staging and production, advisory on local): replicas, spreading, database size.
import { K8S, metadataName, namespaceOf, objectRef, podSpecOf } from "./core/kubernetes";
import { resourcePolicy, stackPolicy } from "./core/policy";
import { list, num, recAt, strAt } from "./core/values";

export const deploymentReplicas = stackPolicy({
  name: "availability-deployment-replicas",
  description:
    "Every Deployment runs at least minReplicas pods: spec.replicas >= minReplicas, or a HorizontalPodAutoscaler " +
    "targets it with minReplicas >= minReplicas.",
  severity: "medium",
  category: "availability",
  remediationSteps:
    "Set spec.replicas (or the HPA's minReplicas) to at least 2 so one pod can be lost or rescheduled.",
  controls: [
    { source: "kube-score", id: "deployment-replicas" },
    { source: "Polaris", id: "deploymentMissingReplicas" },
  ],
  appliesTo: [K8S.deployment],
  config: { minReplicas: { type: "number", default: 2, description: "Fewest pods a Deployment may run." } },
  validate: ({ resources, config, report }) => {
    const hpas = resources.filter((r) => r.type === K8S.hpa);
    for (const deployment of resources.filter((r) => r.type === K8S.deployment)) {
      const name = metadataName(deployment.props);
      const hpa = hpas.find(
        (h) =>
          strAt(h.props, "spec", "scaleTargetRef", "kind") === "Deployment" &&
          strAt(h.props, "spec", "scaleTargetRef", "name") === name &&
          namespaceOf(h.props) === namespaceOf(deployment.props),
      );
      const hpaMin = num(recAt(hpa?.props, "spec")?.minReplicas) ?? (hpa === undefined ? undefined : 1);
      const replicas = num(recAt(deployment.props, "spec")?.replicas);
      const effective = hpaMin ?? replicas ?? 1;
      if (effective < config.minReplicas) {
        const source =
          hpaMin !== undefined
            ? "its HPA's minReplicas"
            : replicas === undefined
              ? "spec.replicas (unset)"
              : "spec.replicas";
        report(
          `Deployment ${objectRef(deployment.props, deployment.name)} runs ${effective} replica(s) by ${source}; ` +
            `at least ${config.minReplicas} are required`,
          deployment,
        );
      }
    }
  },
});

export const deploymentSpread = resourcePolicy({
  name: "availability-deployment-spread",
  description:
    "Every Deployment spreads its pods: topologySpreadConstraints or pod anti-affinity in the pod template.",
  severity: "medium",
  category: "availability",
  remediationSteps:
    "Add topologySpreadConstraints over topology.kubernetes.io/zone and kubernetes.io/hostname (or a " +
    "podAntiAffinity rule) matching the Deployment's selector labels.",
  controls: [
    { source: "kube-score", id: "deployment-has-host-podantiaffinity" },
    { source: "kube-score", id: "pod-topology-spread-constraints" },
    { source: "Polaris", id: "topologySpreadConstraint" },
  ],
  appliesTo: [K8S.deployment],
  validate: ({ resource, report }) => {
    const podSpec = podSpecOf(resource.type, resource.props);
    const spread = list(podSpec?.topologySpreadConstraints).length > 0;
    const antiAffinity = recAt(podSpec, "affinity", "podAntiAffinity");
    const hasAntiAffinity =
      list(antiAffinity?.requiredDuringSchedulingIgnoredDuringExecution).length > 0 ||
      list(antiAffinity?.preferredDuringSchedulingIgnoredDuringExecution).length > 0;
    if (!spread && !hasAntiAffinity) {
      report("the pod template has neither topologySpreadConstraints nor podAntiAffinity");
    }
  },
});

export const cnpgInstances = resourcePolicy({
  name: "availability-cnpg-instances",
  description:
    "Every CloudNativePG Cluster runs at least minInstances PostgreSQL instances (3 in production, so a zone can " +
    "be lost with a synchronous replica left).",
  severity: "high",
  category: "availability",
  remediationSteps:
    "Set spec.instances to at least the environment minimum (database.instances in the stack file).",
  controls: [{ source: "Project baseline", id: "Database survives a zone loss (production)" }],
  appliesTo: [K8S.cnpgCluster],
  config: {
    minInstances: { type: "number", default: 3, description: "Fewest PostgreSQL instances per cluster." },
  },
  validate: ({ resource, config, report }) => {
    const instances = num(recAt(resource.props, "spec")?.instances) ?? 1;
    if (instances < config.minInstances) {
      report(`spec.instances is ${instances}; at least ${config.minInstances} are required`);
    }
  },
});

export const availabilityPolicies = [deploymentReplicas, deploymentSpread, cnpgInstances];
