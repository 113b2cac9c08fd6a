// Pure pieces of the backup stores: S3 bucket policies for MinIO users, names and retention rules for GCS.

/** An IAM-style S3 policy document granting access to the given buckets only. */
export function s3BucketPolicy(buckets: readonly string[], readOnly: boolean): string {
  if (buckets.length === 0) throw new Error("s3BucketPolicy: no buckets");
  const objectActions = readOnly
    ? ["s3:GetObject"]
    : [
        "s3:GetObject",
        "s3:PutObject",
        "s3:DeleteObject",
        "s3:AbortMultipartUpload",
        "s3:ListMultipartUploadParts",
      ];
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Action: ["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"],
        Resource: buckets.map((b) => `arn:aws:s3:::${b}`),
      },
      { Effect: "Allow", Action: objectActions, Resource: buckets.map((b) => `arn:aws:s3:::${b}/*`) },
    ],
  });
}

/** A grant name becomes part of Kubernetes object names, so it must be a short DNS label. */
export function checkGrantName(name: string): void {
  if (!/^[a-z]([a-z0-9-]{0,28}[a-z0-9])?$/.test(name))
    throw new Error(`backup grant '${name}': must be a lower-case DNS label of at most 30 characters`);
}

/** Bucket names are global in GCS: project and environment keep them unique and recognisable. */
export function gcsBucketName(project: string, environment: string, purpose: string): string {
  const name = `${project}-${environment}-${purpose}`;
  if (name.length > 63) throw new Error(`bucket name '${name}' is longer than 63 characters`);
  return name;
}

export interface GcsLifecycleRule {
  readonly action: { readonly type: "Delete" };
  readonly condition: {
    readonly age?: number;
    readonly daysSinceNoncurrentTime?: number;
    readonly withState?: string;
  };
}

/**
 * Lifecycle per bucket. Old noncurrent versions go after `noncurrentVersionDays`. Live objects expire after
 * `deleteAfterDays` only where each object stands alone (Barman base backups and WAL); never in a restic
 * repository, whose old pack files are still referenced by new snapshots.
 */
export function gcsLifecycleRules(
  purpose: "database" | "restic",
  days: { readonly noncurrentVersionDays: number; readonly deleteAfterDays: number },
): GcsLifecycleRule[] {
  const rules: GcsLifecycleRule[] = [
    {
      action: { type: "Delete" },
      condition: { daysSinceNoncurrentTime: days.noncurrentVersionDays, withState: "ARCHIVED" },
    },
  ];
  if (purpose === "database")
    rules.push({ action: { type: "Delete" }, condition: { age: days.deleteAfterDays, withState: "LIVE" } });
  return rules;
}
