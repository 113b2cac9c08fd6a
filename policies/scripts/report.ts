// `npm run policy:report`: runs the Pulumi program under mocks for each stack, evaluates the pack over the
// resources with that stack's config, and writes policies/REPORT.md.
import * as fs from "node:fs";
import * as path from "node:path";
import { buildReport, reportPath } from "./report-data";

buildReport()
  .then((text) => {
    fs.writeFileSync(reportPath, text);
    process.stdout.write(`wrote ${path.relative(process.cwd(), reportPath) || reportPath}\n`);
    // The program's mock runtime keeps handles open; the report is written, so end here.
    process.exit(0);
  })
  .catch((error: unknown) => {
    process.stderr.write(
      `policy report failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  });
