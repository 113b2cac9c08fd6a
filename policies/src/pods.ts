// Pods: Pod Security Standards baseline and restricted, plus read-only root, resources, probes, no SA token and
// no secrets in plain env. Applies to Pods and to the pod templates of every workload kind.
import {
  K8S,
  LONG_RUNNING_TYPES,
  WORKLOAD_TYPES,
  annotationsOf,
  labelsOf,
  metadataName,
  namespaceOf,
  objectRef,
  containersOf,
  describeContainer,
  podSpecOf,
  podTemplateMetadataOf,
  type ContainerRef,
} from "./core/kubernetes";
import {
  resourcePolicy,
  stackPolicy,
  type Category,
  type ConfigFields,
  type Control,
  type ResourceCheck,
} from "./core/policy";
import { SECRET_ENV_NAME, credentialKind } from "./core/secrets";
import { bool, list, listAt, num, rec, recAt, str, strAt, type Props } from "./core/values";
import type { Severity } from "@pulumi/policy";

interface PodContext<F extends ConfigFields> extends ResourceCheck<F> {
  readonly podSpec: Props;
  readonly podMetadata: Props | undefined;
  readonly containers: readonly ContainerRef[];
}

interface PodPolicySpec<F extends ConfigFields> {
  readonly name: string;
  readonly description: string;
  readonly severity: Severity;
  readonly category?: Category;
  readonly remediationSteps: string;
  readonly controls: readonly Control[];
  readonly appliesTo?: readonly string[];
  readonly config?: F;
  readonly check: (context: PodContext<F>) => void;
}

/** A resource policy over the pod spec of every workload kind. */
function podPolicy<const F extends ConfigFields = Record<never, never>>(spec: PodPolicySpec<F>) {
  return resourcePolicy<F>({
    name: spec.name,
    description: spec.description,
    severity: spec.severity,
    category: spec.category ?? "security",
    remediationSteps: spec.remediationSteps,
    controls: spec.controls,
    appliesTo: spec.appliesTo ?? WORKLOAD_TYPES,
    ...(spec.config === undefined ? {} : { config: spec.config }),
    validate: (check) => {
      const podSpec = podSpecOf(check.resource.type, check.resource.props);
      if (podSpec === undefined) return check.notApplicable("the workload has no pod template");
      spec.check({
        ...check,
        podSpec,
        podMetadata: podTemplateMetadataOf(check.resource.type, check.resource.props),
        containers: containersOf(podSpec),
      });
    },
  });
}

const securityContext = (c: ContainerRef): Props | undefined => recAt(c.spec, "securityContext");

export const hostNamespaces = podPolicy({
  name: "pods-host-namespaces",
  description:
    "Pods do not share the host's network, PID or IPC namespace (hostNetwork, hostPID, hostIPC unset or false).",
  severity: "critical",
  remediationSteps:
    "Remove hostNetwork, hostPID and hostIPC from the pod spec; expose ports through a Service instead.",
  controls: [
    { source: "PSS baseline", id: "hostNamespaces" },
    { source: "checkov", id: "CKV_K8S_17" },
    { source: "checkov", id: "CKV_K8S_18" },
    { source: "checkov", id: "CKV_K8S_19" },
  ],
  check: ({ podSpec, report }) => {
    for (const field of ["hostNetwork", "hostPID", "hostIPC"]) {
      if (podSpec[field] === true) report(`the pod spec sets ${field}: true`);
    }
  },
});

export const privileged = podPolicy({
  name: "pods-no-privileged",
  description:
    "No privileged containers, no Windows hostProcess containers, and only the Default /proc mount type.",
  severity: "critical",
  remediationSteps:
    "Remove securityContext.privileged, windowsOptions.hostProcess and procMount from the pod and containers.",
  controls: [
    { source: "PSS baseline", id: "privileged" },
    { source: "PSS baseline", id: "hostProcess" },
    { source: "PSS baseline", id: "procMount" },
    { source: "checkov", id: "CKV_K8S_16" },
  ],
  check: ({ podSpec, containers, report }) => {
    if (at2(podSpec, "securityContext", "windowsOptions", "hostProcess") === true) {
      report("the pod sets windowsOptions.hostProcess: true");
    }
    for (const c of containers) {
      const sc = securityContext(c);
      if (sc?.privileged === true) report(`${describeContainer(c)} is privileged`);
      if (recAt(sc, "windowsOptions")?.hostProcess === true) {
        report(`${describeContainer(c)} sets windowsOptions.hostProcess: true`);
      }
      const procMount = str(sc?.procMount);
      if (procMount !== undefined && procMount !== "Default") {
        report(`${describeContainer(c)} sets procMount: ${procMount} (only Default is allowed)`);
      }
    }
  },
});

