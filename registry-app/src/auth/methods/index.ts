import type { AuthEnv } from "../env";
import { unauthorized, type RegistryTokens } from "../tokens";
import type { AuthDeps } from "../types";
import type { LoginMethod } from "./common";
import { noneMethod } from "./none";

export type { Grant, LoginMethod } from "./common";

export interface LoginMethods {
  /** Methods whose routes exist with this configuration. */
  enabled: LoginMethod[];
  /** Private reads: accepts a token of the configured OIDC issuer. */
  verifyReader(token: string, tokens: RegistryTokens): Promise<void>;
}

export function createLoginMethods(env: AuthEnv, _deps: AuthDeps & { now: () => number }): LoginMethods {
  const enabled: LoginMethod[] = [];
  if (env.MCP_REGISTRY_ENABLE_ANONYMOUS_AUTH) enabled.push(noneMethod());
  return {
    enabled,
    verifyReader: async () => {
      throw unauthorized("Private reads are not available yet.");
    },
  };
}
