// Shared by the guardrail tests: a pod spec Pod Security "restricted" admits, probes that tell when the API server
// enforces freshly applied admission policies, and how their verdicts read.
import type { AdmissionMode } from "../../policies/src/core/admission";
import type { KubeClient, KubeObject, RawResponse } from "../cluster/kube-client";

/** What a ValidatingAdmissionPolicy of ours says when it fails (in a denial or a warning). */
export const OUR_POLICY = /ValidatingAdmissionPolicy 'mcp-registry-([a-z-]+)'/g;

/** The policies of ours named in a response: its denial message, or its warnings. */
export function policiesIn(response: RawResponse): string[] {
  const text = response.status >= 300 ? response.body : response.warnings.join("\n");
  return [...new Set([...text.matchAll(OUR_POLICY)].map((m) => m[1]!))].sort();
}

/** A container PSA restricted admits, pinned, from `registry`, with requests and a memory limit. */
export function goodContainer(
  name = "app",
  image = "registry.example.com/approved/app:1.2.3",
): Record<string, unknown> {
  return {
    name,
    image,
    resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { memory: "32Mi" } },
    securityContext: {
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"] },
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      seccompProfile: { type: "RuntimeDefault" },
    },
  };
}

/** A pod spec every guarded rule and PSA restricted accept. */
export function goodPodSpec(): Record<string, unknown> {
  return {
    automountServiceAccountToken: false,
    securityContext: { runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: "RuntimeDefault" } },
    containers: [goodContainer()],
  };
}

/** A Deployment around a pod spec. */
export function deployment(name: string, namespace: string, podSpec: Record<string, unknown>): KubeObject {
  const labels = { "app.kubernetes.io/name": name };
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace },
    spec: {
      replicas: 1,
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: podSpec },
    },
  };
}

const PROBE_BREAKS = ["images-pinned", "images-allowed-registries"];

/**
 * Waits until the API server enforces our policies in `namespace`: a dry-run Deployment with an unpinned image is
 * refused (deny) or warned about (audit). Policies are picked up asynchronously after they are stored.
 */
export async function waitForGuardrails(
  client: KubeClient,
  namespace: string,
  mode: AdmissionMode,
  timeoutMs = 60_000,
): Promise<void> {
  const probe = deployment("guardrails-probe", namespace, {
    ...goodPodSpec(),
    containers: [goodContainer("probe", "registry.example.com/unpinned/probe")],
  });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await client.dryRunCreate(probe);
    // The probe breaks images-pinned and images-allowed-registries: a warning names both, a denial whichever
    // binding the API server evaluated first.
    const named = policiesIn(response).some((policy) => PROBE_BREAKS.includes(policy));
    if (named && (mode === "deny" ? response.status >= 400 : response.status < 300)) return;
    if (Date.now() > deadline)
      throw new Error(
        `the guardrails in ${namespace} were not enforced (${mode}) after ${timeoutMs / 1000} s: ` +
          `${response.status} ${response.body.slice(0, 300)} ${response.warnings.join(" | ")}`,
      );
    await new Promise((r) => setTimeout(r, 250));
  }
}
