// Monitoring of the registry: a ServiceMonitor for the app's /metrics, the PrometheusRule with SLO burn-rate,
// database, backup and restore-drill alerts, and the Grafana dashboard in a ConfigMap the sidecar loads.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { appLabels } from "../lib/workload";
import type { Platform } from "../platform/types";
import { registryRuleGroups, type AlertParams } from "./alerts";
import { registryDashboard } from "./dashboard";

export interface RegistryMonitoringArgs {
  readonly provider: k8s.Provider;
  readonly namespace: pulumi.Input<string>;
  /** Labels of the registry Service the ServiceMonitor selects, and the name of its port. */
  readonly serviceSelector: Readonly<Record<string, string>>;
  readonly portName: string;
  readonly alerts: AlertParams;
  readonly platform: Pick<Platform, "monitoring" | "ready">;
}

export class RegistryMonitoring extends pulumi.ComponentResource {
  constructor(name: string, args: RegistryMonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mcp-registry:registry:RegistryMonitoring", name, {}, opts);
    if (args.alerts.drillMaxAgeHours < 24 || args.alerts.backupMaxAgeHours < 24)
      throw new Error(
        "RegistryMonitoring: drill and backup age thresholds must be at least 24 hours (daily jobs)",
      );
    const { provider, namespace } = args;
    const selected = { ...appLabels("registry", "monitoring"), ...args.platform.monitoring.selectorLabels };
    const crd = { parent: this, provider, dependsOn: args.platform.ready };

    new k8s.apiextensions.CustomResource(
      `${name}-service-monitor`,
      {
        apiVersion: "monitoring.coreos.com/v1",
        kind: "ServiceMonitor",
        metadata: { name: "registry", namespace, labels: selected },
        spec: {
          selector: { matchLabels: { ...args.serviceSelector } },
          endpoints: [{ port: args.portName, path: "/metrics", interval: "30s", scrapeTimeout: "10s" }],
        },
      },
      crd,
    );

    new k8s.apiextensions.CustomResource(
      `${name}-rules`,
      {
        apiVersion: "monitoring.coreos.com/v1",
        kind: "PrometheusRule",
        metadata: { name: "registry", namespace, labels: selected },
        spec: { groups: registryRuleGroups(args.alerts) },
      },
      crd,
    );

    new k8s.core.v1.ConfigMap(
      `${name}-dashboard`,
      {
        metadata: {
          name: "registry-dashboard",
          // The sidecar watches the monitoring namespace for labelled ConfigMaps.
          namespace: args.platform.monitoring.namespace,
          labels: { ...appLabels("registry", "monitoring"), ...args.platform.monitoring.dashboardLabels },
        },
        data: { "mcp-registry.json": JSON.stringify(registryDashboard(args.alerts), null, 2) },
      },
      { parent: this, provider },
    );

    this.registerOutputs({});
  }
}
