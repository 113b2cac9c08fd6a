// One way to install a pinned third-party chart. Choice: `helm.v3.Release`, not `helm.v4.Chart`, because v4.Chart
// drops Helm hook resources and several of our charts need theirs (NGINX Gateway Fabric's cert generator,
// kube-prometheus-stack's webhook certificate patch and CRD upgrade jobs); a Release also installs and rolls back
// atomically. The price, per-object diffs in previews, is paid back by pinned versions and values in the diff.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { PinnedChart } from "../versions";

export interface PinnedReleaseArgs {
  readonly chart: PinnedChart;
  /** Helm release name; fixed so Service names derived from it are predictable. */
  readonly releaseName: string;
  readonly namespace: pulumi.Input<string>;
  readonly values: pulumi.Inputs;
  /** Seconds Helm waits for the release to become ready. */
  readonly timeoutSeconds?: number;
}

/** Chart reference and repository options for a pinned chart (OCI registries carry the chart in the URL). */
export function chartSource(chart: PinnedChart): { chart: string; repositoryOpts?: { repo: string } } {
  return chart.repo.startsWith("oci://")
    ? { chart: `${chart.repo.replace(/\/$/, "")}/${chart.chart}` }
    : { chart: chart.chart, repositoryOpts: { repo: chart.repo } };
}

/** A Helm release of a chart pinned in infra/versions.ts, atomic and bounded in time. */
export function pinnedRelease(
  name: string,
  args: PinnedReleaseArgs,
  opts: pulumi.CustomResourceOptions,
): k8s.helm.v3.Release {
  return new k8s.helm.v3.Release(
    name,
    {
      ...chartSource(args.chart),
      version: args.chart.version,
      name: args.releaseName,
      namespace: args.namespace,
      createNamespace: false,
      values: args.values,
      atomic: true,
      cleanupOnFail: true,
      waitForJobs: true,
      maxHistory: 5,
      timeout: args.timeoutSeconds ?? 600,
    },
    opts,
  );
}
