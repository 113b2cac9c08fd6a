// Traffic: Gateway API (standard-channel CRDs) with NGINX Gateway Fabric as the controller, and one Gateway per
// environment: HTTPS with a cert-manager certificate, plain HTTP only to redirect (and to answer HTTP-01).
import * as gcp from "@pulumi/gcp";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { HardenedNamespace } from "../lib/namespace";
import { charts } from "../versions";
import { pinnedRelease } from "./chart";
import type { ImageMirror } from "../lib/mirror";
import type { ChartSource } from "./chart-archive";
import { ANYWHERE, allow, namespacePeer, tcp } from "./network";
import { sizing } from "./values";

export const GATEWAY_NAME = "public";
export const GATEWAY_CLASS = "nginx";
export const HTTPS_LISTENER = "https";
export const HTTP_LISTENER = "http";
export const GATEWAY_TLS_SECRET = "gateway-tls";
const NGF_RELEASE = "nginx-gateway";
const NGF_METRICS_PORT = 9113;

export interface GatewayApiCrdsArgs {
  readonly provider: k8s.Provider;
  /** Where charts come from (settings `charts.source`). */
  readonly chartSource: ChartSource;
  /** Where nodes pull the chart images from (the stack's mirrors on GKE). */
  readonly imageMirror: ImageMirror | undefined;
  readonly namespace: string;
  readonly monitoringNamespace: string;
  readonly dependsOn?: pulumi.Resource[];
}

/** The gateway namespace and the Gateway API CRDs; cert-manager needs the CRDs before it starts. */
export class GatewayApiCrds extends pulumi.ComponentResource {
  readonly namespace: HardenedNamespace;
  readonly crds: k8s.helm.v3.Release;

  constructor(name: string, args: GatewayApiCrdsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mcp-registry:platform:GatewayApiCrds", name, {}, opts);
    // restricted: NGINX Gateway Fabric runs as UID 101 with no capabilities, binding :80/:443 through a safe sysctl.
    this.namespace = new HardenedNamespace(
      `${name}-ns`,
      {
        provider: args.provider,
        name: args.namespace,
        podSecurity: "restricted",
        allowApiServerEgress: true,
        allowSameNamespace: true,
        allowScrapingFrom: { namespace: args.monitoringNamespace, ports: [NGF_METRICS_PORT] },
      },
      { parent: this, dependsOn: args.dependsOn },
    );
    // A pinned Release like every other chart (infra/platform/chart.ts): the CRDs are the chart's templates, so a
    // chart bump upgrades them with the release.
    this.crds = pinnedRelease(
      `${name}-crds`,
      {
        chart: charts.gatewayApiCrds,
        source: args.chartSource,
        imageMirror: args.imageMirror,
        releaseName: "gateway-api-crds",
        namespace: args.namespace,
        values: {
          crds: { gatewayAPI: { enabled: true, channel: "standard" }, envoyGateway: { enabled: false } },
        },
      },
      { parent: this, provider: args.provider, dependsOn: [this.namespace] },
    );
    this.registerOutputs({});
  }
}

export interface PublicGatewayArgs {
  readonly provider: k8s.Provider;
  /** Where charts come from (settings `charts.source`). */
  readonly chartSource: ChartSource;
  /** Where nodes pull the chart images from (the stack's mirrors on GKE). */
  readonly imageMirror: ImageMirror | undefined;
  readonly namespace: string;
  readonly hosts: readonly string[];
  readonly replicas: number;
  readonly clusterIssuer: string;
  /** Namespaces whose HTTPRoutes may attach to the HTTPS listener (and that the data plane may reach). */
  readonly routeNamespaces: readonly string[];
  /** Reserve a regional static IP for the LoadBalancer (GKE); Minikube gets its address from `minikube tunnel`. */
  readonly staticIp: { readonly project: string; readonly region: string; readonly name: string } | undefined;
  readonly protect: boolean;
  readonly monitoring: { readonly selectorLabels: Readonly<Record<string, string>> };
  /** Gateway API CRDs, cert-manager and its ClusterIssuer. */
  readonly dependsOn: pulumi.Resource[];
}

export class PublicGateway extends pulumi.ComponentResource {
  readonly name = GATEWAY_NAME;
  readonly namespace: string;
  readonly httpsListener = HTTPS_LISTENER;
  readonly httpListener = HTTP_LISTENER;
  readonly address: pulumi.Output<string> | undefined;
  /** The controller and the Gateway; routes must wait for them. */
  readonly ready: pulumi.Resource[];

