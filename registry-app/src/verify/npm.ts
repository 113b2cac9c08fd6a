import type { ServerPackage } from "../schema";
import { at, locate, republish, type CheckContext, type CheckResult } from "./common";
import { isRecord, jsonBody, unexpectedStatus } from "./http";

/** Scoped names keep their @ and encode the slash, as npm clients send them. */
function encodeName(name: string): string {
  return name.startsWith("@") ? `@${encodeURIComponent(name.slice(1))}` : encodeURIComponent(name);
}

/** npm: the package.json of that version carries `"mcpName": "<server name>"`. */
export function npmCheck(allowed: readonly string[]) {
  return async (pkg: ServerPackage, ctx: CheckContext): Promise<CheckResult> => {
    const located = locate(pkg, ctx, allowed, "npm", "MCP_REGISTRY_NPM_REGISTRY_URLS");
    if ("finding" in located) return located.finding;
    const { base, version } = located;
    const subject = `npm package ${pkg.identifier}@${version}`;
    const response = await ctx.http.fetch(
      `${base}/${encodeName(pkg.identifier)}/${encodeURIComponent(version)}`,
      {
        registry: base,
        kind: "npm",
        accept: "application/json",
      },
    );
    if (response.status === 404) {
      return `${subject} was not found in ${base}; publish it there, or correct ${at(ctx, "identifier")} and ${at(ctx, "version")}`;
    }
    if (response.status !== 200) throw unexpectedStatus(base, response.status, subject);
    const manifest = jsonBody(response, base, subject);
    const mcpName = isRecord(manifest) ? manifest.mcpName : undefined;
    const fix = `publish that as a new version of ${pkg.identifier}, set ${at(ctx, "version")} to it, ${republish(ctx)}`;
    if (mcpName === ctx.serverName) return undefined;
    if (typeof mcpName === "string" && mcpName !== "") {
      return `${subject} has "mcpName": ${JSON.stringify(mcpName)} in its package.json, which names another server; set "mcpName": "${ctx.serverName}", ${fix}`;
    }
    return `${subject} has no "mcpName" in its package.json; add "mcpName": "${ctx.serverName}" to package.json, ${fix}`;
  };
}