function at2(value: Props, a: string, b: string, c: string): unknown {
  return recAt(value, a, b)?.[c];
}

const PROBES = ["livenessProbe", "readinessProbe", "startupProbe"] as const;

export const hostAccess = podPolicy({
  name: "pods-no-host-access",
  description:
    "No hostPath volumes, no host ports, and no `host` field in probes or lifecycle hooks (which would let the " +
    "kubelet connect to arbitrary hosts).",
  severity: "high",
  remediationSteps:
    "Replace hostPath volumes with emptyDir, a PVC or a projected volume; drop hostPort (use a Service); remove " +
    "`host` from httpGet/tcpSocket probes and lifecycle hooks.",
  controls: [
    { source: "PSS baseline", id: "hostPathVolumes" },
    { source: "PSS baseline", id: "hostPorts" },
    { source: "PSS baseline", id: "hostProbesAndHostLifecycle" },
    { source: "checkov", id: "CKV_K8S_26" },
  ],
  check: ({ podSpec, containers, report }) => {
    for (const volume of list(podSpec.volumes)) {
      if (rec(volume)?.hostPath !== undefined)
        report(`volume "${strAt(volume, "name")}" is a hostPath volume`);
    }
    for (const c of containers) {
      for (const port of listAt(c.spec, "ports")) {
        const hostPort = num(rec(port)?.hostPort);
        if (hostPort !== undefined && hostPort !== 0)
          report(`${describeContainer(c)} binds host port ${hostPort}`);
      }
      const handlers: [string, unknown][] = [
        ...PROBES.map((p): [string, unknown] => [p, c.spec[p]]),
        ["lifecycle.postStart", recAt(c.spec, "lifecycle")?.postStart],
        ["lifecycle.preStop", recAt(c.spec, "lifecycle")?.preStop],
      ];
      for (const [where, handler] of handlers) {
        for (const kind of ["httpGet", "tcpSocket"]) {
          const host = strAt(handler, kind, "host");
          if (host !== undefined && host !== "")
            report(`${describeContainer(c)} ${where}.${kind} sets host "${host}"`);
        }
      }
    }
  },
});

const SELINUX_TYPES = new Set([
  "",
  "container_t",
  "container_init_t",
  "container_kvm_t",
  "container_engine_t",
]);
const SAFE_SYSCTLS = new Set([
  "kernel.shm_rmid_forced",
  "net.ipv4.ip_local_port_range",
  "net.ipv4.ip_unprivileged_port_start",
  "net.ipv4.tcp_syncookies",
  "net.ipv4.ping_group_range",
  "net.ipv4.ip_local_reserved_ports",
  "net.ipv4.tcp_keepalive_time",
  "net.ipv4.tcp_fin_timeout",
  "net.ipv4.tcp_keepalive_intvl",
  "net.ipv4.tcp_keepalive_probes",
]);

