// K8up: the restic backup operator behind the registry's logical (pg_dump) backups, checks and prunes.
import type * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { HardenedNamespace } from "../lib/namespace";
import { charts } from "../versions";
import { pinnedRelease } from "./chart";
import type { ImageMirror } from "../lib/mirror";
import type { ChartSource } from "./chart-archive";
import { containerSecurity, podSecurity, sizing } from "./values";

const METRICS_PORT = 8080;

export interface K8upArgs {
  readonly provider: k8s.Provider;
  /** Where charts come from (settings `charts.source`). */
  readonly chartSource: ChartSource;
  /** Where nodes pull the chart images from (the stack's mirrors on GKE). */
  readonly imageMirror: ImageMirror | undefined;
  readonly namespace: string;
  readonly monitoring: {
    readonly namespace: string;
    readonly selectorLabels: Readonly<Record<string, string>>;
  };
  readonly dependsOn: pulumi.Resource[];
}

export class K8up extends pulumi.ComponentResource {
  readonly namespace: string;
  readonly ready: pulumi.Resource[];

  constructor(name: string, args: K8upArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mcp-registry:platform:K8up", name, {}, opts);
    this.namespace = args.namespace;
    // restricted: only the operator runs here; backup pods run in the namespaces they back up.
    const ns = new HardenedNamespace(
      `${name}-ns`,
      {
        provider: args.provider,
        name: args.namespace,
        podSecurity: "restricted",
        allowApiServerEgress: true,
        allowScrapingFrom: { namespace: args.monitoring.namespace, ports: [METRICS_PORT] },
      },
      { parent: this, dependsOn: args.dependsOn },
    );
    const labels = { ...args.monitoring.selectorLabels };
    // The chart ships its CRDs in `crds/` (since 4.8.x): Helm installs them with the release but never upgrades
    // them, so a K8up upgrade that changes a CRD applies that release's k8up-crd.yaml first (K8up's upgrade notes).
    const release = pinnedRelease(
      `${name}-operator`,
      {
        chart: charts.k8up,
        source: args.chartSource,
        imageMirror: args.imageMirror,
        releaseName: "k8up",
        namespace: args.namespace,
        values: {
          replicaCount: 1,
          k8up: {
            enableLeaderElection: true,
            timezone: "Etc/UTC",
            // Only what is asked for: the registry's backups are pg_dump commands, never raw database volumes.
            skipWithoutAnnotation: true,
          },
          resources: sizing({ cpu: "20m", memory: "128Mi", memoryLimit: "256Mi" }),
          // The post-install/upgrade/delete cleanup hook Job (the K8up image itself since chart 4.8.6).
          cleanup: { resources: sizing({ cpu: "10m", memory: "32Mi", memoryLimit: "64Mi" }) },
          podSecurityContext: podSecurity(),
          securityContext: containerSecurity(),
          metrics: {
            serviceMonitor: { enabled: true, additionalLabels: labels },
            prometheusRule: { enabled: true, additionalLabels: labels, createDefaultRules: true },
          },
        },
      },
      { parent: this, provider: args.provider, dependsOn: [...args.dependsOn, ns] },
    );
    this.ready = [release];
    this.registerOutputs({});
  }
}
