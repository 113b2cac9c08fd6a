import * as pulumi from "@pulumi/pulumi";

/** Who reads and writes backups; the store creates the credentials each consumer needs in its namespace. */
export interface BackupConsumer {
  readonly namespace: pulumi.Input<string>;
  /** Kubernetes service account the consumer's pods run as; Workload Identity binds it on GKE. */
  readonly serviceAccountName: string;
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
}

/** Restic (K8up) always speaks S3 with keys, against MinIO or the GCS XML API with an HMAC key. */
export interface ResticAccess {
  readonly bucket: pulumi.Output<string>;
  /** S3 endpoint URL (MinIO service, or https://storage.googleapis.com). */
  readonly endpointUrl: pulumi.Output<string>;
  readonly auth: S3SecretAuth;
  /** Secret with the restic repository password (key `password`), in the restic consumer's namespace. */
  readonly repositoryPasswordSecret: { readonly name: pulumi.Output<string>; readonly key: string };
}

/**
 * The backup object store: MinIO on Minikube, Google Cloud Storage on GKE. It is S3-generic so another S3
 * server can replace MinIO; consumers read only this interface.
 */
export interface BackupObjectStore {
  readonly kind: "minio" | "gcs";
  /** For CloudNativePG's Barman Cloud plugin (WAL archive and base backups). */
  readonly database: BackupAccess;
  /** For K8up restic backups (logical dumps). */
  readonly restic: ResticAccess;
  /** Human-facing description of where backups go (stack output). */
  readonly location: pulumi.Output<string>;
}