export const kernelSecurityOptions = podPolicy({
  name: "pods-apparmor-selinux-sysctls",
  description:
    "AppArmor is not set to Unconfined, SELinux options use only the container types and no custom user or role, " +
    "and only the namespaced safe sysctls are set.",
  severity: "high",
  remediationSteps:
    "Remove appArmorProfile Unconfined (and the unconfined AppArmor annotation), custom seLinuxOptions " +
    "user/role/type, and any sysctl outside the Kubernetes safe set.",
  controls: [
    { source: "PSS baseline", id: "appArmorProfile" },
    { source: "PSS baseline", id: "seLinuxOptions" },
    { source: "PSS baseline", id: "sysctls" },
  ],
  check: ({ podSpec, podMetadata, containers, report }) => {
    const contexts: [string, Props | undefined][] = [
      ["the pod", recAt(podSpec, "securityContext")],
      ...containers.map((c): [string, Props | undefined] => [describeContainer(c), securityContext(c)]),
    ];
    for (const [who, sc] of contexts) {
      if (strAt(sc, "appArmorProfile", "type") === "Unconfined")
        report(`${who} sets appArmorProfile Unconfined`);
      const se = recAt(sc, "seLinuxOptions");
      if (se !== undefined) {
        const type = str(se.type) ?? "";
        if (!SELINUX_TYPES.has(type)) report(`${who} sets seLinuxOptions.type "${type}"`);
        for (const field of ["user", "role"]) {
          const value = str(se[field]);
          if (value !== undefined && value !== "") report(`${who} sets seLinuxOptions.${field} "${value}"`);
        }
      }
    }
    for (const [key, value] of Object.entries(annotationsOf(podMetadata))) {
      if (key.startsWith("container.apparmor.security.beta.kubernetes.io/") && value === "unconfined") {
        report(`annotation ${key} is unconfined`);
      }
    }
    for (const sysctl of listAt(podSpec, "securityContext", "sysctls")) {
      const name = strAt(sysctl, "name") ?? "";
      if (!SAFE_SYSCTLS.has(name)) report(`the pod sets sysctl "${name}", which is not in the safe set`);
    }
  },
});

export const runAsNonRoot = podPolicy({
  name: "pods-run-as-non-root",
  description:
    "Every container runs as non-root: runAsNonRoot is true (on the pod or on each container) and runAsUser is " +
    "never 0.",
  severity: "high",
  remediationSteps:
    "Set securityContext.runAsNonRoot: true and a non-zero runAsUser (10001 for our images) on the pod; use " +
    "infra/lib/workload.ts hardenedPodSpec/hardenedContainer.",
  controls: [
    { source: "PSS restricted", id: "runAsNonRoot" },
    { source: "PSS restricted", id: "runAsUser" },
    { source: "checkov", id: "CKV_K8S_23" },
    { source: "Polaris", id: "runAsRootAllowed" },
    { source: "kube-score", id: "container-security-context-user-group-id" },
  ],
  check: ({ podSpec, containers, report }) => {
    const pod = recAt(podSpec, "securityContext");
    if (num(pod?.runAsUser) === 0) report("the pod sets runAsUser: 0");
    for (const c of containers) {
      const sc = securityContext(c);
      const nonRoot = bool(sc?.runAsNonRoot) ?? bool(pod?.runAsNonRoot);
      if (nonRoot !== true) {
        report(
          `${describeContainer(c)} may run as root (runAsNonRoot is ${nonRoot === false ? "false" : "unset"})`,
        );
      }
      if (num(sc?.runAsUser) === 0) report(`${describeContainer(c)} sets runAsUser: 0`);
    }
  },
});

export const noPrivilegeEscalation = podPolicy({
  name: "pods-no-privilege-escalation",
  description: "Every container sets allowPrivilegeEscalation: false.",
  severity: "high",
  remediationSteps:
    "Set securityContext.allowPrivilegeEscalation: false on every container (hardenedContainer does).",
  controls: [
    { source: "PSS restricted", id: "allowPrivilegeEscalation" },
    { source: "checkov", id: "CKV_K8S_20" },
  ],
  check: ({ containers, report }) => {
    for (const c of containers) {
      if (securityContext(c)?.allowPrivilegeEscalation !== false) {
        report(`${describeContainer(c)} does not set allowPrivilegeEscalation: false`);
      }
    }
  },
});

export const capabilities = podPolicy({
  name: "pods-drop-all-capabilities",
  description: "Every container drops ALL capabilities and adds none except NET_BIND_SERVICE.",
  severity: "high",
  remediationSteps:
    "Set securityContext.capabilities.drop: [ALL]; bind ports above 1024 instead of adding capabilities.",
  controls: [
    { source: "PSS restricted", id: "capabilities_restricted" },
    { source: "PSS baseline", id: "capabilities_baseline" },
    { source: "checkov", id: "CKV_K8S_25" },
    { source: "checkov", id: "CKV_K8S_28" },
    { source: "checkov", id: "CKV_K8S_37" },
    { source: "Polaris", id: "dangerousCapabilities" },
    { source: "Polaris", id: "insecureCapabilities" },
  ],
  check: ({ containers, report }) => {
    for (const c of containers) {
      const caps = recAt(securityContext(c), "capabilities");
      if (!list(caps?.drop).includes("ALL")) report(`${describeContainer(c)} does not drop ALL capabilities`);
      for (const added of list(caps?.add)) {
        if (added !== "NET_BIND_SERVICE") report(`${describeContainer(c)} adds capability ${String(added)}`);
      }
    }
  },
});

