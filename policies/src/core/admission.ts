// The CEL twins of the pack's key pod and image rules, as ValidatingAdmissionPolicies the API server itself enforces
// (no webhook), and their per-namespace bindings with the pack's live exemptions carried over. Pure: the program
// (infra/platform/guardrails.ts) deploys what this builds; test/guardrails proves on a real API server that each twin
// agrees with its CrossGuard policy on a shared table of good and bad pod specs.
import { isExpired, namesOf, type Exemption } from "./exemption";
import { normalizePrefix } from "./images";

/** The CrossGuard policies that have a CEL twin, by name. */
export const GUARDED_POLICIES = [
  "pods-no-privileged",
  "pods-host-namespaces",
  "pods-run-as-non-root",
  "images-pinned",
  "images-allowed-registries",
  "pods-resources",
] as const;
export type GuardedPolicy = (typeof GUARDED_POLICIES)[number];

/** Parameters from the stack's pack config (policies/config/<stack>.json), so both twins judge alike. */
export interface AdmissionParams {
  /** images-allowed-registries `allowedRegistries`. */
  readonly allowedRegistries: readonly string[];
  /** pods-resources `requireCpuLimit`. */
  readonly requireCpuLimit: boolean;
}

/** `audit`: Warn + Audit (roll-out: local, staging); `deny`: the API server refuses (production). */
export type AdmissionMode = "audit" | "deny";

export interface Validation {
  readonly expression: string;
  readonly messageExpression: string;
}

type Manifest = Record<string, unknown> & {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
};

/** Workload kinds a twin judges, and their resources (for bindings' exclusions). */
export const WORKLOAD_RESOURCES: Readonly<
  Record<string, { group: string; version: string; resource: string }>
> = {
  Pod: { group: "", version: "v1", resource: "pods" },
  Deployment: { group: "apps", version: "v1", resource: "deployments" },
  StatefulSet: { group: "apps", version: "v1", resource: "statefulsets" },
  DaemonSet: { group: "apps", version: "v1", resource: "daemonsets" },
  ReplicaSet: { group: "apps", version: "v1", resource: "replicasets" },
  Job: { group: "batch", version: "v1", resource: "jobs" },
  CronJob: { group: "batch", version: "v1", resource: "cronjobs" },
};

const OPERATIONS = ["CREATE", "UPDATE"];
export const POLICY_PREFIX = "mcp-registry-";
export const MANAGED_BY = {
  "app.kubernetes.io/managed-by": "pulumi",
  "app.kubernetes.io/part-of": "mcp-registry",
};
/** On each binding: the exemptions it carries over, with their expiry (auditors read it off the cluster). */
export const EXEMPTIONS_ANNOTATION = "mcp-registry.io/exemptions";

/** A registry prefix as a CEL string literal (prefixes hold no quote or backslash; anything else is refused). */
function celString(text: string): string {
  if (!/^[A-Za-z0-9.:/_-]+$/.test(text))
    throw new Error(`allowed registry prefix "${text}" is not a registry path`);
  return `'${text}'`;
}

// The pod spec of any judged kind; dyn() because one policy matches several kinds with different types.
const VARIABLES = [
  {
    name: "podSpec",
    expression:
      "object.kind == 'Pod' ? dyn(object).spec : (object.kind == 'CronJob' ? " +
      "dyn(object).spec.jobTemplate.spec.template.spec : dyn(object).spec.template.spec)",
  },
  {
    // Ephemeral containers cannot be set when a Pod or template is created, only through a subresource.
    name: "containers",
    expression:
      "variables.podSpec.containers + " +
      "(has(variables.podSpec.initContainers) ? variables.podSpec.initContainers : [])",
  },
  {
    name: "podSecurity",
    expression: "has(variables.podSpec.securityContext) ? variables.podSpec.securityContext : {}",
  },
];

const TAG = "':[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$'";
const DIGEST = "'@[A-Za-z][A-Za-z0-9]*([-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$'";
const sc = (c: string, field: string) => `has(${c}.securityContext) && has(${c}.securityContext.${field})`;
const names = (list: string) => `${list}.map(c, c.name).join(', ')`;

