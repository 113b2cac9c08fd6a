// Alerting rules for the registry and its data, as plain data (a PrometheusRule's `spec.groups`), so tests
// can check every rule exists and uses the right metric. SLO alerts use multiwindow, multi-burn-rate
// conditions (a fast pair pages, a slow pair opens a ticket) over recorded error ratios.

/**
 * Metrics the registry app exposes on :8080/metrics (contract with registry-app):
 * - `mcp_registry_http_requests_total{method, route, status}` counter;
 * - `mcp_registry_http_request_duration_seconds` histogram with a bucket at `LATENCY_THRESHOLD_SECONDS`;
 * - `mcp_registry_publish_total{outcome}` counter, outcome one of `success`, `rejected` (client error), `error`.
 */
export const APP_METRICS = {
  requests: "mcp_registry_http_requests_total",
  duration: "mcp_registry_http_request_duration_seconds",
  publishes: "mcp_registry_publish_total",
} as const;

/** Availability SLO: 99.9% of requests do not fail with a 5xx. */
export const AVAILABILITY_OBJECTIVE = 0.999;
/** Latency SLO: 99% of requests finish within this many seconds (the p99 objective). */
export const LATENCY_OBJECTIVE = 0.99;
export const LATENCY_THRESHOLD_SECONDS = 0.5;

export interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}
export interface RecordingRule {
  readonly record: string;
  readonly expr: string;
}
export interface RuleGroup {
  readonly name: string;
  readonly interval?: string;
  readonly rules: readonly (AlertRule | RecordingRule)[];
}

export interface AlertParams {
  readonly namespace: string;
  readonly service: string;
  readonly databaseCluster: string;
  readonly drillNamespace: string;
  readonly drillCronJob: string;
  /** Longest acceptable gap between successful restore drills (hours); the drill runs daily. */
  readonly drillMaxAgeHours: number;
  /** Longest acceptable age of the newest base backup (hours); base backups run daily. */
  readonly backupMaxAgeHours: number;
}

/** Burn-rate windows from the SRE workbook: [long, short, burn factor, severity]. */
export const BURN_RATE_WINDOWS: readonly (readonly [string, string, number, "critical" | "warning"])[] = [
  ["1h", "5m", 14.4, "critical"],
  ["6h", "30m", 6, "critical"],
  ["1d", "2h", 3, "warning"],
  ["3d", "6h", 1, "warning"],
];

const windows = [...new Set(BURN_RATE_WINDOWS.flatMap(([long, short]) => [long, short]))];

