import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";

/**
 * Who reads and writes backups. Contract between the platform (issue 5) and the data layer (issue 6):
 * - `infra/index.ts` exports `backupConsumers`: the registry's CNPG cluster (namespace `mcp-registry`, service
 *   account `mcp-registry-db`, which CNPG names after the cluster) and its K8up restic jobs (namespace
 *   `mcp-registry`, service account `mcp-registry-backup`).
 * - The data layer creates those namespaces, then asks the store for credentials with
 *   `objectStore.grantDatabaseAccess(...)` / `grantResticAccess(...)`, passing the namespace in `dependsOn`.
 *   The store creates the Secrets in the consumer's namespace (or the Workload Identity binding on GKE) and
 *   opens its own side of the network (MinIO's ingress from that namespace).
 * - A restore drill asks for `readOnly` database access with its own namespace and service account.
 * - The consumer opens its own egress to the store: `egress` lists the rules its pods need (the S3 endpoint, or
 *   HTTPS plus the GKE metadata server that Workload Identity tokens come from).
 */
export interface BackupConsumer {
  readonly namespace: pulumi.Input<string>;
  /** Kubernetes service account the consumer's pods run as; Workload Identity binds it on GKE. */
  readonly serviceAccountName: string;
  /** Read-only access, for restores and drills; read-write otherwise. */
  readonly readOnly?: boolean;
}

/** The registry's two backup consumers (see `backupConsumers` in infra/index.ts). */
export interface BackupConsumers {
  /** CloudNativePG instances: WAL archive and base backups through the Barman Cloud plugin. */
  readonly database: BackupConsumer;
  /** K8up restic jobs: logical dumps. */
  readonly restic: BackupConsumer;
}

/** A Kubernetes Secret holding S3 keys, in the consumer's namespace. */
export interface S3SecretAuth {
  readonly kind: "s3-secret";
  readonly secretName: pulumi.Output<string>;
  readonly namespace: pulumi.Input<string>;
  readonly accessKeyIdKey: string;
  readonly secretAccessKeyKey: string;
}

/** GKE Workload Identity: annotate the consumer's service account with this Google service account. */
export interface WorkloadIdentityAuth {
  readonly kind: "workload-identity";
  readonly serviceAccountEmail: pulumi.Output<string>;
  /** Annotation to put on the consumer's Kubernetes service account. */
  readonly annotations: pulumi.Output<Record<string, string>>;
}

export interface BackupAccess {
  /** Bucket the consumer writes to. */
  readonly bucket: pulumi.Output<string>;
  /** barman-cloud `destinationPath`: `s3://bucket/prefix` (S3) or `gs://bucket/prefix` (GCS). */
  readonly destinationPath: pulumi.Output<string>;
  /** S3 endpoint URL; undefined when the consumer uses the provider's native API (GCS through gs://). */
  readonly endpointUrl: pulumi.Output<string> | undefined;
  readonly auth: S3SecretAuth | WorkloadIdentityAuth;
  /** NetworkPolicy egress rules the consumer's pods need to reach the store (and, on GKE, their token). */
  readonly egress: k8s.types.input.networking.v1.NetworkPolicyEgressRule[];
}

/** Restic (K8up) always speaks S3 with keys, against MinIO or the GCS XML API with an HMAC key. */
export interface ResticAccess {
  readonly bucket: pulumi.Output<string>;
  /** S3 endpoint URL (MinIO service, or https://storage.googleapis.com). */
  readonly endpointUrl: pulumi.Output<string>;
  readonly auth: S3SecretAuth;
  /** Secret with the restic repository password (key `password`), in the restic consumer's namespace. */
  readonly repositoryPasswordSecret: { readonly name: pulumi.Output<string>; readonly key: string };
  /** NetworkPolicy egress rules the restic pods need to reach the store. */
  readonly egress: k8s.types.input.networking.v1.NetworkPolicyEgressRule[];
}

/** Options for a grant: the consumer's namespace (and anything else) the credentials must wait for. */
export interface GrantOptions {
  readonly dependsOn?: pulumi.Resource[];
}

/**
 * The backup object store: MinIO on Minikube, Google Cloud Storage on GKE. It is S3-generic so another S3
 * server can replace MinIO; consumers read only this interface. Each grant name must be unique.
 */
export interface BackupObjectStore {
  readonly kind: "minio" | "gcs";
  /** Human-facing description of where backups go (stack output). */
  readonly location: pulumi.Output<string>;
  /** CloudNativePG's Barman Cloud plugin (WAL archive and base backups); read-only for restore drills. */
  grantDatabaseAccess(name: string, consumer: BackupConsumer, opts?: GrantOptions): BackupAccess;
  /** K8up restic backups (logical dumps), with the repository password. */
  grantResticAccess(name: string, consumer: BackupConsumer, opts?: GrantOptions): ResticAccess;
}
