// The `local` cluster: an existing Minikube profile reached through its kubeconfig context. No cloud resources.
import * as command from "@pulumi/command";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { MinikubeClusterSettings } from "../settings";
import type { Cluster } from "./types";

export interface MinikubeClusterArgs {
  readonly settings: Readonly<MinikubeClusterSettings>;
}

export class MinikubeCluster extends pulumi.ComponentResource implements Cluster {
  readonly kind = "minikube" as const;
  readonly provider: k8s.Provider;
  readonly kubeconfig: pulumi.Output<string>;
  readonly storageClass: string;
  readonly imageRepository = undefined;
  readonly workloadIdentity = undefined;
  readonly imageMirror = undefined;
  readonly ready: pulumi.Resource[] = [];
  // Minikube's default --service-account-issuer.
  readonly serviceAccountIssuer = { issuer: "https://kubernetes.default.svc.cluster.local", inCluster: true };

  constructor(name: string, args: MinikubeClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mcp-registry:cluster:Minikube", name, {}, opts);
    const { context, storageClass } = args.settings;
    this.storageClass = storageClass;
    // The ambient kubeconfig's Minikube context; never the current context, which may point at a real cluster.
    this.provider = new k8s.Provider(
      `${name}-k8s`,
      { context, enableServerSideApply: true, deleteUnreachable: true },
      { parent: this },
    );
    // A self-contained copy of that one context (certificates inlined) for the stack output, read at each run.
    const view = command.local.runOutput(
      { command: `kubectl config view --minify --flatten --context=${shellQuote(context)}` },
      { parent: this },
    );
    this.kubeconfig = pulumi.secret(view.apply((result) => result.stdout ?? ""));
    this.registerOutputs({ kubeconfig: this.kubeconfig, storageClass: this.storageClass });
  }
}

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}
