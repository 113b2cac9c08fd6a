// Pure kubeconfig builders, kept apart from resource creation so they are unit-tested on their own.
import { stringify } from "yaml";

/** Client-go exec plugin that GKE requires since 1.26 (static client certificates and tokens are gone). */
export const GKE_AUTH_PLUGIN = "gke-gcloud-auth-plugin";

export interface GkeKubeconfigArgs {
  /** Context, cluster and user name (`gke_<project>_<location>_<name>`, as `gcloud` names them). */
  readonly contextName: string;
  /** Control-plane endpoint (IP or host name, without scheme). */
  readonly endpoint: string;
  /** Base64 PEM of the cluster CA, as GKE reports it. */
  readonly clusterCaCertificate: string;
}

/** A kubeconfig that authenticates with the caller's gcloud credentials through the exec plugin. */
export function gkeKubeconfig(args: GkeKubeconfigArgs): string {
  if (args.endpoint.trim() === "") throw new Error("gkeKubeconfig: endpoint is empty");
  if (args.clusterCaCertificate.trim() === "")
    throw new Error("gkeKubeconfig: clusterCaCertificate is empty");
  const name = args.contextName;
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      {
        name,
        cluster: {
          server: `https://${args.endpoint}`,
          "certificate-authority-data": args.clusterCaCertificate,
        },
      },
    ],
    contexts: [{ name, context: { cluster: name, user: name } }],
    "current-context": name,
    users: [
      {
        name,
        user: {
          exec: {
            apiVersion: "client.authentication.k8s.io/v1beta1",
            command: GKE_AUTH_PLUGIN,
            installHint: "Install gke-gcloud-auth-plugin: 'gcloud components install gke-gcloud-auth-plugin'",
            provideClusterInfo: true,
            interactiveMode: "IfAvailable",
          },
        },
      },
    ],
  });
}

/** gcloud's context name for a cluster, so `kubectl` and this kubeconfig agree. */
export function gkeContextName(project: string, location: string, cluster: string): string {
  return `gke_${project}_${location}_${cluster}`;
}
