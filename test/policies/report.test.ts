import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { chartResults, renderFor, reportPath } from "../../policies/scripts/report-data";
import { policies } from "../../policies/src/policies";
import { requireSharedCharts, requireToolchain } from "../charts/fixtures";
import type { StackResource } from "../../policies/src/evaluate";
import { stackNames, type StackName } from "../support/program";
import { stackResources } from "./support";

describe("policy report (policies/REPORT.md)", function () {
  this.timeout(900_000);

  it("is up to date with the policies, their config, the exemptions, the program and its charts", async function () {
    requireSharedCharts(this);
    const helm = path.join(requireToolchain(this), "helm");
    const resources = {} as Record<StackName, StackResource[]>;
    for (const stack of stackNames) resources[stack] = await stackResources(stack);
    const expected = await renderFor(resources, await chartResults(helm));
    const committed = fs.existsSync(reportPath) ? fs.readFileSync(reportPath, "utf8") : "";
    if (committed !== expected) {
      const a = committed.split("\n");
      const b = expected.split("\n");
      const line = a.findIndex((text, i) => text !== b[i]);
      assert.fail(
        `policies/REPORT.md is stale (first difference at line ${line + 1}: ${JSON.stringify(a[line] ?? "")} ` +
          `should be ${JSON.stringify(b[line] ?? "")}); run \`npm run policy:report\` and commit it`,
      );
    }
  });

  it("shows every policy's controls, enforcement per stack and results, and every exemption with its reason", async () => {
    const text = fs.readFileSync(reportPath, "utf8");
    assert.match(text, new RegExp(`^\\| local +\\| +\\d+ \\| +${policies.length} \\|`, "m"));
    assert.match(text, /^## Chart-rendered objects$/m);
    assert.match(text, /^\| production +\| +\d+ \| [^|]*kube-prometheus-stack \d+[^|]*\| +\d+ \| +0 \|/m);
    assert.match(
      text,
      /#### pods-run-as-non-root\n\n.+\n\n- \*\*Severity:\*\* high; \*\*category:\*\* security/,
    );
    assert.match(text, /- \*\*Enforcement:\*\* local advisory, staging mandatory, production mandatory/);
    assert.match(text, /- \*\*Controls:\*\* PSS restricted `runAsNonRoot`; PSS restricted `runAsUser`/);
    assert.match(
      text,
      /\| EX-001 +\| pods-no-service-account-token +\| `kubernetes:batch\/v1:CronJob` restore-drill-cronjob +\| the restore drill/,
    );
  });
});
