// A namespace the program owns: Pod Security Admission labels, a default-deny NetworkPolicy, and the explicit
// allows every namespace needs (DNS; optionally the API server and Prometheus scraping).
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

export type PodSecurityLevel = "restricted" | "baseline" | "privileged";

export interface HardenedNamespaceArgs {
  readonly provider: k8s.Provider;
  readonly name: string;
  /** PSA level enforced (and warned/audited at the same level). */
  readonly podSecurity: PodSecurityLevel;
  /** Why a level below `restricted` is needed; required for baseline and privileged. */
  readonly podSecurityReason?: string;
  /** Operators and controllers talk to the Kubernetes API server. */
  readonly allowApiServerEgress?: boolean;
  /** Namespace of Prometheus, allowed to scrape any pod here on the listed ports. */
  readonly allowScrapingFrom?: { readonly namespace: string; readonly ports: readonly number[] };
  /** Pods of this namespace may talk to each other (operators and their webhooks, Prometheus and Alertmanager). */
  readonly allowSameNamespace?: boolean;
  readonly labels?: Readonly<Record<string, string>>;
  readonly protect?: boolean;
}

/** Ports of the Kubernetes API server: 443 (GKE, in-cluster Service), 6443/8443 (kubeadm, Minikube). */
export const API_SERVER_PORTS: readonly number[] = [443, 6443, 8443];

/** Labels for Pod Security Admission; pure so tests and policies can check them directly. */
export function podSecurityLabels(level: PodSecurityLevel): Record<string, string> {
  return {
    "pod-security.kubernetes.io/enforce": level,
    "pod-security.kubernetes.io/enforce-version": "latest",
    "pod-security.kubernetes.io/warn": level,
    "pod-security.kubernetes.io/audit": level,
  };
}

export class HardenedNamespace extends pulumi.ComponentResource {
  /** The namespace's name (an Output, so dependents wait for it to exist). */
  readonly name: pulumi.Output<string>;
  readonly namespace: k8s.core.v1.Namespace;

  constructor(name: string, args: HardenedNamespaceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mcp-registry:platform:HardenedNamespace", name, {}, opts);
    if (args.podSecurity !== "restricted" && !args.podSecurityReason) {
      throw new Error(
        `HardenedNamespace ${args.name}: podSecurityReason is required for PSA level ${args.podSecurity}`,
      );
    }
    const provider = args.provider;
    this.namespace = new k8s.core.v1.Namespace(
      name,
      {
        metadata: {
          name: args.name,
          labels: {
            ...args.labels,
            ...podSecurityLabels(args.podSecurity),
            "app.kubernetes.io/managed-by": "pulumi",
          },
          annotations:
            args.podSecurityReason === undefined
              ? {}
              : { "mcp-registry.io/pod-security-reason": args.podSecurityReason },
        },
      },
      { parent: this, provider, protect: args.protect ?? false },
    );
    this.name = this.namespace.metadata.name;
    const namespace = this.name;
    const child = { parent: this, provider, dependsOn: [this.namespace] };

    new k8s.networking.v1.NetworkPolicy(
      `${name}-default-deny`,
      {
        metadata: { name: "default-deny", namespace },
        spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] },
      },
      child,
    );
    new k8s.networking.v1.NetworkPolicy(
      `${name}-allow-dns`,
      {
        metadata: { name: "allow-dns", namespace },
        spec: {
          podSelector: {},
          policyTypes: ["Egress"],
          egress: [
            {
              to: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } } }],
              ports: [
                { protocol: "UDP", port: 53 },
                { protocol: "TCP", port: 53 },
              ],
            },
          ],
        },
      },
      child,
    );
    if (args.allowApiServerEgress) {
      new k8s.networking.v1.NetworkPolicy(
        `${name}-allow-apiserver`,
        {
          metadata: { name: "allow-apiserver", namespace },
          spec: {
            podSelector: {},
            policyTypes: ["Egress"],
            // The API server is outside the pod network (a node or control-plane IP), so only ports narrow it.
            egress: [{ ports: API_SERVER_PORTS.map((port) => ({ protocol: "TCP", port })) }],
          },
        },
        child,
      );
    }
    if (args.allowScrapingFrom !== undefined) {
      new k8s.networking.v1.NetworkPolicy(
        `${name}-allow-scraping`,
        {
          metadata: { name: "allow-prometheus-scraping", namespace },
          spec: {
            podSelector: {},
            policyTypes: ["Ingress"],
            ingress: [
              {
                from: [
                  {
                    namespaceSelector: {
                      matchLabels: { "kubernetes.io/metadata.name": args.allowScrapingFrom.namespace },
                    },
                  },
                ],
                ports: args.allowScrapingFrom.ports.map((port) => ({ protocol: "TCP", port })),
              },
            ],
          },
        },
        child,
      );
    }
    if (args.allowSameNamespace) {
      const sameNamespace = [{ podSelector: {} }];
      new k8s.networking.v1.NetworkPolicy(
        `${name}-allow-same-namespace`,
        {
          metadata: { name: "allow-same-namespace", namespace },
          spec: {
            podSelector: {},
            policyTypes: ["Ingress", "Egress"],
            ingress: [{ from: sameNamespace }],
            egress: [{ to: sameNamespace }],
          },
        },
        child,
      );
    }
    this.registerOutputs({ name: this.name });
  }
}