  constructor(name: string, args: PublicGatewayArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mcp-registry:platform:PublicGateway", name, {}, opts);
    if (args.routeNamespaces.length === 0) throw new Error("PublicGateway: routeNamespaces is empty");
    const provider = args.provider;
    this.namespace = args.namespace;
    const k8sOpts = { parent: this, provider, dependsOn: args.dependsOn };

    const ip = args.staticIp
      ? new gcp.compute.Address(
          `${name}-ip`,
          {
            project: args.staticIp.project,
            region: args.staticIp.region,
            name: args.staticIp.name,
            addressType: "EXTERNAL",
            networkTier: "PREMIUM",
            description: "Public address of the MCP registry Gateway",
          },
          { parent: this, protect: args.protect },
        )
      : undefined;
    this.address = ip?.address;

    // Clients reach the NGINX data plane from anywhere; the data plane reaches only the route namespaces.
    allow(
      `${name}-allow-clients`,
      {
        namespace: args.namespace,
        name: "allow-clients",
        ingress: [{ from: [ANYWHERE], ports: tcp(80, 443) }],
      },
      k8sOpts,
    );
    allow(
      `${name}-allow-backends`,
      {
        namespace: args.namespace,
        name: "allow-route-backends",
        egress: [{ to: args.routeNamespaces.map((ns) => namespacePeer(ns)) }],
      },
      k8sOpts,
    );

    const release = pinnedRelease(
      `${name}-ngf`,
      {
        chart: charts.nginxGatewayFabric,
        source: args.chartSource,
        imageMirror: args.imageMirror,
        releaseName: NGF_RELEASE,
        namespace: args.namespace,
        values: {
          nginxGateway: {
            gatewayClassName: GATEWAY_CLASS,
            replicas: args.replicas > 1 ? 2 : 1,
            // No product telemetry leaves the cluster.
            productTelemetry: { enable: false },
            snippetsFilters: { enable: false },
            metrics: { enable: true, port: NGF_METRICS_PORT },
            image: { pullPolicy: "IfNotPresent" },
            resources: sizing({ cpu: "50m", memory: "128Mi", memoryLimit: "256Mi" }),
          },
          nginx: {
            replicas: args.replicas,
            image: { pullPolicy: "IfNotPresent" },
            config: { logging: { errorLevel: "warn" } },
            container: { resources: sizing({ cpu: "100m", memory: "128Mi", memoryLimit: "512Mi" }) },
            service: {
              type: "LoadBalancer",
              // Local keeps the client's source IP for logs and rate limits.
              externalTrafficPolicy: "Local",
              ...(ip ? { loadBalancerIP: ip.address } : {}),
            },
          },
        },
      },
      k8sOpts,
    );
    const afterRelease = { parent: this, provider, dependsOn: [...args.dependsOn, release] };

    const certificate = new k8s.apiextensions.CustomResource(
      `${name}-certificate`,
      {
        apiVersion: "cert-manager.io/v1",
        kind: "Certificate",
        metadata: { name: GATEWAY_TLS_SECRET, namespace: args.namespace },
        spec: {
          secretName: GATEWAY_TLS_SECRET,
          dnsNames: [...args.hosts],
          issuerRef: { group: "cert-manager.io", kind: "ClusterIssuer", name: args.clusterIssuer },
          privateKey: { algorithm: "ECDSA", size: 256, rotationPolicy: "Always" },
        },
      },
      afterRelease,
    );

    const gateway = new k8s.apiextensions.CustomResource(
      `${name}-gateway`,
      {
        apiVersion: "gateway.networking.k8s.io/v1",
        kind: "Gateway",
        metadata: { name: GATEWAY_NAME, namespace: args.namespace },
        spec: {
          gatewayClassName: GATEWAY_CLASS,
          listeners: [
            {
              name: HTTP_LISTENER,
              port: 80,
              protocol: "HTTP",
              // Only routes of this namespace: the redirect below and cert-manager's HTTP-01 solver routes.
              allowedRoutes: { namespaces: { from: "Same" }, kinds: [{ kind: "HTTPRoute" }] },
            },
            {
              name: HTTPS_LISTENER,
              port: 443,
              protocol: "HTTPS",
              tls: {
                mode: "Terminate",
                certificateRefs: [{ group: "", kind: "Secret", name: GATEWAY_TLS_SECRET }],
              },
              allowedRoutes: {
                namespaces: {
                  from: "Selector",
                  selector: {
                    matchExpressions: [
                      {
                        key: "kubernetes.io/metadata.name",
                        operator: "In",
                        values: [...args.routeNamespaces],
                      },
                    ],
                  },
                },
                kinds: [{ kind: "HTTPRoute" }],
              },
            },
          ],
        },
      },
      { ...afterRelease, dependsOn: [...afterRelease.dependsOn, certificate] },
    );

    new k8s.apiextensions.CustomResource(
      `${name}-https-redirect`,
      {
        apiVersion: "gateway.networking.k8s.io/v1",
        kind: "HTTPRoute",
        metadata: { name: "redirect-to-https", namespace: args.namespace },
        spec: {
          parentRefs: [{ name: GATEWAY_NAME, sectionName: HTTP_LISTENER }],
          rules: [
            { filters: [{ type: "RequestRedirect", requestRedirect: { scheme: "https", statusCode: 301 } }] },
          ],
        },
      },
      { ...afterRelease, dependsOn: [gateway] },
    );

    new k8s.apiextensions.CustomResource(
      `${name}-controller-metrics`,
      {
        apiVersion: "monitoring.coreos.com/v1",
        kind: "PodMonitor",
        metadata: {
          name: "nginx-gateway-fabric",
          namespace: args.namespace,
          labels: { ...args.monitoring.selectorLabels },
        },
        spec: {
          selector: { matchLabels: { "app.kubernetes.io/instance": NGF_RELEASE } },
          podMetricsEndpoints: [{ port: "metrics", interval: "30s" }],
        },
      },
      afterRelease,
    );

    this.ready = [release, gateway];
    this.registerOutputs({ address: this.address });
  }
}
