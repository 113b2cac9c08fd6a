import { z } from "zod";
import { ProblemError } from "../../errors";
import type { OidcIssuer } from "../oidc";
import { getJson, OutboundError, type BoundedRequest } from "../outbound";
import { unauthorized } from "../tokens";
import { parseBody, publish, type LoginMethod } from "./common";

/** GitHub login syntax; anything else (e.g. "*", "a/b") must never reach a permission pattern. */
const GITHUB_LOGIN = /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/;

export function isGitHubLogin(value: unknown): value is string {
  return typeof value === "string" && GITHUB_LOGIN.test(value);
}

export const githubAtBody = z.object({
  github_token: z
    .string({ error: "required: a GitHub access token" })
    .min(1, "required: a GitHub access token")
    .max(4096, "too long for a GitHub token")
    .regex(/^[\x21-\x7e]+$/, "must not contain spaces or control characters"),
});

const userSchema = z.object({ login: z.string() });
const orgsSchema = z.array(z.object({ login: z.string() }));

export interface GitHubAtSettings extends BoundedRequest {
  fetch: typeof fetch;
  apiUrl: string;
}

/**
 * POST /auth/github-at {github_token}: reads /user and /users/{login}/orgs (public memberships only)
 * and grants publish on io.github.<login>/* and io.github.<org>/*.
 */
export function githubAtMethod(settings: GitHubAtSettings): LoginMethod {
  const call = async (path: string, token: string): Promise<unknown> => {
    try {
      return await getJson(settings.fetch, `${settings.apiUrl}${path}`, {
        ...settings,
        headers: {
          accept: "application/vnd.github+json",
          authorization: `Bearer ${token}`,
          "user-agent": "mcp-registry",
          "x-github-api-version": "2022-11-28",
        },
      });
    } catch (error) {
      if (error instanceof OutboundError && error.status === 401)
        throw unauthorized("GitHub rejected the token.");
      if (error instanceof OutboundError && error.status === 403) {
        // GitHub answers 403 for rate limits and SAML SSO enforcement, not for bad tokens.
        throw new ProblemError(
          502,
          "Bad Gateway",
          "GitHub refused the request (rate limit or SSO enforcement).",
        );
      }
      const reason = error instanceof Error ? error.message : "failed";
      throw new ProblemError(502, "Bad Gateway", `Could not reach the GitHub API: ${reason}.`);
    }
  };

  return {
    path: "github-at",
    exchange: async (body) => {
      const { github_token: token } = parseBody(githubAtBody, body);
      const user = userSchema.safeParse(await call("/user", token));
      if (!user.success || !isGitHubLogin(user.data.login)) {
        throw new ProblemError(502, "Bad Gateway", "The GitHub API returned a user without a valid login.");
      }
      const login = user.data.login;
      const orgs = orgsSchema.safeParse(
        await call(`/users/${encodeURIComponent(login)}/orgs?per_page=100`, token),
      );
      if (!orgs.success) {
        throw new ProblemError(502, "Bad Gateway", "The GitHub API returned a malformed organisation list.");
      }
      const namespaces = [login, ...orgs.data.map((org) => org.login).filter(isGitHubLogin)];
      return {
        method: "github-at",
        subject: login,
        permissions: [...new Set(namespaces)].map((ns) => publish(`io.github.${ns}/*`)),
      };
    },
  };
}

export const oidcBody = z.object({
  oidc_token: z
    .string({ error: "required: an OIDC ID token" })
    .min(1, "required: an OIDC ID token")
    .max(16_384, "too long for an OIDC token"),
});

/** POST /auth/github-oidc {oidc_token}: a GitHub Actions OIDC token grants io.github.<repository_owner>/*. */
export function githubOidcMethod(issuer: OidcIssuer, audience: string): LoginMethod {
  return {
    path: "github-oidc",
    exchange: async (body) => {
      const { oidc_token: token } = parseBody(oidcBody, body);
      const claims = await issuer.verify(token, audience, "GitHub OIDC token");
      const owner = claims["repository_owner"];
      if (!isGitHubLogin(owner)) {
        throw unauthorized("Invalid GitHub OIDC token: repository_owner claim missing or malformed.");
      }
      return { method: "github-oidc", subject: owner, permissions: [publish(`io.github.${owner}/*`)] };
    },
  };
}
