// Names and small pure rules of the data layer, shared by the components, the platform's backup store wiring,
// the policy pack and the tests: the contract that ties a CNPG cluster to its backups and its restore drill.

/** Namespace of the registry and its database (issue 5/6 contract). */
export const REGISTRY_NAMESPACE = "mcp-registry";
/** CNPG cluster name; its instance pods run as a service account of the same name. */
export const DATABASE_CLUSTER_NAME = "mcp-registry-db";
/** Service account the K8up restic jobs of the registry namespace are bound to (issue 5 contract). */
export const BACKUP_SERVICE_ACCOUNT = "mcp-registry-backup";
/** Namespace the restore drill lives in and restores its scratch cluster into. */
export const RESTORE_DRILL_NAMESPACE = "mcp-registry-restore-drill";
/** The scratch cluster the drill creates and deletes; its instance pods run as this service account. */
export const SCRATCH_CLUSTER_NAME = "mcp-registry-db-drill";
/** Application database and its owner role, created by `initdb`. */
export const DATABASE_NAME = "registry";
export const DATABASE_OWNER = "registry";
/** Read-only role (pg_read_all_data) the drill uses to count rows in the source and in the restore. */
export const DRILL_READER_ROLE = "restore_drill";
/** Label and annotation the policy pack keys on to find a cluster's restore drill. */
export const DRILL_COMPONENT = "restore-drill";
export const DRILL_OF_ANNOTATION = "mcp-registry.io/drill-of";

/** PostgreSQL's port, the instance manager's status port and the exporters' metrics ports (CNPG). */
export const POSTGRES_PORT = 5432;
export const INSTANCE_STATUS_PORT = 8000;
export const POSTGRES_METRICS_PORT = 9187;
export const PGBOUNCER_METRICS_PORT = 9127;

/** Read-write, read-any and pooler service names CNPG derives from a cluster name. */
export function databaseServices(cluster: string): { rw: string; r: string; ro: string; pooler: string } {
  return { rw: `${cluster}-rw`, r: `${cluster}-r`, ro: `${cluster}-ro`, pooler: `${cluster}-pooler-rw` };
}

/** The Secret CNPG creates for the application owner (keys username, password, host, port, dbname, uri). */
export function appSecretName(cluster: string): string {
  return `${cluster}-app`;
}

/**
 * CloudNativePG's `ScheduledBackup.schedule` has six fields, seconds first; settings hold five-field cron.
 * Throws naming the field when the expression is not five fields.
 */
export function cnpgSchedule(fiveFieldCron: string, field = "backup.schedule"): string {
  const parts = fiveFieldCron.trim().split(/\s+/);
  if (parts.length !== 5) throw new Error(`${field}: '${fiveFieldCron}' is not a five-field cron expression`);
  return `0 ${parts.join(" ")}`;
}

/** Barman Cloud retention policy string (`<days>d`) for the ObjectStore. */
export function barmanRetention(days: number): string {
  if (!Number.isInteger(days) || days < 1)
    throw new Error(`backup.retentionDays: must be a whole number ≥ 1`);
  return `${days}d`;
}

/** Restic `forget` rules for K8up's prune: a daily snapshot for each retained day, never fewer than two. */
export function resticRetention(days: number): { keepLast: number; keepDaily: number } {
  if (!Number.isInteger(days) || days < 1)
    throw new Error(`backup.retentionDays: must be a whole number ≥ 1`);
  return { keepLast: 2, keepDaily: days };
}

/**
 * The K8up backup command run in the CNPG `postgres` container: a consistent logical dump of the application
 * database over the pod-local socket as the `postgres` OS user (peer authentication), streamed to stdout.
 */
export function logicalDumpCommand(database: string = DATABASE_NAME): string {
  return `pg_dump --host=/controller/run --username=postgres --dbname=${database} --no-owner --clean --if-exists`;
}
