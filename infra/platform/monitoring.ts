// Monitoring: kube-prometheus-stack (Prometheus, Alertmanager, Grafana, kube-state-metrics, node-exporter) with
// retention and storage per environment, a generated Grafana admin password and Grafana behind the Gateway.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { HardenedNamespace } from "../lib/namespace";
import { SECRET_REVISION_ANNOTATION, type SecretStore } from "../secrets/types";
import type { MonitoringSettings } from "../settings";
import { charts } from "../versions";
import { pinnedRelease } from "./chart";
import type { ImageMirror } from "../lib/mirror";
import type { ChartSource } from "./chart-archive";
import { ANYWHERE, allow, namespacePeer, tcp } from "./network";
import { containerSecurity, sizing } from "./values";

export const MONITORING_RELEASE = "kube-prometheus-stack";
/** Labels our ServiceMonitor/PodMonitor/PrometheusRule objects carry; the chart's own carry the same. */
export const MONITORING_SELECTOR_LABELS: Readonly<Record<string, string>> = Object.freeze({
  release: MONITORING_RELEASE,
});
/** Labels of a ConfigMap whose JSON dashboards Grafana's sidecar loads (from any namespace). */
export const DASHBOARD_LABELS: Readonly<Record<string, string>> = Object.freeze({ grafana_dashboard: "1" });
const GRAFANA_SERVICE = `${MONITORING_RELEASE}-grafana`;
const GRAFANA_PORT = 3000;
const OPERATOR_WEBHOOK_PORT = 10250;

export interface MonitoringArgs {
  readonly provider: k8s.Provider;
  /** Where charts come from (settings `charts.source`). */
  readonly chartSource: ChartSource;
  /** Where nodes pull the chart images from (the stack's mirrors on GKE). */
  readonly imageMirror: ImageMirror | undefined;
  readonly namespace: string;
  /** node-exporter's own namespace: it alone needs host access. */
  readonly nodeExporterNamespace: string;
  readonly settings: Readonly<MonitoringSettings>;
  readonly storageClass: string;
  readonly replicas: number;
  /** Gateway to publish Grafana on (`settings.grafanaHost`) and the namespace its data plane runs in. */
  readonly gateway: { readonly name: string; readonly namespace: string; readonly httpsListener: string };
  /** Gateway API CRDs (for Grafana's HTTPRoute). */
  readonly dependsOn: pulumi.Resource[];
  /** Where Grafana's admin password is kept (infra/secrets). */
  readonly secrets: SecretStore;
}

export class Monitoring extends pulumi.ComponentResource {
  readonly namespace: string;
  readonly selectorLabels = MONITORING_SELECTOR_LABELS;
  readonly dashboardLabels = DASHBOARD_LABELS;
  readonly grafanaUrl: pulumi.Output<string> | undefined;
  readonly grafanaAdminPassword: pulumi.Output<string>;
  /** The release: its CRDs (ServiceMonitor, PodMonitor, PrometheusRule) must exist before other charts' monitors. */
  readonly ready: pulumi.Resource[];

  constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mcp-registry:platform:Monitoring", name, {}, opts);
    const provider = args.provider;
    const s = args.settings;
    this.namespace = args.namespace;

    // restricted: Prometheus, Alertmanager, Grafana, kube-state-metrics and the operator all run non-root.
    const ns = new HardenedNamespace(
      `${name}-ns`,
      {
        provider,
        name: args.namespace,
        podSecurity: "restricted",
        allowApiServerEgress: true,
        allowSameNamespace: true,
      },
      { parent: this, dependsOn: args.dependsOn },
    );
    const nodeNs = new HardenedNamespace(
      `${name}-node-ns`,
      {
        provider,
        name: args.nodeExporterNamespace,
        podSecurity: "privileged",
        podSecurityReason:
          "node-exporter reads the host's /proc, /sys and root filesystem with hostPID and hostNetwork",
      },
      { parent: this, dependsOn: args.dependsOn },
    );
    const k8sOpts = { parent: this, provider, dependsOn: [...args.dependsOn, ns, nodeNs] };

    allow(
      `${name}-allow-webhook`,
      {
        namespace: args.namespace,
        name: "allow-webhook-from-apiserver",
        ingress: [{ from: [ANYWHERE], ports: tcp(OPERATOR_WEBHOOK_PORT) }],
      },
      k8sOpts,
    );
    // Scrape targets live in every namespace and on node addresses (kubelet, node-exporter on the host network).
    allow(
      `${name}-allow-scrape`,
      {
        namespace: args.namespace,
        name: "allow-prometheus-scrape",
        podLabels: { "app.kubernetes.io/name": "prometheus" },
        egress: [{ to: [ANYWHERE, { namespaceSelector: {} }] }],
      },
      k8sOpts,
    );
    allow(
      `${name}-allow-alert-receivers`,
      {
        namespace: args.namespace,
        name: "allow-alertmanager-receivers",
        podLabels: { "app.kubernetes.io/name": "alertmanager" },
        egress: [{ to: [ANYWHERE], ports: tcp(443) }],
      },
      k8sOpts,
    );
    allow(
      `${name}-allow-grafana`,
      {
        namespace: args.namespace,
        name: "allow-grafana-from-gateway",
        podLabels: { "app.kubernetes.io/name": "grafana" },
        ingress: [{ from: [namespacePeer(args.gateway.namespace)], ports: tcp(GRAFANA_PORT) }],
      },
      k8sOpts,
    );

    const password = new random.RandomPassword(
      `${name}-grafana-admin`,
      { length: 32, special: false },
      { parent: this },
    );
    this.grafanaAdminPassword = password.result;
    const adminSecret = args.secrets.secret(
      `${name}-grafana-admin`,
      {
        namespace: args.namespace,
        name: "grafana-admin",
        data: {
          "admin-user": "admin",
          "admin-password": args.secrets.value("grafana-admin-password", password.result, k8sOpts),
        },
      },
      k8sOpts,
    );

