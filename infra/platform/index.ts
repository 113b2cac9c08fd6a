// The platform layer as one component, in install order: Gateway API CRDs -> monitoring (its CRDs carry every
// other chart's monitors) -> cert-manager -> NGINX Gateway Fabric + Gateway, CloudNativePG, K8up.
import type * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { GatewaySettings, MonitoringSettings } from "../settings";
import { CertManager } from "./cert-manager";
import type { ImageMirror } from "../lib/mirror";
import type { SecretStore } from "../secrets/types";
import type { ChartSource } from "./chart-archive";
import { CloudNativePg } from "./cnpg";
import { GatewayApiCrds, PublicGateway, GATEWAY_NAME, HTTP_LISTENER, HTTPS_LISTENER } from "./gateway";
import { K8up } from "./k8up";
import { Monitoring } from "./monitoring";
import type { Platform } from "./types";

/** The platform's namespaces (fixed: charts, policies and dashboards refer to them). */
export const PLATFORM_NAMESPACES = Object.freeze({
  certManager: "cert-manager",
  gateway: "gateway",
  cnpg: "cnpg-system",
  k8up: "k8up",
  monitoring: "monitoring",
  nodeExporter: "monitoring-node",
});

export interface PlatformServicesArgs {
  readonly provider: k8s.Provider;
  /** Where charts come from (settings `charts.source`). */
  readonly chartSource: ChartSource;
  /** The stack's image mirrors (GKE): every chart's images are pulled through them. */
  readonly imageMirror: ImageMirror | undefined;
  readonly gateway: Readonly<GatewaySettings>;
  readonly monitoring: Readonly<MonitoringSettings>;
  readonly storageClass: string;
  /** Replicas of operators, webhooks, Prometheus and Alertmanager (1 on Minikube, 2 on GKE). */
  readonly replicas: number;
  readonly workloadIdentity: { readonly pool: string; readonly project: string } | undefined;
  /** Reserve a static external IP for the Gateway (GKE). */
  readonly staticIp: { readonly project: string; readonly region: string; readonly name: string } | undefined;
  /** Namespaces (besides monitoring) whose HTTPRoutes may attach to the HTTPS listener. */
  readonly routeNamespaces: readonly string[];
  readonly protect: boolean;
  /** Cluster resources that must exist first (the node pool on GKE). */
  readonly dependsOn: pulumi.Resource[];
  /** Where platform secrets (Grafana's admin password) are kept; its operator, if any, comes first. */
  readonly secrets: SecretStore;
}

export class PlatformServices extends pulumi.ComponentResource implements Platform {
  readonly namespaces = {
    certManager: PLATFORM_NAMESPACES.certManager,
    gateway: PLATFORM_NAMESPACES.gateway,
    cnpg: PLATFORM_NAMESPACES.cnpg,
    k8up: PLATFORM_NAMESPACES.k8up,
    monitoring: PLATFORM_NAMESPACES.monitoring,
  };
  readonly clusterIssuer: string;
  readonly gateway: Platform["gateway"];
  readonly monitoring: Platform["monitoring"];
  readonly cnpg: Platform["cnpg"];
  readonly ready: pulumi.Resource[];
  /** Grafana's admin password (secret), for the stack output. */
  readonly grafanaAdminPassword: pulumi.Output<string>;
  /** The local CA's certificate for laptops to trust; undefined on GKE. */
  readonly localCaCertificate: pulumi.Output<string> | undefined;

