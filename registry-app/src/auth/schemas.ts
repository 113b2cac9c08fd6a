import { z } from "zod";
import { domainBody } from "./methods/domain";
import { githubAtBody, oidcBody } from "./methods/github";
import { kubernetesBody } from "./methods/kubernetes";

/** Request and response shapes of POST /auth/*, for core's generated OpenAPI document. */
export const authSchemas = {
  requests: {
    "github-at": githubAtBody,
    "github-oidc": oidcBody,
    oidc: oidcBody,
    dns: domainBody,
    http: domainBody,
    none: z.object({}),
    kubernetes: kubernetesBody,
  },
  tokenResponse: z.object({
    registry_token: z.string().describe("Ed25519-signed JWT; send as Authorization: Bearer <token>"),
    expires_at: z.number().int().describe("Expiry, Unix seconds"),
  }),
} as const;
