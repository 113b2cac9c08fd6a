import fs from "node:fs";
import https from "node:https";
import { z } from "zod";
import type { OidcIssuer } from "../oidc";
import { OutboundError } from "../outbound";
import { unauthorized } from "../tokens";
import { edit, parseBody, publish, type LoginMethod } from "./common";

export const kubernetesBody = z.object({
  service_account_token: z
    .string({ error: "required: a projected Kubernetes service account token" })
    .min(1, "required: a projected Kubernetes service account token")
    .max(16_384, "too long for a service account token"),
});

export interface KubernetesSettings {
  audience: string;
  /** `namespace/name` of each service account that may log in. */
  serviceAccounts: string[];
  publishPatterns: string[];
  editPatterns: string[];
}

const SUBJECT = /^system:serviceaccount:([a-z0-9-]+):([a-z0-9.-]+)$/;

/**
 * POST /auth/kubernetes {service_account_token}: a projected service account token (audience
 * MCP_REGISTRY_KUBERNETES_AUDIENCE) of the cluster's issuer, verified against the issuer's published keys. Only the
 * listed service accounts log in, and they get the configured patterns: the registry controller's identity.
 */
export function kubernetesMethod(issuer: OidcIssuer, settings: KubernetesSettings): LoginMethod {
  const allowed = new Set(settings.serviceAccounts);
  return {
    path: "kubernetes",
    exchange: async (body) => {
      const { service_account_token: token } = parseBody(kubernetesBody, body);
      const claims = await issuer.verify(token, settings.audience, "service account token");
      const subject = typeof claims.sub === "string" ? SUBJECT.exec(claims.sub) : null;
      if (subject === null)
        throw unauthorized("Invalid service account token: sub is not a service account.");
      if (!allowed.has(`${subject[1]}/${subject[2]}`)) {
        throw unauthorized(`Service account ${subject[1]}/${subject[2]} may not log in to this registry.`);
      }
      return {
        method: "kubernetes",
        subject: claims.sub as string,
        permissions: [...settings.publishPatterns.map(publish), ...settings.editPatterns.map(edit)],
      };
    },
  };
}

/**
 * A fetch for GETs that trusts only the CA bundle in `caFile` (the cluster's, from the kube-root-ca.crt ConfigMap),
 * read on every call so a rotated bundle is picked up. Enough of fetch for boundedGet: status, headers, body, abort.
 */
export function fetchTrusting(caFile: string): typeof fetch {
  try {
    fs.readFileSync(caFile);
  } catch {
    // Fail at start: a registry that can never verify its controller should say so at once.
    throw new Error(`MCP_REGISTRY_KUBERNETES_CA_FILE: cannot read ${caFile}`);
  }
  const caFetch = (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = new URL(input instanceof Request ? input.url : input);
    let ca: Buffer;
    try {
      ca = fs.readFileSync(caFile);
    } catch {
      return Promise.reject(new OutboundError(`cannot read the CA bundle ${caFile}`));
    }
    return new Promise<Response>((resolve, reject) => {
      const request = https.get(
        url,
        {
          ca,
          headers: init?.headers as Record<string, string> | undefined,
          signal: init?.signal ?? undefined,
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on("data", (chunk: Buffer) => chunks.push(chunk));
          response.on("end", () => {
            const headers = new Headers();
            for (const [name, value] of Object.entries(response.headers)) {
              if (typeof value === "string") headers.set(name, value);
            }
            resolve(new Response(Buffer.concat(chunks), { status: response.statusCode ?? 502, headers }));
          });
          response.on("error", reject);
        },
      );
      request.on("error", reject);
    });
  };
  return caFetch as typeof fetch;
}
