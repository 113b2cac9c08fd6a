// The registry's Grafana dashboard as data: traffic, errors, latency against the SLOs, publishes, and the
// health of the database, its backups and the restore drill. Grafana's sidecar loads it from a ConfigMap.
import { APP_METRICS, LATENCY_THRESHOLD_SECONDS, type AlertParams } from "./alerts";

interface Panel {
  readonly title: string;
  readonly type: "timeseries" | "stat";
  readonly unit: string;
  readonly targets: readonly { readonly expr: string; readonly legendFormat: string }[];
}

/** A Grafana dashboard (schema 39) with one row of panels per concern, laid out on a 24-column grid. */
export function registryDashboard(p: AlertParams): Record<string, unknown> {
  const sel = `namespace="${p.namespace}", service="${p.service}"`;
  const dbPods = `namespace="${p.namespace}", pod=~"${p.databaseCluster}-[0-9]+"`;
  const drillSel = `namespace="${p.drillNamespace}", cronjob="${p.drillCronJob}"`;
  const panels: Panel[] = [
    {
      title: "Requests per second by status",
      type: "timeseries",
      unit: "reqps",
      targets: [
        { expr: `sum by (status) (rate(${APP_METRICS.requests}{${sel}}[5m]))`, legendFormat: "{{status}}" },
      ],
    },
    {
      title: "5xx ratio (SLO 99.9% availability)",
      type: "timeseries",
      unit: "percentunit",
      targets: [{ expr: "mcp_registry:availability_errors:ratio_rate5m", legendFormat: "5xx ratio" }],
    },
    {
      title: "Latency p50 / p99",
      type: "timeseries",
      unit: "s",
      targets: [0.5, 0.99].map((q) => ({
        expr: `histogram_quantile(${q}, sum by (le) (rate(${APP_METRICS.duration}_bucket{${sel}}[5m])))`,
        legendFormat: `p${q * 100}`,
      })),
    },
    {
      title: `Requests slower than ${LATENCY_THRESHOLD_SECONDS}s (SLO 1%)`,
      type: "timeseries",
      unit: "percentunit",
      targets: [{ expr: "mcp_registry:latency_slow:ratio_rate5m", legendFormat: "slow ratio" }],
    },
    {
      title: "Publishes by outcome",
      type: "timeseries",
      unit: "ops",
      targets: [
        {
          expr: `sum by (outcome) (rate(${APP_METRICS.publishes}{${sel}}[5m]))`,
          legendFormat: "{{outcome}}",
        },
      ],
    },
    {
      title: "Registry pods up",
      type: "stat",
      unit: "none",
      targets: [{ expr: `sum(up{${sel}})`, legendFormat: "up" }],
    },
    {
      title: "Replication lag",
      type: "timeseries",
      unit: "s",
      targets: [{ expr: `max by (pod) (cnpg_pg_replication_lag{${dbPods}})`, legendFormat: "{{pod}}" }],
    },
    {
      title: "Seconds since last archived WAL",
      type: "stat",
      unit: "s",
      targets: [
        { expr: `min(cnpg_pg_stat_archiver_seconds_since_last_archival{${dbPods}})`, legendFormat: "WAL" },
      ],
    },
    {
      title: "Age of newest base backup",
      type: "stat",
      unit: "s",
      targets: [
        {
          expr: `time() - max(barman_cloud_cloudnative_pg_io_last_available_backup_timestamp{${dbPods}})`,
          legendFormat: "base backup",
        },
      ],
    },
    {
      title: "Age of last successful restore drill",
      type: "stat",
      unit: "s",
      targets: [
        {
          expr: `time() - max(kube_cronjob_status_last_successful_time{${drillSel}})`,
          legendFormat: "drill",
        },
      ],
    },
  ];

  const width = 12;
  return {
    uid: "mcp-registry",
    title: "MCP Registry",
    tags: ["mcp-registry"],
    schemaVersion: 39,
    version: 1,
    editable: false,
    refresh: "30s",
    time: { from: "now-6h", to: "now" },
    templating: {
      list: [{ name: "datasource", type: "datasource", query: "prometheus", label: "Data source" }],
    },
    panels: panels.map((panel, i) => ({
      id: i + 1,
      title: panel.title,
      type: panel.type,
      datasource: { type: "prometheus", uid: "${datasource}" },
      gridPos: { x: (i % 2) * width, y: Math.floor(i / 2) * 8, w: width, h: 8 },
      fieldConfig: { defaults: { unit: panel.unit }, overrides: [] },
      targets: panel.targets.map((t, j) => ({
        refId: String.fromCharCode(65 + j),
        expr: t.expr,
        legendFormat: t.legendFormat,
        datasource: { type: "prometheus", uid: "${datasource}" },
      })),
    })),
  };
}
