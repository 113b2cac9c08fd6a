// Collects what REPORT.md shows: each stack's resources from the real program under mocks, evaluated with
// that stack's enforcement config. Shared by the report script and the staleness test.
import * as fs from "node:fs";
import * as path from "node:path";
import * as prettier from "prettier";
import { runProgram, stackNames, type StackName } from "../../test/support/program";
import { exemptions } from "../exemptions";
import { evaluateStack, type PackConfig, type StackResource } from "../src/evaluate";
import { policySubjects } from "../src/policies";
import { renderReport, type StackResult } from "../src/report";

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

/** Renders the report from already captured resources (the tests reuse their program runs). */
export async function renderFor(
  resources: Readonly<Record<StackName, readonly StackResource[]>>,
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
    exemptions,
  });
  // Formatted as `prettier --check` (npm run lint) expects, with the repository's prettier settings.
  const options = (await prettier.resolveConfig(reportPath)) ?? {};
  return prettier.format(text, { ...options, filepath: reportPath });
}

export async function buildReport(): Promise<string> {
  const resources = {} as Record<StackName, StackResource[]>;
  for (const stack of stackNames) resources[stack] = await capturedResources(stack);
  return renderFor(resources);
}
