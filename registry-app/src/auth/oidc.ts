import {
  createLocalJWKSet,
  errors as joseErrors,
  jwtVerify,
  type JWK,
  type JWTPayload,
  type JWTVerifyGetKey,
} from "jose";
import { z } from "zod";
import { ProblemError } from "../errors";
import { getJson, OutboundError } from "./outbound";
import { describeJoseError, unauthorized } from "./tokens";

/** Asymmetric algorithms accepted from identity providers; HS* and `none` never. */
const OIDC_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"];
/** Earliest refetch of a JWKS after an unknown `kid`, so bogus tokens cannot hammer the provider. */
const JWKS_COOLDOWN_MS = 30_000;
const CLOCK_TOLERANCE_SECONDS = 30;

export interface OidcFetchSettings {
  fetch: typeof fetch;
  timeoutMs: number;
  maxBytes: number;
  jwksCacheMs: number;
  now: () => number;
}

const discoverySchema = z.object({ issuer: z.string(), jwks_uri: z.string() });
const JWKS_ACCEPT = { accept: "application/jwk-set+json, application/json" };
const jwksSchema = z.object({ keys: z.array(z.looseObject({ kty: z.string() })) });

function upstreamFailure(what: string, error: unknown): ProblemError {
  const reason = error instanceof OutboundError || error instanceof Error ? error.message : "failed";
  return new ProblemError(502, "Bad Gateway", `Could not load ${what}: ${reason}.`);
}

/** https, or http on loopback (tests, local dev). */
function isAllowedUrl(value: string): boolean {
  try {
    const url = new URL(value);
    const loopback = ["localhost", "127.0.0.1", "[::1]"].includes(url.hostname);
    return url.protocol === "https:" || (url.protocol === "http:" && loopback);
  } catch {
    return false;
  }
}

/**
 * One OIDC issuer: discovery document and JWKS, both fetched with timeouts and size caps and cached;
 * an unknown `kid` triggers at most one refetch per cooldown (key rotation).
 */
export class OidcIssuer {
  private jwksUri: string | undefined;
  private keySet: JWTVerifyGetKey | undefined;
  private fetchedAt = 0;
  private loading: Promise<void> | undefined;

  /** `discoveryBase`: where the discovery document lives when the issuer URL itself is not reachable. */
  constructor(
    readonly issuer: string,
    private readonly settings: OidcFetchSettings,
    private readonly discoveryBase: string = issuer,
  ) {}

  private async discover(): Promise<string> {
    if (this.jwksUri !== undefined) return this.jwksUri;
    const url = `${this.discoveryBase}/.well-known/openid-configuration`;
    let document: z.infer<typeof discoverySchema>;
    try {
      const body = await getJson(this.settings.fetch, url, this.settings);
      const parsed = discoverySchema.safeParse(body);
      if (!parsed.success) throw new OutboundError("discovery document lacks issuer or jwks_uri");
      document = parsed.data;
    } catch (error) {
      throw upstreamFailure(`the OIDC discovery document of ${this.issuer}`, error);
    }
    // OpenID Connect Discovery 1.0 §4.3: the document's issuer must equal the configured one.
    if (document.issuer.replace(/\/+$/, "") !== this.issuer) {
      throw upstreamFailure(`the OIDC discovery document of ${this.issuer}`, new Error("issuer mismatch"));
    }
    if (!isAllowedUrl(document.jwks_uri)) {
      throw upstreamFailure(
        `the OIDC discovery document of ${this.issuer}`,
        new Error("jwks_uri is not https"),
      );
    }
    this.jwksUri = document.jwks_uri;
    return document.jwks_uri;
  }

  private async reload(): Promise<void> {
    this.loading ??= (async () => {
      try {
        const jwksUri = await this.discover();
        let body: unknown;
        try {
          // kube-apiserver answers 406 to a JWKS request that does not accept RFC 7517's media type.
          body = await getJson(this.settings.fetch, jwksUri, { ...this.settings, headers: JWKS_ACCEPT });
        } catch (error) {
          throw upstreamFailure(`the JWKS of ${this.issuer}`, error);
        }
        const parsed = jwksSchema.safeParse(body);
        if (!parsed.success) throw upstreamFailure(`the JWKS of ${this.issuer}`, new Error("malformed JWKS"));
        this.keySet = createLocalJWKSet({ keys: parsed.data.keys as JWK[] });
        this.fetchedAt = this.settings.now();
      } finally {
        this.loading = undefined;
      }
    })();
    return this.loading;
  }

  private readonly getKey: JWTVerifyGetKey = async (header, token) => {
    const age = this.settings.now() - this.fetchedAt;
    if (this.keySet === undefined || age >= this.settings.jwksCacheMs) {
      try {
        await this.reload();
      } catch (error) {
        // A provider outage should not lock everyone out while cached keys are still around.
        if (this.keySet === undefined) throw error;
      }
    }
    const keySet = this.keySet;
    if (keySet === undefined) throw new joseErrors.JWKSNoMatchingKey();
    try {
      return await keySet(header, token);
    } catch (error) {
      if (!(error instanceof joseErrors.JWKSNoMatchingKey)) throw error;
      if (this.settings.now() - this.fetchedAt < JWKS_COOLDOWN_MS) throw error;
      await this.reload();
      const reloaded = this.keySet as JWTVerifyGetKey | undefined;
      if (reloaded === undefined) throw error;
      return reloaded(header, token);
    }
  };

  /** Verifies an ID token of this issuer for the audience; 401 with a short reason otherwise. */
  async verify(token: string, audience: string, what: string): Promise<JWTPayload> {
    try {
      const { payload } = await jwtVerify(token, this.getKey, {
        algorithms: OIDC_ALGORITHMS,
        issuer: this.issuer,
        audience,
        requiredClaims: ["exp"],
        currentDate: new Date(this.settings.now()),
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
      });
      return payload;
    } catch (error) {
      if (error instanceof ProblemError) throw error;
      throw unauthorized(`Invalid ${what}: ${describeJoseError(error)}.`);
    }
  }
}
