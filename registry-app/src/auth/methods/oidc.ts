import type { JWTPayload } from "jose";
import type { ExtraClaims } from "../env";
import type { OidcIssuer } from "../oidc";
import { unauthorized } from "../tokens";
import { edit, parseBody, publish, type LoginMethod } from "./common";
import { oidcBody } from "./github";

/** Checks MCP_REGISTRY_OIDC_EXTRA_CLAIMS: each listed claim must equal the configured value exactly. */
export function assertExtraClaims(claims: JWTPayload, required: ExtraClaims, what: string): void {
  for (const [name, expected] of Object.entries(required)) {
    if (claims[name] !== expected) throw unauthorized(`Invalid ${what}: claim ${name} does not match.`);
  }
}

export interface GenericOidcSettings {
  clientId: string;
  extraClaims: ExtraClaims;
  publishPatterns: string[];
  editPatterns: string[];
}

/** POST /auth/oidc {oidc_token}: the organisation's own IdP; grants the configured patterns. */
export function genericOidcMethod(issuer: OidcIssuer, settings: GenericOidcSettings): LoginMethod {
  return {
    path: "oidc",
    exchange: async (body) => {
      const { oidc_token: token } = parseBody(oidcBody, body);
      const claims = await issuer.verify(token, settings.clientId, "OIDC token");
      assertExtraClaims(claims, settings.extraClaims, "OIDC token");
      if (typeof claims.sub !== "string" || claims.sub === "") {
        throw unauthorized("Invalid OIDC token: sub claim missing.");
      }
      return {
        method: "oidc",
        subject: claims.sub,
        permissions: [...settings.publishPatterns.map(publish), ...settings.editPatterns.map(edit)],
      };
    },
  };
}