/** The CEL of each twin: the same checks, in the same words, as the CrossGuard policy of that name. */
function validations(policy: GuardedPolicy, params: AdmissionParams): Validation[] {
  const prefix = `'${policy}: '`;
  switch (policy) {
    case "pods-host-namespaces":
      return ["hostNetwork", "hostPID", "hostIPC"].map((field) => ({
        expression: `!(has(variables.podSpec.${field}) && variables.podSpec.${field})`,
        messageExpression: `${prefix} + 'the pod spec sets ${field}: true'`,
      }));
    case "pods-no-privileged": {
      const privileged = `variables.containers.filter(c, ${sc("c", "privileged")} && c.securityContext.privileged)`;
      const hostProcess = `variables.containers.filter(c, ${sc("c", "windowsOptions")} && has(c.securityContext.windowsOptions.hostProcess) && c.securityContext.windowsOptions.hostProcess)`;
      const procMount = `variables.containers.filter(c, ${sc("c", "procMount")} && c.securityContext.procMount != 'Default')`;
      return [
        {
          expression: `${privileged}.size() == 0`,
          messageExpression: `${prefix} + 'privileged containers: ' + ${names(privileged)}`,
        },
        {
          expression:
            "!(has(variables.podSecurity.windowsOptions) && has(variables.podSecurity.windowsOptions.hostProcess) " +
            "&& variables.podSecurity.windowsOptions.hostProcess)",
          messageExpression: `${prefix} + 'the pod sets windowsOptions.hostProcess: true'`,
        },
        {
          expression: `${hostProcess}.size() == 0`,
          messageExpression: `${prefix} + 'containers with windowsOptions.hostProcess: ' + ${names(hostProcess)}`,
        },
        {
          expression: `${procMount}.size() == 0`,
          messageExpression: `${prefix} + 'containers with a procMount other than Default: ' + ${names(procMount)}`,
        },
      ];
    }
    case "pods-run-as-non-root": {
      const mayBeRoot =
        `variables.containers.filter(c, !(${sc("c", "runAsNonRoot")} ? c.securityContext.runAsNonRoot : ` +
        "(has(variables.podSecurity.runAsNonRoot) && variables.podSecurity.runAsNonRoot)))";
      const uidZero = `variables.containers.filter(c, ${sc("c", "runAsUser")} && c.securityContext.runAsUser == 0)`;
      return [
        {
          expression: "!(has(variables.podSecurity.runAsUser) && variables.podSecurity.runAsUser == 0)",
          messageExpression: `${prefix} + 'the pod sets runAsUser: 0'`,
        },
        {
          expression: `${mayBeRoot}.size() == 0`,
          messageExpression: `${prefix} + 'containers that may run as root (runAsNonRoot is not true): ' + ${names(mayBeRoot)}`,
        },
        {
          expression: `${uidZero}.size() == 0`,
          messageExpression: `${prefix} + 'containers with runAsUser: 0: ' + ${names(uidZero)}`,
        },
      ];
    }
    case "images-pinned": {
      const unpinned =
        `variables.containers.filter(c, !(c.image.matches(${DIGEST}) || ` +
        `(c.image.matches(${TAG}) && !c.image.endsWith(':latest'))))`;
      return [
        {
          expression: `${unpinned}.size() == 0`,
          messageExpression: `${prefix} + 'images without a digest or a tag other than latest: ' + ${unpinned}.map(c, c.image).join(', ')`,
        },
      ];
    }
    case "images-allowed-registries": {
      const allowed = `[${params.allowedRegistries.map((p) => celString(normalizePrefix(p))).join(", ")}]`;
      const outside = `variables.repositories.filter(r, !${allowed}.exists(p, (r + '/').startsWith(p)))`;
      return [
        {
          expression: `${outside}.size() == 0`,
          messageExpression: `${prefix} + 'images from outside the allowed registries (' + ${allowed}.join(', ') + '): ' + ${outside}.join(', ')`,
        },
      ];
    }
    case "pods-resources": {
      const needed = [
        "has(c.resources) && has(c.resources.requests) && 'cpu' in c.resources.requests",
        "'memory' in c.resources.requests",
        "has(c.resources.limits) && 'memory' in c.resources.limits",
        ...(params.requireCpuLimit ? ["'cpu' in c.resources.limits"] : []),
      ];
      const missing = `variables.containers.filter(c, !(${needed.join(" && ")}))`;
      const limits = params.requireCpuLimit ? "cpu and memory" : "memory";
      return [
        {
          expression: `${missing}.size() == 0`,
          messageExpression: `${prefix} + 'containers without requests.cpu, requests.memory and a ${limits} limit: ' + ${names(missing)}`,
        },
      ];
    }
  }
}