export function registryRuleGroups(p: AlertParams): RuleGroup[] {
  const sel = `namespace="${p.namespace}", service="${p.service}"`;
  // Instance pods are named <cluster>-<n>; the PodMonitor keeps the pod label.
  const dbPods = `namespace="${p.namespace}", pod=~"${p.databaseCluster}-[0-9]+"`;
  const runbook = (anchor: string) => ({
    runbook: `README.md#${anchor}`,
  });

  const errorRatio = (w: string) =>
    `sum(rate(${APP_METRICS.requests}{${sel}, status=~"5.."}[${w}])) / sum(rate(${APP_METRICS.requests}{${sel}}[${w}]))`;
  const slowRatio = (w: string) =>
    `1 - (sum(rate(${APP_METRICS.duration}_bucket{${sel}, le="${LATENCY_THRESHOLD_SECONDS}"}[${w}])) / sum(rate(${APP_METRICS.duration}_count{${sel}}[${w}])))`;

  const recordings: RecordingRule[] = windows.flatMap((w) => [
    { record: `mcp_registry:availability_errors:ratio_rate${w}`, expr: errorRatio(w) },
    { record: `mcp_registry:latency_slow:ratio_rate${w}`, expr: slowRatio(w) },
  ]);

  const burnAlerts = (
    slo: "Availability" | "Latency",
    series: string,
    budget: number,
    description: string,
  ): AlertRule[] =>
    BURN_RATE_WINDOWS.map(([long, short, factor, severity]) => ({
      alert: `Registry${slo}BudgetBurn`,
      expr: `${series}${long} > (${factor} * ${budget.toFixed(4)}) and ${series}${short} > (${factor} * ${budget.toFixed(4)})`,
      for: severity === "critical" ? "2m" : "15m",
      labels: { severity, slo: slo.toLowerCase(), window: long },
      annotations: {
        summary: `Registry ${slo.toLowerCase()} error budget burning ${factor}x over ${long}`,
        description,
        ...runbook("monitoring-and-alerts"),
      },
    }));

  const slo: AlertRule[] = [
    ...burnAlerts(
      "Availability",
      "mcp_registry:availability_errors:ratio_rate",
      1 - AVAILABILITY_OBJECTIVE,
      `More than ${(100 * (1 - AVAILABILITY_OBJECTIVE)).toFixed(1)}% of requests fail with 5xx at a rate that exhausts the monthly budget early.`,
    ),
    ...burnAlerts(
      "Latency",
      "mcp_registry:latency_slow:ratio_rate",
      1 - LATENCY_OBJECTIVE,
      `More than ${(100 * (1 - LATENCY_OBJECTIVE)).toFixed(0)}% of requests take longer than ${LATENCY_THRESHOLD_SECONDS}s (p99 objective).`,
    ),
  ];

  const registry: AlertRule[] = [
    {
      alert: "RegistryDown",
      expr: `sum(up{${sel}}) == 0 or absent(up{${sel}})`,
      for: "5m",
      labels: { severity: "critical" },
      annotations: {
        summary: "No registry pod is being scraped successfully",
        ...runbook("monitoring-and-alerts"),
      },
    },
    {
      alert: "RegistryHigh5xxRatio",
      expr: `mcp_registry:availability_errors:ratio_rate5m > 0.05`,
      for: "10m",
      labels: { severity: "warning" },
      annotations: {
        summary: "More than 5% of registry requests fail with 5xx",
        ...runbook("monitoring-and-alerts"),
      },
    },
    {
      alert: "RegistryPublishFailures",
      expr: `sum(rate(${APP_METRICS.publishes}{${sel}, outcome="error"}[15m])) / sum(rate(${APP_METRICS.publishes}{${sel}}[15m])) > 0.1`,
      for: "15m",
      labels: { severity: "warning" },
      annotations: {
        summary: "More than 10% of publish requests fail on the server side",
        ...runbook("monitoring-and-alerts"),
      },
    },
  ];

  const database: AlertRule[] = [
    {
      alert: "RegistryDatabaseReplicationLag",
      expr: `max by (pod) (cnpg_pg_replication_lag{${dbPods}}) > 30`,
      for: "5m",
      labels: { severity: "warning" },
      annotations: {
        summary: "A database replica is more than 30 s behind the primary",
        ...runbook("failover"),
      },
    },
    {
      alert: "RegistryDatabaseWALArchivingFailing",
      expr: `max(cnpg_pg_stat_archiver_last_failed_time{${dbPods}}) > max(cnpg_pg_stat_archiver_last_archived_time{${dbPods}}) or max(cnpg_pg_stat_archiver_seconds_since_last_archival{${dbPods}}) > 900`,
      for: "10m",
      labels: { severity: "critical" },
      annotations: {
        summary: "WAL archiving to the object store is failing: point-in-time recovery is at risk",
        ...runbook("backups-rpo-rto-and-restore"),
      },
    },
    {
      alert: "RegistryDatabaseBackupFailed",
      expr: `max(barman_cloud_cloudnative_pg_io_last_failed_backup_timestamp{${dbPods}}) > max(barman_cloud_cloudnative_pg_io_last_available_backup_timestamp{${dbPods}})`,
      for: "5m",
      labels: { severity: "critical" },
      annotations: { summary: "The latest base backup failed", ...runbook("backups-rpo-rto-and-restore") },
    },
    {
      alert: "RegistryDatabaseBackupTooOld",
      expr: `time() - max(barman_cloud_cloudnative_pg_io_last_available_backup_timestamp{${dbPods}}) > ${p.backupMaxAgeHours * 3600}`,
      for: "30m",
      labels: { severity: "critical" },
      annotations: {
        summary: `No successful base backup in ${p.backupMaxAgeHours} h`,
        ...runbook("backups-rpo-rto-and-restore"),
      },
    },
    {
      alert: "RegistryLogicalBackupFailed",
      expr: `sum(increase(k8up_jobs_failed_counter{namespace="${p.namespace}"}[6h])) > 0`,
      labels: { severity: "warning" },
      annotations: {
        summary: "A K8up logical backup, prune or check job failed",
        ...runbook("backups-rpo-rto-and-restore"),
      },
    },
  ];

  const drillSel = `namespace="${p.drillNamespace}", cronjob="${p.drillCronJob}"`;
  const drill: AlertRule[] = [
    {
      alert: "RegistryRestoreDrillStale",
      expr: `time() - max(kube_cronjob_status_last_successful_time{${drillSel}}) > ${p.drillMaxAgeHours * 3600}`,
      for: "15m",
      labels: { severity: "critical" },
      annotations: {
        summary: `No successful restore drill in ${p.drillMaxAgeHours} h: backups are not proven restorable`,
        ...runbook("backups-rpo-rto-and-restore"),
      },
    },
    {
      alert: "RegistryRestoreDrillNeverSucceeded",
      expr: `absent(kube_cronjob_status_last_successful_time{${drillSel}})`,
      for: `${p.drillMaxAgeHours}h`,
      labels: { severity: "critical" },
      annotations: {
        summary: "The restore drill has never succeeded",
        ...runbook("backups-rpo-rto-and-restore"),
      },
    },
  ];

  return [
    { name: "mcp-registry-slo-recordings", interval: "30s", rules: recordings },
    { name: "mcp-registry-slo", rules: slo },
    { name: "mcp-registry", rules: registry },
    { name: "mcp-registry-database", rules: database },
    { name: "mcp-registry-restore-drill", rules: drill },
  ];
}
