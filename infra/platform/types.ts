import * as pulumi from "@pulumi/pulumi";

/** What the platform layer hands to the data and registry layers. */
export interface Platform {
  readonly namespaces: {
    readonly certManager: string;
    readonly gateway: string;
    readonly cnpg: string;
    readonly k8up: string;
    readonly monitoring: string;
  };
  /** ClusterIssuer that signs the Gateway's certificate. */
  readonly clusterIssuer: string;
  readonly gateway: {
    readonly name: string;
    readonly namespace: string;
    /** Listener names for HTTPRoute `parentRefs[].sectionName`. */
    readonly httpsListener: string;
    readonly httpListener: string;
    /** Reserved external IP on GKE; undefined on Minikube, where `minikube tunnel` gives the LoadBalancer its address. */
    readonly address: pulumi.Output<string> | undefined;
  };
  readonly monitoring: {
    readonly namespace: string;
    /** Labels a ServiceMonitor/PodMonitor/PrometheusRule needs to be picked up by this Prometheus. */
    readonly selectorLabels: Readonly<Record<string, string>>;
    /** Labels on a ConfigMap that make Grafana's dashboard sidecar load the JSON dashboards in it. */
    readonly dashboardLabels: Readonly<Record<string, string>>;
    readonly grafanaUrl: pulumi.Output<string> | undefined;
  };
  readonly cnpg: {
    /** Name of the Barman Cloud CNPG-I plugin for `Cluster.spec.plugins[].name`. */
    readonly barmanPluginName: string;
  };
  /** Charts whose CRDs and webhooks must exist before custom resources are created (use in dependsOn). */
  readonly ready: pulumi.Resource[];
}