export const seccomp = podPolicy({
  name: "pods-seccomp",
  description:
    "Every container runs with seccomp RuntimeDefault or Localhost (set on the pod or each container); " +
    "Unconfined is never set.",
  severity: "high",
  remediationSteps: "Set securityContext.seccompProfile.type: RuntimeDefault on the pod.",
  controls: [
    { source: "PSS restricted", id: "seccompProfile_restricted" },
    { source: "PSS baseline", id: "seccompProfile_baseline" },
    { source: "checkov", id: "CKV_K8S_31" },
    { source: "kube-score", id: "container-seccomp-profile" },
  ],
  check: ({ podSpec, containers, report }) => {
    const podType = strAt(podSpec, "securityContext", "seccompProfile", "type");
    if (podType === "Unconfined") report("the pod sets seccompProfile Unconfined");
    for (const c of containers) {
      const own = strAt(securityContext(c), "seccompProfile", "type");
      const effective = own ?? podType;
      if (effective !== "RuntimeDefault" && effective !== "Localhost") {
        report(
          `${describeContainer(c)} runs with seccomp ${effective ?? "unset"} (needs RuntimeDefault or Localhost)`,
        );
      }
    }
  },
});

const RESTRICTED_VOLUME_TYPES = new Set([
  "configMap",
  "csi",
  "downwardAPI",
  "emptyDir",
  "ephemeral",
  "image",
  "persistentVolumeClaim",
  "projected",
  "secret",
]);

export const volumeTypes = podPolicy({
  name: "pods-restricted-volume-types",
  description: `Pods use only the restricted volume types: ${[...RESTRICTED_VOLUME_TYPES].join(", ")}.`,
  severity: "medium",
  remediationSteps: "Replace other volume sources with a PersistentVolumeClaim, CSI or projected volume.",
  controls: [{ source: "PSS restricted", id: "restrictedVolumes" }],
  check: ({ podSpec, report }) => {
    for (const volume of list(podSpec.volumes)) {
      const kinds = Object.keys(rec(volume) ?? {}).filter((k) => k !== "name");
      for (const kind of kinds) {
        if (!RESTRICTED_VOLUME_TYPES.has(kind))
          report(`volume "${strAt(volume, "name")}" is of type ${kind}`);
      }
    }
  },
});

export const readOnlyRootFilesystem = podPolicy({
  name: "pods-read-only-root-filesystem",
  description:
    "Every container mounts its root filesystem read-only; writable paths are explicit emptyDir volumes.",
  severity: "medium",
  remediationSteps:
    "Set securityContext.readOnlyRootFilesystem: true and mount an emptyDir where the app writes (/tmp).",
  controls: [
    { source: "checkov", id: "CKV_K8S_22" },
    { source: "kube-score", id: "container-security-context-readonlyrootfilesystem" },
    { source: "Polaris", id: "notReadOnlyRootFilesystem" },
  ],
  check: ({ containers, report }) => {
    for (const c of containers) {
      if (c.kind === "ephemeral container") continue;
      if (securityContext(c)?.readOnlyRootFilesystem !== true) {
        report(`${describeContainer(c)} does not set readOnlyRootFilesystem: true`);
      }
    }
  },
});

