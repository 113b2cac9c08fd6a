// NetworkPolicy building blocks for the platform namespaces, on top of HardenedNamespace's default deny.
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";

type Peer = k8s.types.input.networking.v1.NetworkPolicyPeer;
type Port = k8s.types.input.networking.v1.NetworkPolicyPort;

/** Any address: webhooks are called by the API server and gateways by clients, neither of which is a pod. */
export const ANYWHERE: Peer = { ipBlock: { cidr: "0.0.0.0/0" } };
/** Every pod in every namespace. */
export const ALL_NAMESPACES: Peer = { namespaceSelector: {} };
/** The GKE metadata server that Workload Identity tokens come from (169.254.169.252:988 under Dataplane V2). */
export const GKE_METADATA_EGRESS: k8s.types.input.networking.v1.NetworkPolicyEgressRule[] = [
  { to: [{ ipBlock: { cidr: "169.254.169.254/32" } }], ports: [{ protocol: "TCP", port: 80 }] },
  { to: [{ ipBlock: { cidr: "169.254.169.252/32" } }], ports: [{ protocol: "TCP", port: 988 }] },
];

export function namespacePeer(namespace: pulumi.Input<string>): Peer {
  return { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": namespace } } };
}

export function tcp(...ports: number[]): Port[] {
  return ports.map((port) => ({ protocol: "TCP", port }));
}

export interface AllowArgs {
  readonly namespace: pulumi.Input<string>;
  /** Policy name inside the namespace. */
  readonly name: string;
  /** Pods the policy applies to; all pods when omitted. */
  readonly podLabels?: Readonly<Record<string, string>>;
  readonly ingress?: k8s.types.input.networking.v1.NetworkPolicyIngressRule[];
  readonly egress?: k8s.types.input.networking.v1.NetworkPolicyEgressRule[];
}

/** An additive allow policy; the namespace's default deny covers everything not allowed somewhere. */
export function allow(
  resourceName: string,
  args: AllowArgs,
  opts: pulumi.CustomResourceOptions,
): k8s.networking.v1.NetworkPolicy {
  const policyTypes = [...(args.ingress ? ["Ingress"] : []), ...(args.egress ? ["Egress"] : [])];
  if (policyTypes.length === 0)
    throw new Error(`NetworkPolicy ${args.name}: neither ingress nor egress given`);
  return new k8s.networking.v1.NetworkPolicy(
    resourceName,
    {
      metadata: { name: args.name, namespace: args.namespace },
      spec: {
        podSelector: args.podLabels ? { matchLabels: { ...args.podLabels } } : {},
        policyTypes,
        ...(args.ingress ? { ingress: args.ingress } : {}),
        ...(args.egress ? { egress: args.egress } : {}),
      },
    },
    opts,
  );
}
