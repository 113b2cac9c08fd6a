// Collects what REPORT.md shows: each stack's resources from the real program under mocks, evaluated with
// that stack's enforcement config. Shared by the report script and the staleness test.
import * as fs from "node:fs";
import * as path from "node:path";
import * as prettier from "prettier";
import { toolchainDir } from "../../test/cluster/control-plane";
import { chartSubjects } from "../../test/charts/evaluate";
import { chartStack, installed } from "../../test/charts/stack";
import { runProgram, stackNames, type StackName } from "../../test/support/program";
import { exemptions } from "../exemptions";
import { evaluateStack, type PackConfig, type StackResource } from "../src/evaluate";
import { CHART_SUBJECTS, chartPolicies, policySubjects } from "../src/policies";
import { renderReport, type ChartResult, type StackResult } from "../src/report";

export const packDir = path.resolve(__dirname, "..");
export const reportPath = path.join(packDir, "REPORT.md");

export function packConfigOf(stack: StackName): PackConfig {
  return JSON.parse(fs.readFileSync(path.join(packDir, "config", `${stack}.json`), "utf8")) as PackConfig;
}

export async function capturedResources(stack: StackName): Promise<StackResource[]> {
  const run = await runProgram(stack);
  return run.resources.map((r) => ({
    type: r.type,
    name: r.name,
    urn: r.urn,
    props: r.inputs as Record<string, unknown>,
    protect: r.opts.protect === true,
  }));
}

/** Each stack's charts rendered (test/charts) and judged by the chart-scope policies. */
export async function chartResults(helm: string): Promise<Record<StackName, ChartResult>> {
  const results = {} as Record<StackName, ChartResult>;
  for (const stack of stackNames) {
    const chart = await chartStack(stack, helm);
    const objectsByRelease: Record<string, number> = {};
    for (const r of installed(chart.rendered))
      objectsByRelease[r.release] = (objectsByRelease[r.release] ?? 0) + 1;
    results[stack] = {
      stack,
      resourceCount: installed(chart.rendered).length,
      objectsByRelease,
      outcomes: evaluateStack(chartSubjects(chart), packConfigOf(stack), chartPolicies),
    };
  }
  return results;
}

/** Renders the report from already captured resources and chart results (the tests reuse their runs). */
export async function renderFor(
  resources: Readonly<Record<StackName, readonly StackResource[]>>,
  charts: Readonly<Record<StackName, ChartResult>>,
): Promise<string> {
  const pkg = JSON.parse(fs.readFileSync(path.join(packDir, "package.json"), "utf8")) as { version: string };
  const stacks: StackResult[] = stackNames.map((stack) => ({
    stack,
    resourceCount: resources[stack].length,
    outcomes: evaluateStack(resources[stack], packConfigOf(stack)),
  }));
  const text = renderReport({
    packName: "mcp-registry-policies",
    packVersion: pkg.version,
    subjects: policySubjects,
    stacks,
    charts: { subjects: CHART_SUBJECTS, stacks: stackNames.map((stack) => charts[stack]) },
    exemptions,
    configs: Object.fromEntries(stackNames.map((stack) => [stack, packConfigOf(stack)])),
  });
  // Formatted as `prettier --check` (npm run lint) expects, with the repository's prettier settings.
  const options = (await prettier.resolveConfig(reportPath)) ?? {};
  return prettier.format(text, { ...options, filepath: reportPath });
}

export async function buildReport(): Promise<string> {
  const resources = {} as Record<StackName, StackResource[]>;
  for (const stack of stackNames) resources[stack] = await capturedResources(stack);
  const helm = `${toolchainDir()}/helm`;
  return renderFor(resources, await chartResults(helm));
}