export const resources = podPolicy({
  name: "pods-resources",
  description:
    "Every container and init container requests CPU and memory and has a memory limit (a CPU limit too when " +
    "requireCpuLimit is set; by default CPU is left unthrottled, which kube-score and checkov CKV_K8S_11 flag).",
  severity: "medium",
  remediationSteps: "Set resources.requests.cpu, resources.requests.memory and resources.limits.memory.",
  controls: [
    { source: "checkov", id: "CKV_K8S_10" },
    { source: "checkov", id: "CKV_K8S_12" },
    { source: "checkov", id: "CKV_K8S_13" },
    { source: "kube-score", id: "container-resources" },
    { source: "Polaris", id: "cpuRequestsMissing" },
    { source: "Polaris", id: "memoryRequestsMissing" },
    { source: "Polaris", id: "memoryLimitsMissing" },
  ],
  config: {
    requireCpuLimit: { type: "boolean", default: false, description: "Also require resources.limits.cpu." },
  },
  check: ({ containers, config, report }) => {
    for (const c of containers) {
      if (c.kind === "ephemeral container") continue;
      const needed: [string, string][] = [
        ["requests", "cpu"],
        ["requests", "memory"],
        ["limits", "memory"],
        ...(config.requireCpuLimit ? ([["limits", "cpu"]] as [string, string][]) : []),
      ];
      const missing = needed.filter(
        ([group, kind]) => recAt(c.spec, "resources", group)?.[kind] === undefined,
      );
      if (missing.length > 0) {
        report(`${describeContainer(c)} has no ${missing.map(([g, k]) => `${g}.${k}`).join(", ")}`);
      }
    }
  },
});

export const probes = podPolicy({
  name: "pods-probes",
  description:
    "Every container of a long-running workload (Deployment, StatefulSet, DaemonSet, ReplicaSet, Pod) has a " +
    "readiness and a liveness probe. Jobs and CronJobs run to completion and are not applicable.",
  severity: "medium",
  category: "availability",
  remediationSteps:
    "Add readinessProbe and livenessProbe (and a startupProbe for slow starts) to each container.",
  controls: [
    { source: "checkov", id: "CKV_K8S_8" },
    { source: "checkov", id: "CKV_K8S_9" },
    { source: "kube-score", id: "pod-probes" },
    { source: "Polaris", id: "readinessProbeMissing" },
    { source: "Polaris", id: "livenessProbeMissing" },
  ],
  appliesTo: WORKLOAD_TYPES,
  check: ({ resource, containers, report, notApplicable }) => {
    if (!LONG_RUNNING_TYPES.includes(resource.type)) return notApplicable("a run-to-completion workload");
    for (const c of containers) {
      if (c.kind !== "container") continue;
      const missing = ["readinessProbe", "livenessProbe"].filter((p) => c.spec[p] === undefined);
      if (missing.length > 0) report(`${describeContainer(c)} has no ${missing.join(" and ")}`);
    }
  },
});

export const serviceAccountToken = podPolicy({
  name: "pods-no-service-account-token",
  description:
    "Pods set automountServiceAccountToken: false and project no service account token for the API server (a " +
    "projected token with another audience, which the API server refuses, is allowed). A workload that needs the " +
    "Kubernetes API gets a reviewed exemption in policies/exemptions.ts, stating why.",
  severity: "medium",
  remediationSteps:
    "Set automountServiceAccountToken: false on the pod spec (hardenedPodSpec does); if the workload calls the " +
    "Kubernetes API, give it a least-privilege Role and add an exemption with the reason.",
  controls: [
    { source: "checkov", id: "CKV_K8S_38" },
    { source: "Polaris", id: "automountServiceAccountToken" },
  ],
  check: ({ podSpec, report }) => {
    if (podSpec.automountServiceAccountToken !== false) {
      report(
        `the pod ${podSpec.automountServiceAccountToken === true ? "mounts" : "may mount"} a service account token ` +
          "(automountServiceAccountToken is not false)",
      );
    }
    for (const volume of list(podSpec.volumes)) {
      for (const source of listAt(volume, "projected", "sources")) {
        const token = recAt(source, "serviceAccountToken");
        // Without an audience the token is the API server's.
        if (token !== undefined && (str(token.audience) ?? "") === "") {
          report(
            `volume ${str(rec(volume)?.name) ?? "(unnamed)"} projects a service account token for the API server`,
          );
        }
      }
    }
  },
});

