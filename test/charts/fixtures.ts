// Where the test fixtures of the chart tests live, and how a missing one is reported.
import * as fs from "node:fs";
import * as path from "node:path";
import { toolchainDir } from "../cluster/control-plane";
import { repoRoot } from "../support/program";

/** A mocha test context (typed structurally, so modules outside the test run can import this one). */
interface Skippable {
  skip(): never;
}

/** The pinned Helm charts as `helm package` archives, beside the repository (../shared/charts, present in CI). */
export const SHARED_CHARTS = path.resolve(
  process.env.MCP_CHARTS_DIR ?? path.join(repoRoot, "..", "shared", "charts"),
);

/** Skips the suite when the charts are absent on a developer machine; fails it in CI, where they must exist. */
export function requireSharedCharts(context: Skippable): void {
  if (fs.existsSync(path.join(SHARED_CHARTS, "INDEX.md"))) return;
  const message = `the packaged charts are not at ${SHARED_CHARTS} (set MCP_CHARTS_DIR to their folder)`;
  if (process.env.CI === "true") throw new Error(message);
  console.log(`      skipped: ${message}`);
  context.skip();
}

let toolchain: string | undefined;

/**
 * The cached toolchain's bin folder (helm, kube-apiserver, ...), built by scripts/toolchain.sh on first use. A
 * developer machine that cannot build it skips the suite with the reason; CI (where .ci/run builds it) fails.
 */
export function requireToolchain(context: Skippable): string {
  if (toolchain !== undefined) return toolchain;
  try {
    toolchain = toolchainDir();
    return toolchain;
  } catch (error) {
    const message = `the test toolchain is unavailable: ${error instanceof Error ? error.message : String(error)}`;
    if (process.env.CI === "true") throw new Error(message, { cause: error });
    console.log(`      skipped: ${message}`);
    return context.skip();
  }
}