// Only images a node pulls: `imagePullPolicy: Never` means an image already in the node's runtime (Minikube).
const REPOSITORY_VARIABLES = [
  {
    name: "pulled",
    expression:
      "variables.containers.filter(c, !(has(c.imagePullPolicy) && c.imagePullPolicy == 'Never')).map(c, c.image.split('@')[0])",
  },
  {
    name: "untagged",
    expression: `variables.pulled.map(i, i.matches(${TAG}) ? i.substring(0, i.lastIndexOf(':')) : i)`,
  },
  {
    // Docker's defaults: no registry host means docker.io, and a one-part name is an official `library/` image.
    name: "repositories",
    expression:
      "variables.untagged.map(r, (r.contains('/') && (r.split('/')[0].contains('.') || " +
      "r.split('/')[0].contains(':') || r.split('/')[0] == 'localhost')) ? r : " +
      "(r.contains('/') ? 'docker.io/' + r : 'docker.io/library/' + r))",
  },
];

/** The ValidatingAdmissionPolicy twin of one CrossGuard policy. */
export function admissionPolicy(policy: GuardedPolicy, params: AdmissionParams): Manifest {
  const variables =
    policy === "images-allowed-registries" ? [...VARIABLES, ...REPOSITORY_VARIABLES] : VARIABLES;
  const skippedOwners = Object.entries(WORKLOAD_RESOURCES)
    .filter(([kind]) => kind !== "Pod")
    .map(([kind]) => `'${kind}'`)
    .join(", ");
  return {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "ValidatingAdmissionPolicy",
    metadata: { name: `${POLICY_PREFIX}${policy}`, labels: { ...MANAGED_BY } },
    spec: {
      // An error in a CEL expression refuses the object rather than letting it through unjudged.
      failurePolicy: "Fail",
      matchConstraints: {
        resourceRules: Object.entries(groupResources()).map(([group, resources]) => ({
          apiGroups: [group],
          apiVersions: ["v1"],
          resources,
          operations: OPERATIONS,
        })),
      },
      matchConditions: [
        {
          // A Pod of a ReplicaSet, a ReplicaSet of a Deployment, a Job of a CronJob...: judged once, at its owner.
          name: "not-owned-by-a-judged-workload",
          expression:
            "!has(object.metadata.ownerReferences) || !object.metadata.ownerReferences.exists(r, " +
            `has(r.controller) && r.controller && r.kind in [${skippedOwners}] && ` +
            "(r.apiVersion == 'apps/v1' || r.apiVersion == 'batch/v1'))",
        },
      ],
      variables,
      validations: validations(policy, params),
    },
  };
}

function groupResources(): Record<string, string[]> {
  const groups: Record<string, string[]> = {};
  for (const { group, resource } of Object.values(WORKLOAD_RESOURCES)) (groups[group] ??= []).push(resource);
  return groups;
}

/** A workload an exemption names, as a binding can exclude it. */
export interface ExemptObject {
  readonly exemption: string;
  readonly expiresOn: string | undefined;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
}

const CHART_OBJECT = /^[^:]+:([A-Za-z]+):([a-z0-9-]+)\/([a-z0-9.-]+)$/;

/**
 * The objects live exemptions exempt from a guarded policy, by namespace. Live on `today` (YYYY-MM-DD): the
 * program renders bindings at deploy time, so an exemption that expires drops out at the next `pulumi up` (and the
 * nightly drift check reports the pending change). Exemptions of program resources are named by Pulumi logical
 * name, which a binding cannot see: for a guarded policy that is an error, never a silent gap.
 */
