// CloudNativePG operator and its Barman Cloud CNPG-I plugin: since CNPG 1.26 object-store backups (WAL archive
// and base backups) go through the plugin instead of the in-tree `barmanObjectStore`.
import type * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { HardenedNamespace } from "../lib/namespace";
import { charts } from "../versions";
import { pinnedRelease } from "./chart";
import type { ImageMirror } from "../lib/mirror";
import type { ChartSource } from "./chart-archive";
import { ALL_NAMESPACES, ANYWHERE, allow, tcp } from "./network";
import { containerSecurity, podSecurity, sizing } from "./values";

/** Name to put in `Cluster.spec.plugins[].name` and `ScheduledBackup.spec.pluginConfiguration.name`. */
export const BARMAN_PLUGIN_NAME = "barman-cloud.cloudnative-pg.io";
/** Port of the instance manager on every Postgres pod, which the operator polls for status. */
export const CNPG_INSTANCE_STATUS_PORT = 8000;
const OPERATOR_METRICS_PORT = 8080;
const WEBHOOK_PORT = 9443;

export interface CloudNativePgArgs {
  readonly provider: k8s.Provider;
  /** Where charts come from (settings `charts.source`). */
  readonly chartSource: ChartSource;
  /** Where nodes pull the chart images from (the stack's mirrors on GKE). */
  readonly imageMirror: ImageMirror | undefined;
  readonly namespace: string;
  readonly replicas: number;
  readonly monitoring: {
    readonly namespace: string;
    readonly selectorLabels: Readonly<Record<string, string>>;
  };
  /** cert-manager (the plugin's certificates) and the Prometheus Operator CRDs (PodMonitor). */
  readonly dependsOn: pulumi.Resource[];
}

export class CloudNativePg extends pulumi.ComponentResource {
  readonly namespace: string;
  readonly barmanPluginName = BARMAN_PLUGIN_NAME;
  readonly ready: pulumi.Resource[];

  constructor(name: string, args: CloudNativePgArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mcp-registry:platform:CloudNativePg", name, {}, opts);
    const provider = args.provider;
    this.namespace = args.namespace;
    // restricted: the operator and the plugin run non-root, read-only, without capabilities.
    const ns = new HardenedNamespace(
      `${name}-ns`,
      {
        provider,
        name: args.namespace,
        podSecurity: "restricted",
        allowApiServerEgress: true,
        // The operator calls the Barman Cloud plugin over gRPC (mTLS) inside this namespace.
        allowSameNamespace: true,
        allowScrapingFrom: { namespace: args.monitoring.namespace, ports: [OPERATOR_METRICS_PORT] },
      },
      { parent: this, dependsOn: args.dependsOn },
    );
    const k8sOpts = { parent: this, provider, dependsOn: [...args.dependsOn, ns] };
    allow(
      `${name}-allow-webhook`,
      {
        namespace: args.namespace,
        name: "allow-webhook-from-apiserver",
        ingress: [{ from: [ANYWHERE], ports: tcp(WEBHOOK_PORT) }],
      },
      k8sOpts,
    );
    allow(
      `${name}-allow-instances`,
      {
        namespace: args.namespace,
        name: "allow-instance-status",
        egress: [{ to: [ALL_NAMESPACES], ports: tcp(CNPG_INSTANCE_STATUS_PORT) }],
      },
      k8sOpts,
    );

    const operator = pinnedRelease(
      `${name}-operator`,
      {
        chart: charts.cloudnativePg,
        source: args.chartSource,
        imageMirror: args.imageMirror,
        releaseName: "cnpg",
        namespace: args.namespace,
        values: {
          replicaCount: args.replicas,
          // Cluster-wide (the chart's default): the registry's and the restore drill's clusters live elsewhere.
          crds: { create: true },
          resources: sizing({ cpu: "100m", memory: "256Mi", memoryLimit: "512Mi" }),
          podSecurityContext: podSecurity(),
          containerSecurityContext: containerSecurity(),
          monitoring: {
            podMonitorEnabled: true,
            podMonitorAdditionalLabels: { ...args.monitoring.selectorLabels },
            // The chart labels the dashboard with its sidecarLabel (grafana_dashboard: "1", which is what Grafana's
            // sidecar selects, DASHBOARD_LABELS); setting the same label again in `labels` duplicated the key.
            grafanaDashboard: { create: true },
          },
        },
      },
      k8sOpts,
    );
    // The plugin must live in the operator's namespace; its chart issues its certificates with cert-manager.
    const plugin = pinnedRelease(
      `${name}-barman-cloud`,
      {
        chart: charts.barmanCloudPlugin,
        source: args.chartSource,
        imageMirror: args.imageMirror,
        releaseName: "barman-cloud",
        namespace: args.namespace,
        values: {
          replicaCount: 1,
          crds: { create: true },
          resources: sizing({ cpu: "50m", memory: "64Mi", memoryLimit: "256Mi" }),
          podSecurityContext: podSecurity(),
          containerSecurityContext: containerSecurity(),
        },
      },
      { ...k8sOpts, dependsOn: [...k8sOpts.dependsOn, operator] },
    );
    this.ready = [operator, plugin];
    this.registerOutputs({ barmanPluginName: this.barmanPluginName });
  }
}
