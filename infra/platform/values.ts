// Pure builders for the hardening values every platform chart gets: non-root, seccomp, no capabilities,
// explicit requests and memory limits, and a PodDisruptionBudget once there is more than one replica.

export interface ChartWorkloadSizing {
  readonly cpu: string;
  readonly memory: string;
  readonly memoryLimit: string;
}

/** Requests plus a memory limit; no CPU limit, so bursts are throttled by requests instead of CFS quotas. */
export function sizing(s: ChartWorkloadSizing): {
  requests: { cpu: string; memory: string };
  limits: { memory: string };
} {
  return { requests: { cpu: s.cpu, memory: s.memory }, limits: { memory: s.memoryLimit } };
}

/** Pod-level PSS `restricted`: non-root and RuntimeDefault seccomp (the image's own non-root UID is kept). */
export function podSecurity(): { runAsNonRoot: true; seccompProfile: { type: "RuntimeDefault" } } {
  return { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } };
}

/** Container-level PSS `restricted` plus a read-only root filesystem. */
export function containerSecurity(): {
  allowPrivilegeEscalation: false;
  readOnlyRootFilesystem: true;
  runAsNonRoot: true;
  capabilities: { drop: ["ALL"] };
  seccompProfile: { type: "RuntimeDefault" };
} {
  return {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    capabilities: { drop: ["ALL"] },
    seccompProfile: { type: "RuntimeDefault" },
  };
}

/** cert-manager-style PDB values: on with one pod allowed down when replicated, off for a single replica. */
export function podDisruptionBudget(replicas: number): { enabled: boolean; minAvailable?: number } {
  return replicas > 1 ? { enabled: true, minAvailable: 1 } : { enabled: false };
}