  constructor(name: string, args: PlatformServicesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mcp-registry:platform:PlatformServices", name, {}, opts);
    const ns = PLATFORM_NAMESPACES;
    const provider = args.provider;
    const chartSource = args.chartSource;
    const child = { parent: this };

    const crds = new GatewayApiCrds(
      `${name}-gateway-api`,
      {
        provider,
        chartSource,
        imageMirror: args.imageMirror,
        namespace: ns.gateway,
        monitoringNamespace: ns.monitoring,
        dependsOn: args.dependsOn,
      },
      child,
    );
    const monitoring = new Monitoring(
      `${name}-monitoring`,
      {
        provider,
        chartSource,
        imageMirror: args.imageMirror,
        namespace: ns.monitoring,
        nodeExporterNamespace: ns.nodeExporter,
        settings: args.monitoring,
        storageClass: args.storageClass,
        replicas: args.replicas,
        gateway: { name: GATEWAY_NAME, namespace: ns.gateway, httpsListener: HTTPS_LISTENER },
        secrets: args.secrets,
        dependsOn: [...args.dependsOn, crds],
      },
      child,
    );
    const monitoringRef = {
      namespace: ns.monitoring,
      selectorLabels: monitoring.selectorLabels,
      dashboardLabels: monitoring.dashboardLabels,
    };
    const certManager = new CertManager(
      `${name}-cert-manager`,
      {
        provider,
        chartSource,
        imageMirror: args.imageMirror,
        namespace: ns.certManager,
        replicas: args.replicas,
        gateway: args.gateway,
        http01ParentRef: { name: GATEWAY_NAME, namespace: ns.gateway, sectionName: HTTP_LISTENER },
        workloadIdentity: args.workloadIdentity,
        monitoring: monitoringRef,
        dependsOn: [...args.dependsOn, crds, ...monitoring.ready],
      },
      child,
    );
    const publicGateway = new PublicGateway(
      `${name}-gateway`,
      {
        provider,
        chartSource,
        imageMirror: args.imageMirror,
        namespace: ns.gateway,
        hosts: args.gateway.hosts,
        replicas: args.gateway.replicas,
        clusterIssuer: certManager.clusterIssuer,
        routeNamespaces: [...new Set([ns.monitoring, ...args.routeNamespaces])],
        staticIp: args.staticIp,
        protect: args.protect,
        monitoring: monitoringRef,
        dependsOn: [crds.namespace, ...monitoring.ready, ...certManager.ready],
      },
      child,
    );
    const cnpg = new CloudNativePg(
      `${name}-cnpg`,
      {
        provider,
        chartSource,
        imageMirror: args.imageMirror,
        namespace: ns.cnpg,
        replicas: args.replicas,
        monitoring: monitoringRef,
        dependsOn: [...args.dependsOn, ...monitoring.ready, ...certManager.ready],
      },
      child,
    );
    const k8up = new K8up(
      `${name}-k8up`,
      {
        provider,
        chartSource,
        imageMirror: args.imageMirror,
        namespace: ns.k8up,
        monitoring: monitoringRef,
        dependsOn: [...args.dependsOn, ...monitoring.ready],
      },
      child,
    );

    this.clusterIssuer = certManager.clusterIssuer;
    this.gateway = {
      name: publicGateway.name,
      namespace: publicGateway.namespace,
      httpsListener: publicGateway.httpsListener,
      httpListener: publicGateway.httpListener,
      address: publicGateway.address,
    };
    this.monitoring = {
      namespace: monitoring.namespace,
      selectorLabels: monitoring.selectorLabels,
      dashboardLabels: monitoring.dashboardLabels,
      grafanaUrl: monitoring.grafanaUrl,
    };
    this.cnpg = { barmanPluginName: cnpg.barmanPluginName };
    this.grafanaAdminPassword = pulumi.secret(monitoring.grafanaAdminPassword);
    this.localCaCertificate = certManager.localCaCertificate;
    this.ready = [
      ...monitoring.ready,
      ...certManager.ready,
      ...publicGateway.ready,
      ...cnpg.ready,
      ...k8up.ready,
    ];
    this.registerOutputs({
      clusterIssuer: this.clusterIssuer,
      gatewayAddress: this.gateway.address,
      grafanaUrl: this.monitoring.grafanaUrl,
    });
  }
}
