// Pure builders for the workloads this program creates itself (registry, jobs, drills): labels and the
// hardened pod and container specs that meet Pod Security Standards `restricted` and the policy pack.
import type * as k8s from "@pulumi/kubernetes";

type PodSpec = k8s.types.input.core.v1.PodSpec;
type Container = k8s.types.input.core.v1.Container;
type SecurityContext = k8s.types.input.core.v1.SecurityContext;
type PodSecurityContext = k8s.types.input.core.v1.PodSecurityContext;

/** The non-root UID and GID our own images run as (registry-app/Dockerfile `USER 10001`). */
export const NON_ROOT_ID = 10001;

/** Recommended `app.kubernetes.io` labels; `selectorLabels` is the stable subset used in selectors. */
export function appLabels(name: string, component: string, version?: string): Record<string, string> {
  return {
    ...selectorLabels(name, component),
    "app.kubernetes.io/part-of": "mcp-registry",
    "app.kubernetes.io/managed-by": "pulumi",
    ...(version === undefined ? {} : { "app.kubernetes.io/version": version.slice(0, 63) }),
  };
}

export function selectorLabels(name: string, component: string): Record<string, string> {
  return { "app.kubernetes.io/name": name, "app.kubernetes.io/component": component };
}

/** PSS `restricted` at pod level: non-root with a fixed high UID/GID, seccomp RuntimeDefault. */
export function restrictedPodSecurityContext(id: number = NON_ROOT_ID): PodSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: id,
    runAsGroup: id,
    fsGroup: id,
    seccompProfile: { type: "RuntimeDefault" },
  };
}

/** PSS `restricted` at container level, plus a read-only root filesystem. */
export function restrictedContainerSecurityContext(id: number = NON_ROOT_ID): SecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: id,
    runAsGroup: id,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    privileged: false,
    capabilities: { drop: ["ALL"] },
    seccompProfile: { type: "RuntimeDefault" },
  };
}

export interface HardenedContainerArgs extends Omit<Container, "securityContext" | "resources"> {
  readonly resources: {
    readonly requests: { readonly cpu: string; readonly memory: string };
    readonly limits: { readonly cpu?: string; readonly memory: string };
  };
  /** Override the UID when an upstream image runs as a different fixed non-root user. */
  readonly runAsUser?: number;
}

/** A container with the restricted security context, explicit resources and a writable `/tmp`. */
export function hardenedContainer(args: HardenedContainerArgs): Container {
  const { runAsUser, resources, volumeMounts, ...rest } = args;
  return {
    imagePullPolicy: "IfNotPresent",
    ...rest,
    resources: { requests: { ...resources.requests }, limits: { ...resources.limits } },
    securityContext: restrictedContainerSecurityContext(runAsUser),
    volumeMounts: [
      { name: "tmp", mountPath: "/tmp" },
      ...((volumeMounts as k8s.types.input.core.v1.VolumeMount[]) ?? []),
    ],
  };
}

/**
 * Probes of our own HTTP services on the named port `http`: startup and liveness on `/livez` (never touches a
 * dependency; 60 s to start), readiness on `/readyz`.
 */
export function httpProbes(
  readinessFailureThreshold: number,
): Pick<Container, "startupProbe" | "readinessProbe" | "livenessProbe"> {
  const probe = (path: string, periodSeconds: number, failureThreshold: number) => ({
    httpGet: { path, port: "http" },
    periodSeconds,
    failureThreshold,
    timeoutSeconds: 2,
  });
  return {
    startupProbe: probe("/livez", 2, 30),
    readinessProbe: probe("/readyz", 5, readinessFailureThreshold),
    livenessProbe: probe("/livez", 10, 3),
  };
}

export interface HardenedPodSpecArgs extends Omit<PodSpec, "securityContext" | "containers"> {
  readonly containers: Container[];
  /** Only workloads that talk to the Kubernetes API set this (operators, drills that create clusters). */
  readonly automountServiceAccountToken?: boolean;
  readonly runAsUser?: number;
  /** Size limit of the `/tmp` emptyDir every hardened container mounts. */
  readonly tmpSizeLimit?: string;
}

/** A pod spec with the restricted pod security context, no SA token by default and the `/tmp` emptyDir. */
export function hardenedPodSpec(args: HardenedPodSpecArgs): PodSpec {
  const { runAsUser, tmpSizeLimit, volumes, automountServiceAccountToken, ...rest } = args;
  return {
    ...rest,
    automountServiceAccountToken: automountServiceAccountToken ?? false,
    securityContext: restrictedPodSecurityContext(runAsUser),
    volumes: [
      { name: "tmp", emptyDir: { sizeLimit: tmpSizeLimit ?? "64Mi" } },
      ...((volumes as k8s.types.input.core.v1.Volume[]) ?? []),
    ],
  };
}
