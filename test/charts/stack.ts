// One stack as a cluster would receive it: the program's own objects (under Pulumi mocks, with charts from the
// packaged archives in ../shared/charts through the `directory` chart source) plus everything its Helm releases
// render. Shared by the policy tests over charts and the apply tests against a real API server.
import * as path from "node:path";
import type { StackResource } from "../../policies/src/evaluate";
import { runProgram, type CapturedResource, type StackName } from "../support/program";
import type { KubeObject } from "../cluster/kube-client";
import { SHARED_CHARTS } from "./fixtures";
import {
  placeInNamespaces,
  programObjects,
  releasesOf,
  renderStack,
  renderedName,
  typeToken,
  type ReleaseSpec,
  type RenderedObject,
} from "./render";

export interface ChartStack {
  readonly stack: StackName;
  readonly resources: CapturedResource[];
  readonly releases: ReleaseSpec[];
  readonly rendered: RenderedObject[];
}

/** The program's config override that installs every chart from the packaged archives. */
export function directoryChartSource(folder = SHARED_CHARTS): Record<string, string> {
  return { "mcp-registry:charts": JSON.stringify({ source: { kind: "directory", path: folder } }) };
}

const stacks = new Map<StackName, Promise<ChartStack>>();

/** The stack's program run and chart render, done once per test process. */
export function chartStack(stack: StackName, helm: string): Promise<ChartStack> {
  let cached = stacks.get(stack);
  if (cached === undefined) {
    cached = runProgram(stack, directoryChartSource()).then(async (run) => {
      const releases = releasesOf(run.resources);
      for (const release of releases) {
        if (path.dirname(release.chart) !== SHARED_CHARTS)
          throw new Error(`${release.releaseName} does not come from ${SHARED_CHARTS}: ${release.chart}`);
      }
      const rendered = placeInNamespaces(await renderStack(helm, releases), releases);
      return { stack, resources: run.resources, releases, rendered };
    });
    stacks.set(stack, cached);
  }
  return cached;
}

/** Objects `helm install` never creates: `helm test` hooks run only on demand. */
export function installed(rendered: readonly RenderedObject[]): RenderedObject[] {
  return rendered.filter((r) => !r.hooks.includes("test"));
}

/** A chart-rendered object as the policy pack sees a resource: its type token and a stable name. */
export function renderedSubject(stack: StackName, r: RenderedObject): StackResource {
  const type = typeToken(r.object);
  const name = renderedName(r);
  return {
    type,
    name,
    urn: `urn:pulumi:${stack}::mcp-registry::kubernetes:helm.sh/v3:Release$${type}::${name}`,
    props: r.object,
    protect: false,
  };
}

/** The program's resources as the pack sees them (as in test/policies/support.ts). */
export function programSubjects(resources: readonly CapturedResource[]): StackResource[] {
  return resources.map((r) => ({
    type: r.type,
    name: r.name,
    urn: r.urn,
    props: r.inputs,
    protect: r.opts.protect === true,
  }));
}

/** Every object the stack sends to the cluster: the program's own and the charts' (test hooks excluded). */
export function clusterObjects(chart: ChartStack): { source: string; object: KubeObject }[] {
  return [
    ...programObjects(chart.resources).map((o) => ({
      source: `program ${o.resourceName}`,
      object: o.object,
    })),
    ...installed(chart.rendered).map((r) => ({ source: `chart ${r.release}`, object: r.object })),
  ];
}
