export interface RegistryPermission {
  action: "publish" | "edit";
  resource: string;
}

export interface RegistryClaims {
  iss: string;
  iat: number;
  nbf: number;
  exp: number;
  auth_method: string;
  auth_method_sub: string;
  permissions: RegistryPermission[];
}

/** Injection points for tests; the defaults are the real network and clock. */
export interface AuthDeps {
  fetch?: typeof fetch;
  resolveTxt?: (domain: string) => Promise<string[][]>;
  /** ms since epoch */
  now?: () => number;
  /** Address lookup used by the http method's SSRF guard; defaults to dns.lookup(all). */
  lookup?: (hostname: string) => Promise<string[]>;
}

export interface TokenResponse {
  registry_token: string;
  /** Unix seconds, as the official registry answers. */
  expires_at: number;
}