export function exemptObjects(
  policy: GuardedPolicy,
  exemptions: readonly Exemption[],
  today: string,
): ExemptObject[] {
  const found: ExemptObject[] = [];
  for (const exemption of exemptions.filter((e) => e.policy === policy && !isExpired(e, today))) {
    for (const name of namesOf(exemption)) {
      const match = CHART_OBJECT.exec(name);
      const kind = match?.[1];
      if (match === null || kind === undefined || WORKLOAD_RESOURCES[kind] === undefined)
        throw new Error(
          `exemption ${exemption.id}: "${name}" exempts a program resource from ${policy}, which has an ` +
            "admission twin; only chart objects (<release>:<Kind>:<namespace>/<name>) of workload kinds can be " +
            "carried over to its binding",
        );
      found.push({
        exemption: exemption.id,
        expiresOn: exemption.expiresOn,
        kind,
        namespace: match[2]!,
        name: match[3]!,
      });
    }
  }
  return found;
}

/** One binding per guarded policy and namespace, excluding that namespace's exempt objects. */
export function admissionBinding(
  policy: GuardedPolicy,
  namespace: string,
  mode: AdmissionMode,
  exempt: readonly ExemptObject[],
): Manifest {
  const here = exempt.filter((e) => e.namespace === namespace);
  const annotation = here.map(
    (e) => `${e.exemption} ${e.kind}/${e.name} until ${e.expiresOn ?? "no expiry"}`,
  );
  return {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "ValidatingAdmissionPolicyBinding",
    metadata: {
      name: `${POLICY_PREFIX}${policy}.${namespace}`,
      labels: { ...MANAGED_BY },
      ...(annotation.length === 0 ? {} : { annotations: { [EXEMPTIONS_ANNOTATION]: annotation.join("; ") } }),
    },
    spec: {
      policyName: `${POLICY_PREFIX}${policy}`,
      validationActions: mode === "deny" ? ["Deny"] : ["Warn", "Audit"],
      matchResources: {
        namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": namespace } },
        ...(here.length === 0
          ? {}
          : {
              excludeResourceRules: here.map((e) => {
                const target = WORKLOAD_RESOURCES[e.kind]!;
                return {
                  apiGroups: [target.group],
                  apiVersions: [target.version],
                  resources: [target.resource],
                  resourceNames: [e.name],
                  operations: OPERATIONS,
                };
              }),
            }),
      },
    },
  };
}

export interface GuardrailInput {
  readonly params: AdmissionParams;
  readonly mode: AdmissionMode;
  /** Every namespace the stack creates: each gets a binding of every twin. */
  readonly namespaces: readonly string[];
  readonly exemptions: readonly Exemption[];
  /** YYYY-MM-DD the exemptions are judged live on (the deploy date). */
  readonly today: string;
}

/** Every policy and binding of a stack, policies first. */
export function guardrailManifests(input: GuardrailInput): Manifest[] {
  const namespaces = [...new Set(input.namespaces)].sort();
  return [
    ...GUARDED_POLICIES.map((policy) => admissionPolicy(policy, input.params)),
    ...GUARDED_POLICIES.flatMap((policy) => {
      const exempt = exemptObjects(policy, input.exemptions, input.today);
      const unbound = exempt.filter((e) => !namespaces.includes(e.namespace));
      if (unbound.length > 0)
        throw new Error(
          `exemption ${unbound[0]!.exemption} names namespace ${unbound[0]!.namespace}, which the stack does not create`,
        );
      return namespaces.map((ns) => admissionBinding(policy, ns, input.mode, exempt));
    }),
  ];
}

/** The twins' parameters from a stack's pack config (the JSON of policies/config/<stack>.json). */
export function admissionParams(packConfig: Readonly<Record<string, unknown>>): AdmissionParams {
  const registries = (packConfig["images-allowed-registries"] as { allowedRegistries?: unknown } | undefined)
    ?.allowedRegistries;
  const cpu = (packConfig["pods-resources"] as { requireCpuLimit?: unknown } | undefined)?.requireCpuLimit;
  if (!Array.isArray(registries) || registries.some((r) => typeof r !== "string") || registries.length === 0)
    throw new Error("images-allowed-registries.allowedRegistries: must list the allowed registry prefixes");
  return { allowedRegistries: registries as string[], requireCpuLimit: cpu === true };
}
