import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { ImageMirror } from "../lib/mirror";

/** What the rest of the program needs from a cluster, whichever kind it is. */
export interface Cluster {
  readonly kind: "minikube" | "gke";
  /** Every Kubernetes resource is created through this provider (never the ambient kubeconfig). */
  readonly provider: k8s.Provider;
  /** Kubeconfig for humans and CI (secret). */
  readonly kubeconfig: pulumi.Output<string>;
  /** StorageClass for PersistentVolumeClaims (database, Prometheus, MinIO). */
  readonly storageClass: string;
  /** Docker repository to push the registry image to (`<region>-docker.pkg.dev/<project>/<repo>`); none locally. */
  readonly imageRepository: pulumi.Output<string> | undefined;
  /** Workload Identity on GKE: the pool and the project that owns the Google service accounts. */
  readonly workloadIdentity: { readonly pool: string; readonly project: string } | undefined;
  /** Artifact Registry mirrors every image is pulled through on GKE; undefined on Minikube. */
  readonly imageMirror: ImageMirror | undefined;
  /** Resources that must exist before workloads are scheduled (the node pool on GKE). */
  readonly ready: pulumi.Resource[];
  /** Who signs the cluster's service account tokens, and how the registry reads its keys (/auth/kubernetes). */
  readonly serviceAccountIssuer: ServiceAccountIssuer;
}

export interface ServiceAccountIssuer {
  /** `iss` of projected service account tokens. */
  readonly issuer: pulumi.Input<string>;
  /**
   * Only the API server serves the keys (Minikube): read them in-cluster through the kubernetes Service, verified with
   * the cluster CA. Otherwise the issuer URL serves them publicly (GKE).
   */
  readonly inCluster: boolean;
}