    const selector = { matchLabels: { ...MONITORING_SELECTOR_LABELS } };
    const volume = (size: string) => ({
      volumeClaimTemplate: {
        spec: {
          storageClassName: args.storageClass,
          accessModes: ["ReadWriteOnce"],
          resources: { requests: { storage: size } },
        },
      },
    });
    this.grafanaUrl = s.grafanaHost === undefined ? undefined : pulumi.output(`https://${s.grafanaHost}`);

    const release = pinnedRelease(
      `${name}-release`,
      {
        chart: charts.kubePrometheusStack,
        source: args.chartSource,
        imageMirror: args.imageMirror,
        releaseName: MONITORING_RELEASE,
        namespace: args.namespace,
        timeoutSeconds: 900,
        values: {
          crds: { enabled: true },
          // Managed (GKE) or localhost-bound (Minikube) control-plane components cannot be scraped.
          kubeControllerManager: { enabled: false },
          kubeScheduler: { enabled: false },
          kubeEtcd: { enabled: false },
          kubeProxy: { enabled: false },
          prometheusOperator: {
            resources: sizing({ cpu: "50m", memory: "128Mi", memoryLimit: "256Mi" }),
            // The certgen hook Jobs (create, patch) that give the admission webhook its certificate.
            admissionWebhooks: {
              enabled: true,
              patch: {
                enabled: true,
                resources: sizing({ cpu: "10m", memory: "32Mi", memoryLimit: "64Mi" }),
              },
            },
          },
          prometheus: {
            prometheusSpec: {
              replicas: args.replicas,
              retention: s.retention,
              resources: sizing({ cpu: "200m", memory: "1Gi", memoryLimit: "2Gi" }),
              storageSpec: volume(s.storageSize),
              // Every namespace, but only monitors labelled for this Prometheus.
              serviceMonitorSelectorNilUsesHelmValues: false,
              serviceMonitorSelector: selector,
              serviceMonitorNamespaceSelector: {},
              podMonitorSelectorNilUsesHelmValues: false,
              podMonitorSelector: selector,
              podMonitorNamespaceSelector: {},
              ruleSelectorNilUsesHelmValues: false,
              ruleSelector: selector,
              ruleNamespaceSelector: {},
              probeSelectorNilUsesHelmValues: false,
              probeSelector: selector,
              probeNamespaceSelector: {},
            },
          },
          alertmanager: {
            alertmanagerSpec: {
              replicas: args.replicas,
              resources: sizing({ cpu: "20m", memory: "64Mi", memoryLimit: "128Mi" }),
              storage: volume(s.alertmanagerStorageSize),
            },
          },
          grafana: {
            replicas: 1,
            admin: { existingSecret: "grafana-admin", userKey: "admin-user", passwordKey: "admin-password" },
            // Grafana reads the admin password at start-up: a rotated one restarts it.
            podAnnotations: { [SECRET_REVISION_ANNOTATION]: adminSecret.revision },
            resources: sizing({ cpu: "50m", memory: "256Mi", memoryLimit: "512Mi" }),
            // Grafana writes only to /var/lib/grafana, an emptyDir while persistence is off.
            containerSecurityContext: containerSecurity(),
            persistence: { enabled: false },
            testFramework: { enabled: false },
            sidecar: {
              resources: sizing({ cpu: "10m", memory: "64Mi", memoryLimit: "128Mi" }),
              // The dashboard and datasource sidecars write only to their mounted emptyDir folders.
              securityContext: containerSecurity(),
              dashboards: {
                enabled: true,
                label: Object.keys(DASHBOARD_LABELS)[0],
                labelValue: Object.values(DASHBOARD_LABELS)[0],
                searchNamespace: "ALL",
              },
            },
            "grafana.ini": {
              server: s.grafanaHost ? { domain: s.grafanaHost, root_url: `https://${s.grafanaHost}` } : {},
              analytics: { check_for_updates: false, reporting_enabled: false },
              users: { allow_sign_up: false },
              "auth.anonymous": { enabled: false },
            },
          },
          "kube-state-metrics": {
            resources: sizing({ cpu: "20m", memory: "64Mi", memoryLimit: "256Mi" }),
          },
          "prometheus-node-exporter": {
            namespaceOverride: args.nodeExporterNamespace,
            resources: sizing({ cpu: "20m", memory: "32Mi", memoryLimit: "64Mi" }),
            // Host namespaces and host paths are what it is for (the privileged monitoring-node namespace); within
            // that it still runs non-root, read-only, without capabilities or privilege escalation.
            containerSecurityContext: containerSecurity(),
          },
        },
      },
      { ...k8sOpts, dependsOn: [...k8sOpts.dependsOn, adminSecret.resource] },
    );

    if (s.grafanaHost !== undefined) {
      new k8s.apiextensions.CustomResource(
        `${name}-grafana-route`,
        {
          apiVersion: "gateway.networking.k8s.io/v1",
          kind: "HTTPRoute",
          metadata: { name: "grafana", namespace: args.namespace },
          spec: {
            parentRefs: [
              {
                name: args.gateway.name,
                namespace: args.gateway.namespace,
                sectionName: args.gateway.httpsListener,
              },
            ],
            hostnames: [s.grafanaHost],
            rules: [{ backendRefs: [{ name: GRAFANA_SERVICE, port: 80 }] }],
          },
        },
        { ...k8sOpts, dependsOn: [...k8sOpts.dependsOn, release] },
      );
    }
    this.ready = [release];
    this.registerOutputs({ grafanaUrl: this.grafanaUrl });
  }
}
