// The policy pack sees the charts: the Images and Pods policies judge every object the pinned charts render with
// the program's values, for each stack, and a weakened chart value or an unpinned hook image is caught.
import { strict as assert } from "node:assert";
import * as path from "node:path";
import type { PolicyOutcome } from "../../policies/src/evaluate";
import { stackNames, type StackName } from "../support/program";
import { packConfig } from "../policies/support";
import { chartSubjects, evaluateCharts } from "./evaluate";
import { requireSharedCharts, requireToolchain } from "./fixtures";
import { placeInNamespaces, renderRelease, type ReleaseSpec } from "./render";
import { chartStack, installed, programSubjects, renderedSubject, type ChartStack } from "./stack";

const mandatory = (outcomes: readonly PolicyOutcome[]) =>
  outcomes.flatMap((o) =>
    o.findings
      .filter((f) => f.level === "mandatory")
      .map((f) => `${o.policy}: ${f.message} [${f.urn?.split("::").pop()}]`),
  );

/** Renders one release (changed) and evaluates its objects with the stack's Namespaces and pack config. */
async function evaluateRelease(helm: string, chart: ChartStack, release: ReleaseSpec): Promise<string[]> {
  const rendered = placeInNamespaces(await renderRelease(helm, release), [release]);
  const subjects = [
    ...programSubjects(chart.resources).filter((r) => r.type === "kubernetes:core/v1:Namespace"),
    ...installed(rendered).map((r) => renderedSubject(chart.stack, r)),
  ];
  return mandatory(evaluateCharts(chart.stack, subjects, packConfig(chart.stack)));
}

function release(
  chart: ChartStack,
  name: string,
  change: (values: Record<string, unknown>) => void,
): ReleaseSpec {
  const found = chart.releases.find((r) => r.releaseName === name);
  assert.ok(found, `the program has no Helm release ${name}`);
  const values = structuredClone(found.values);
  change(values);
  return { ...found, values };
}

describe("charts: the policy pack over what the charts render", function () {
  this.timeout(900_000);
  let helm = "";
  before(function () {
    requireSharedCharts(this);
    helm = path.join(requireToolchain(this), "helm");
  });

  for (const stack of stackNames) {
    it(`${stack}: every chart-rendered workload passes the mandatory Images and Pods policies`, async () => {
      const chart = await chartStack(stack, helm);
      const outcomes = evaluateCharts(stack, chartSubjects(chart), packConfig(stack));
      const objects = installed(chart.rendered);
      const exempted = outcomes.reduce((n, o) => n + o.findings.filter((f) => f.exempted).length, 0);
      const checked = outcomes.reduce((n, o) => n + o.checked, 0);
      console.log(
        `      ${stack}: ${objects.length} objects from ${chart.releases.length} releases, ${checked} policy checks, ` +
          `${exempted} exempted findings`,
      );
      assert.ok(
        objects.some((r) => r.object.kind === "DaemonSet"),
        "node-exporter was rendered",
      );
      assert.deepEqual(mandatory(outcomes), []);
    });
  }

  const stack: StackName = "staging";

  it("catches a chart container made privileged through the chart's values (K8up)", async () => {
    const chart = await chartStack(stack, helm);
    const weakened = release(chart, "k8up", (values) => {
      values.securityContext = { ...(values.securityContext as object), privileged: true };
    });
    const found = await evaluateRelease(helm, chart, weakened);
    assert.ok(
      found.some((m) => /^pods-no-privileged: container "k8up-operator" .*privileged/.test(m)),
      found.join("\n"),
    );
  });

  it("catches a chart image moved to the mutable tag latest (NGINX Gateway Fabric)", async () => {
    const chart = await chartStack(stack, helm);
    const weakened = release(chart, "nginx-gateway", (values) => {
      const gateway = values.nginxGateway as { image: Record<string, unknown> };
      gateway.image = { ...gateway.image, tag: "latest" };
    });
    const found = await evaluateRelease(helm, chart, weakened);
    assert.ok(
      found.some((m) => /^images-pinned: .*nginx-gateway-fabric:latest/.test(m)),
      found.join("\n"),
    );
  });

  it("catches a hook Job with an unpinned :latest image from an unlisted registry (the K8up 4.8.5 defect's shape)", async () => {
    const chart = await chartStack(stack, helm);
    const fixture: ReleaseSpec = {
      resourceName: "fixture",
      releaseName: "fixture",
      namespace: "k8up",
      chart: path.join(__dirname, "fixtures", "unpinned-hook"),
      version: "0.1.0",
      values: {},
    };
    const found = await evaluateRelease(helm, chart, fixture);
    assert.ok(
      found.some((m) => /^images-pinned: container "cleanup".*latest/.test(m)),
      found.join("\n"),
    );
    assert.ok(
      found.some((m) =>
        /^images-allowed-registries: container "cleanup": "docker.io\/bitnami\/kubectl:latest"/.test(m),
      ),
      found.join("\n"),
    );
  });
});
