// One way to install a pinned third-party chart. Choice: `helm.v3.Release` everywhere, not `helm.v4.Chart`, because
// v4.Chart drops Helm hook resources that several of our charts need (NGINX Gateway Fabric's cert generator,
// kube-prometheus-stack's webhook certificate patch, K8up's cleanup), and because v4.Chart renders against a live
// cluster even in preview, so a stopped Minikube or a GKE cluster not yet created aborted the whole preview. A
// Release also installs and rolls back atomically. The price, per-object diffs in previews, is paid back by pinned
// versions and values in the diff, and by test/charts rendering every release against a real API server in CI.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { ImageMirror } from "../lib/mirror";
import type { PinnedChart } from "../versions";
import { chartReference, type ChartSource } from "./chart-archive";
import { withMirroredImages } from "./mirror-values";

export interface PinnedReleaseArgs {
  readonly chart: PinnedChart;
  /** Where the chart comes from (settings `charts.source`). */
  readonly source: ChartSource;
  /** Helm release name; fixed so Service names derived from it are predictable. */
  readonly releaseName: string;
  readonly namespace: pulumi.Input<string>;
  readonly values: pulumi.Inputs;
  /** Where nodes pull the chart's images from (GKE); undefined keeps the chart's upstream registries. */
  readonly imageMirror: ImageMirror | undefined;
  /** Seconds Helm waits for the release to become ready. */
  readonly timeoutSeconds?: number;
}

/** A Helm release of a chart pinned in infra/versions.ts, atomic and bounded in time, its images mirrored on GKE. */
export function pinnedRelease(
  name: string,
  args: PinnedReleaseArgs,
  opts: pulumi.CustomResourceOptions,
): k8s.helm.v3.Release {
  return new k8s.helm.v3.Release(
    name,
    {
      ...chartReference(args.chart, args.source),
      version: args.chart.version,
      name: args.releaseName,
      namespace: args.namespace,
      createNamespace: false,
      values: withMirroredImages(args.chart, args.values, args.imageMirror),
      atomic: true,
      cleanupOnFail: true,
      waitForJobs: true,
      maxHistory: 5,
      timeout: args.timeoutSeconds ?? 600,
    },
    opts,
  );
}
