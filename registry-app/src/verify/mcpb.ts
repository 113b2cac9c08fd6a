import { createHash } from "node:crypto";
import type { ServerPackage } from "../schema";
import { at, republish, type CheckContext, type CheckResult } from "./common";
import { unexpectedStatus } from "./http";
import { hostAllowed, isAllowedScheme } from "./urls";

export interface McpbSettings {
  hosts: readonly string[];
  timeoutMs: number;
  maxBytes: number;
}

/** MCPB: a download from an allowed host whose SHA-256 is the package's fileSha256. */
export function mcpbCheck(settings: McpbSettings) {
  return async (pkg: ServerPackage, ctx: CheckContext): Promise<CheckResult> => {
    let url: URL;
    try {
      url = new URL(pkg.identifier);
    } catch {
      return `${at(ctx, "identifier")} must be the https:// download URL of the .mcpb file`;
    }
    if (!isAllowedScheme(url)) return `${at(ctx, "identifier")} must be an https:// download URL`;
    if (!hostAllowed(url.host, settings.hosts)) {
      return `${at(ctx, "identifier")} is hosted on ${url.host}, which this registry does not accept MCPB downloads from; host the file on ${settings.hosts.join(", ")}`;
    }
    if (pkg.fileSha256 === undefined) {
      return `${at(ctx, "fileSha256")} is required: the SHA-256 of the .mcpb file (sha256sum <file>)`;
    }
    const registry = url.host;
    const hash = createHash("sha256");
    const response = await ctx.http.fetch(url.href, {
      registry,
      kind: "mcpb",
      timeoutMs: settings.timeoutMs,
      maxBytes: settings.maxBytes,
      onChunk: (chunk) => hash.update(chunk),
      // Release downloads redirect to storage hosts; only those on the list are followed.
      redirectHosts: (host) => hostAllowed(host, settings.hosts),
    });
    if (response.status === 404 || response.status === 410) {
      return `${at(ctx, "identifier")} ${url.href} was not found (status ${response.status}); upload the .mcpb file there, or correct the URL`;
    }
    if (response.status !== 200) throw unexpectedStatus(registry, response.status, url.href);
    const actual = hash.digest("hex");
    if (actual === pkg.fileSha256) return undefined;
    return `${at(ctx, "fileSha256")} is ${pkg.fileSha256}, but the file at ${url.href} has SHA-256 ${actual}; if that file is the bundle you mean, set "fileSha256": "${actual}", ${republish(ctx)}`;
  };
}