export const noSecretsInEnv = podPolicy({
  name: "pods-no-plaintext-secrets-in-env",
  description:
    "No secret values in plain env: an env var whose name marks a secret (…PASSWORD, …SECRET, …TOKEN, …API_KEY, " +
    "…PRIVATE_KEY, …CREDENTIALS, …ACCESS_KEY) must use valueFrom.secretKeyRef, and no literal env value, command " +
    "or argument may contain a credential (private key, known token formats, a URL with a password).",
  severity: "high",
  remediationSteps:
    "Put the value in a Kubernetes Secret (from a Pulumi secret) and reference it with valueFrom.secretKeyRef or " +
    "envFrom.secretRef.",
  controls: [
    { source: "checkov", id: "CKV_K8S_35" },
    { source: "Polaris", id: "sensitiveContainerEnvVar" },
  ],
  check: ({ containers, report }) => {
    for (const c of containers) {
      for (const env of listAt(c.spec, "env")) {
        const name = strAt(env, "name") ?? "";
        const value = strAt(env, "value");
        if (value === undefined || value === "") continue;
        const kind = credentialKind(value);
        if (kind !== undefined) report(`${describeContainer(c)} env ${name} contains ${kind} in plain text`);
        else if (SECRET_ENV_NAME.test(name)) {
          report(`${describeContainer(c)} env ${name} is set in plain text; use valueFrom.secretKeyRef`);
        }
      }
      for (const field of ["command", "args"]) {
        for (const arg of listAt(c.spec, field)) {
          const kind = typeof arg === "string" ? credentialKind(arg) : undefined;
          if (kind !== undefined) report(`${describeContainer(c)} ${field} contains ${kind}`);
        }
      }
    }
  },
});

const PSA_ENFORCE = "pod-security.kubernetes.io/enforce";
const PSA_REASON = "mcp-registry.io/pod-security-reason";

export const namespacePodSecurity = stackPolicy({
  name: "pods-namespace-pod-security",
  description:
    "Every workload runs in a Namespace the stack creates with a Pod Security Admission level " +
    `(\`${PSA_ENFORCE}\`: baseline or restricted), or privileged with the reason in the annotation ` +
    `\`${PSA_REASON}\`. Covers the program's workloads and the ones its Helm charts render (test/charts), so a ` +
    "chart that moves a pod into an unmanaged namespace (a namespaceOverride, a hard-coded namespace) is caught.",
  severity: "high",
  category: "security",
  remediationSteps:
    "Create the namespace with HardenedNamespace (infra/lib/namespace.ts) and the lowest PSA level its pods " +
    "need, and point the workload (or the chart's namespace values) at it.",
  controls: [
    { source: "PSS baseline", id: "Pod Security Admission namespace labels" },
    { source: "Project baseline", id: "Every namespace declares its PSA level" },
  ],
  appliesTo: WORKLOAD_TYPES,
  validate: ({ resources, report }) => {
    const levels = new Map<string, { level: string | undefined; reason: string | undefined }>();
    for (const ns of resources.filter((r) => r.type === K8S.namespace)) {
      const annotations = annotationsOf(recAt(ns.props, "metadata"));
      const labels = labelsOf(recAt(ns.props, "metadata"));
      levels.set(metadataName(ns.props) ?? ns.name, {
        level: labels[PSA_ENFORCE],
        reason: annotations[PSA_REASON],
      });
    }
    for (const workload of resources.filter((r) => WORKLOAD_TYPES.includes(r.type))) {
      const namespace = namespaceOf(workload.props);
      const ref = objectRef(workload.props, workload.name);
      const found = levels.get(namespace);
      if (found === undefined) {
        report(
          `${ref} runs in namespace "${namespace || "(default)"}", which the stack does not create`,
          workload,
        );
      } else if (found.level === undefined) {
        report(`${ref} runs in namespace ${namespace}, which sets no ${PSA_ENFORCE} level`, workload);
      } else if (found.level === "privileged" && (found.reason ?? "").trim() === "") {
        report(
          `${ref} runs in the privileged namespace ${namespace}, which gives no ${PSA_REASON}`,
          workload,
        );
      } else if (!["baseline", "restricted", "privileged"].includes(found.level)) {
        report(`namespace ${namespace} of ${ref} sets the unknown PSA level "${found.level}"`, workload);
      }
    }
  },
});

export const podPolicies = [
  hostNamespaces,
  privileged,
  hostAccess,
  kernelSecurityOptions,
  runAsNonRoot,
  noPrivilegeEscalation,
  capabilities,
  seccomp,
  volumeTypes,
  readOnlyRootFilesystem,
  resources,
  probes,
  serviceAccountToken,
  noSecretsInEnv,
  namespacePodSecurity,
];
