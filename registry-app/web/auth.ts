// Sign-in for private reads: OpenID Connect authorization code flow with PKCE as a public client. The
// ID token lives in memory only (a reload signs in again); the PKCE verifier, state and nonce survive the
// redirect to the identity provider in sessionStorage and are removed when the page comes back.
import type { CatalogueSettings } from "./types";

const PENDING_KEY = "mcp-registry.sign-in";
export const CALLBACK_PATH = "/oauth/callback";

interface Discovery {
  authorization_endpoint: string;
  token_endpoint: string;
}

interface PendingSignIn {
  state: string;
  verifier: string;
  nonce: string;
  returnTo: string;
}

export interface SignedIn {
  token: string;
  /** Who the identity provider says the user is (name, email or subject). */
  user: string;
  /** Milliseconds since the epoch. */
  expiresAt: number;
}

function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomString(): string {
  return base64url(crypto.getRandomValues(new Uint8Array(32)));
}

async function challengeOf(verifier: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

/** The claims of a JWT, read without verifying it: the registry verifies every token it is sent. */
export function jwtClaims(token: string): Record<string, unknown> {
  const payload = token.split(".")[1] ?? "";
  const padded = payload.replace(/-/g, "+").replace(/_/g, "/");
  const bytes = Uint8Array.from(atob(padded), (char) => char.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
}

export class SignInError extends Error {
  override name = "SignInError";
}

export class OidcSession {
  private current: SignedIn | undefined;
  private discovery: Promise<Discovery> | undefined;

  constructor(private readonly settings: CatalogueSettings) {}

  get required(): boolean {
    return this.settings.readAuth === "oidc";
  }

  /** The ID token to send, while it is valid. */
  get token(): string | undefined {
    if (this.current === undefined || this.current.expiresAt <= Date.now()) return undefined;
    return this.current.token;
  }

  get user(): string | undefined {
    return this.token === undefined ? undefined : this.current?.user;
  }

  signOut(): void {
    this.current = undefined;
  }

  private redirectUri(): string {
    return `${location.origin}${CALLBACK_PATH}`;
  }

  private discover(): Promise<Discovery> {
    this.discovery ??= (async () => {
      const url = `${this.settings.oidcIssuer}/.well-known/openid-configuration`;
      let response: Response;
      try {
        response = await fetch(url, { headers: { accept: "application/json" } });
      } catch {
        throw new SignInError(`The identity provider ${this.settings.oidcIssuer} could not be reached.`);
      }
      if (!response.ok) {
        throw new SignInError(`The identity provider's discovery document answered HTTP ${response.status}.`);
      }
      const document = (await response.json()) as Partial<Discovery>;
      if (
        typeof document.authorization_endpoint !== "string" ||
        typeof document.token_endpoint !== "string"
      ) {
        throw new SignInError("The identity provider's discovery document lacks its endpoints.");
      }
      return {
        authorization_endpoint: document.authorization_endpoint,
        token_endpoint: document.token_endpoint,
      };
    })();
    this.discovery.catch(() => (this.discovery = undefined));
    return this.discovery;
  }

  /** Leaves for the identity provider; comes back to CALLBACK_PATH, then to `returnTo`. */
  async signIn(returnTo: string): Promise<void> {
    const { authorization_endpoint: endpoint } = await this.discover();
    const pending: PendingSignIn = {
      state: randomString(),
      verifier: randomString(),
      nonce: randomString(),
      returnTo,
    };
    sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending));
    const url = new URL(endpoint);
    url.search = new URLSearchParams({
      response_type: "code",
      client_id: this.settings.oidcClientId,
      redirect_uri: this.redirectUri(),
      scope: "openid profile email",
      state: pending.state,
      nonce: pending.nonce,
      code_challenge: await challengeOf(pending.verifier),
      code_challenge_method: "S256",
    }).toString();
    location.assign(url.toString());
  }

  /** Finishes a sign-in at CALLBACK_PATH; returns where the user was going. */
  async completeSignIn(callback: URL): Promise<string> {
    const stored = sessionStorage.getItem(PENDING_KEY);
    sessionStorage.removeItem(PENDING_KEY);
    const error = callback.searchParams.get("error");
    if (error !== null) {
      const description = callback.searchParams.get("error_description");
      throw new SignInError(`The identity provider refused the sign-in: ${description ?? error}.`);
    }
    if (stored === null) throw new SignInError("No sign-in was started in this tab; sign in again.");
    const pending = JSON.parse(stored) as PendingSignIn;
    const code = callback.searchParams.get("code");
    if (code === null || callback.searchParams.get("state") !== pending.state) {
      throw new SignInError("The sign-in answer does not match the request this tab sent; sign in again.");
    }
    const { token_endpoint: endpoint } = await this.discover();
    let response: Response;
    try {
      response = await fetch(endpoint, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
        body: new URLSearchParams({
          grant_type: "authorization_code",
          code,
          redirect_uri: this.redirectUri(),
          client_id: this.settings.oidcClientId,
          code_verifier: pending.verifier,
        }),
      });
    } catch {
      throw new SignInError("The identity provider's token endpoint could not be reached.");
    }
    const body = (await response.json().catch(() => ({}))) as { id_token?: unknown; error?: unknown };
    if (!response.ok || typeof body.id_token !== "string") {
      const reason = typeof body.error === "string" ? body.error : `HTTP ${response.status}`;
      throw new SignInError(`The identity provider did not issue a token (${reason}).`);
    }
    const claims = jwtClaims(body.id_token);
    if (claims.nonce !== pending.nonce)
      throw new SignInError("The ID token was not issued for this sign-in.");
    const user = [claims.name, claims.email, claims.sub].find((value) => typeof value === "string");
    const exp = typeof claims.exp === "number" ? claims.exp * 1000 : Date.now() + 5 * 60_000;
    this.current = {
      token: body.id_token,
      user: (user as string | undefined) ?? "signed in",
      expiresAt: exp,
    };
    return pending.returnTo.startsWith("/") && !pending.returnTo.startsWith("//") ? pending.returnTo : "/";
  }
}
