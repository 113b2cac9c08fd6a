import { createPublicKey, type KeyObject } from "node:crypto";
import { errors as joseErrors, jwtVerify, SignJWT } from "jose";
import { z } from "zod";
import { ProblemError } from "../errors";
import type { RegistryClaims, RegistryPermission, TokenResponse } from "./types";

/** Seconds of clock skew tolerated between registry replicas. */
const CLOCK_TOLERANCE_SECONDS = 5;

const claimsSchema = z.object({
  iss: z.string(),
  iat: z.number().int(),
  nbf: z.number().int(),
  exp: z.number().int(),
  auth_method: z.string().min(1),
  auth_method_sub: z.string(),
  permissions: z.array(
    z.object({ action: z.enum(["publish", "edit"]), resource: z.string().min(1) }).strict(),
  ),
});

/** How long a verified token is reused without checking its signature again (its times are always checked). */
const VERIFIED_REUSE_MS = 60_000;
/** Verified tokens remembered per process; the oldest is forgotten first. */
const VERIFIED_MAX = 1_000;

interface Verified {
  claims: RegistryClaims;
  until: number;
}

/** nbf and exp against `nowMs` exactly as jwtVerify checks them (whole seconds, same tolerance). */
function withinValidity(claims: RegistryClaims, nowMs: number): boolean {
  const seconds = Math.floor(nowMs / 1000);
  return claims.nbf <= seconds + CLOCK_TOLERANCE_SECONDS && claims.exp > seconds - CLOCK_TOLERANCE_SECONDS;
}

function frozen(claims: RegistryClaims): RegistryClaims {
  for (const permission of claims.permissions) Object.freeze(permission);
  Object.freeze(claims.permissions);
  return Object.freeze(claims);
}

function unauthorized(detail: string): ProblemError {
  return new ProblemError(401, "Unauthorized", detail, {
    headers: { "WWW-Authenticate": 'Bearer realm="mcp-registry"' },
  });
}

/** Signs and verifies registry tokens with one Ed25519 key. */
export class RegistryTokens {
  private readonly publicKey: KeyObject;
  /** Tokens whose signature, issuer and claims verified: Ed25519 verification is the costliest step of a write. */
  private readonly verified = new Map<string, Verified>();

  constructor(
    private readonly privateKey: KeyObject,
    private readonly issuer: string,
    private readonly ttlSeconds: number,
    private readonly now: () => number,
  ) {
    if (privateKey.asymmetricKeyType !== "ed25519") throw new Error("registry tokens need an Ed25519 key");
    this.publicKey = createPublicKey(privateKey);
  }

  async issue(method: string, subject: string, permissions: RegistryPermission[]): Promise<TokenResponse> {
    const iat = Math.floor(this.now() / 1000);
    const exp = iat + this.ttlSeconds;
    const registryToken = await new SignJWT({
      auth_method: method,
      auth_method_sub: subject,
      permissions: permissions.map((p) => ({ action: p.action, resource: p.resource })),
    })
      .setProtectedHeader({ alg: "EdDSA", typ: "JWT" })
      .setIssuer(this.issuer)
      .setIssuedAt(iat)
      .setNotBefore(iat)
      .setExpirationTime(exp)
      .sign(this.privateKey);
    return { registry_token: registryToken, expires_at: exp };
  }

  /**
   * Verifies signature (EdDSA only: no `none`, no HS256 with the public key), issuer, nbf and exp. A
   * token verified in the last minute is not verified again, but its nbf and exp are checked every time.
   */
  async verify(token: string): Promise<RegistryClaims> {
    const now = this.now();
    const known = this.verified.get(token);
    if (known !== undefined) {
      if (now < known.until && withinValidity(known.claims, now)) return known.claims;
      // Expired or not yet valid: the full check below gives the precise error.
      this.verified.delete(token);
    }
    const claims = frozen(await this.verifyFully(token, now));
    if (this.verified.size >= VERIFIED_MAX) {
      const oldest = this.verified.keys().next();
      if (oldest.done !== true) this.verified.delete(oldest.value);
    }
    this.verified.set(token, { claims, until: now + VERIFIED_REUSE_MS });
    return claims;
  }

  private async verifyFully(token: string, now: number): Promise<RegistryClaims> {
    let payload: unknown;
    try {
      ({ payload } = await jwtVerify(token, this.publicKey, {
        algorithms: ["EdDSA"],
        issuer: this.issuer,
        requiredClaims: ["iat", "nbf", "exp"],
        currentDate: new Date(now),
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
      }));
    } catch (error) {
      throw unauthorized(`Invalid registry token: ${describeJoseError(error)}.`);
    }
    const parsed = claimsSchema.safeParse(payload);
    if (!parsed.success) throw unauthorized("Invalid registry token: malformed claims.");
    return parsed.data;
  }

  /** Parses `Authorization: Bearer <token>` and verifies the token. */
  async authenticate(authorization: string | undefined): Promise<RegistryClaims> {
    return this.verify(bearerToken(authorization));
  }
}

/** Extracts the token of a Bearer Authorization header; 401 when absent or another scheme. */
export function bearerToken(authorization: string | undefined): string {
  if (authorization === undefined || authorization.trim() === "") {
    throw unauthorized("Missing Authorization header; log in with /v0/auth/* and send 'Bearer <token>'.");
  }
  const match = /^Bearer\s+([A-Za-z0-9._~+/=-]+)\s*$/i.exec(authorization);
  if (!match?.[1]) throw unauthorized("The Authorization header must be 'Bearer <token>'.");
  return match[1];
}

/** A short, secret-free reason for a failed JWT verification. */
export function describeJoseError(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return "token expired";
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    if (error.claim === "nbf") return "token not yet valid";
    if (error.claim === "iss") return "wrong issuer";
    if (error.claim === "aud") return "wrong audience";
    return `claim ${error.claim} invalid`;
  }
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return "signature algorithm not allowed";
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return "signature verification failed";
  if (error instanceof joseErrors.JWKSNoMatchingKey) return "no matching signing key";
  if (error instanceof joseErrors.JWSInvalid || error instanceof joseErrors.JWTInvalid)
    return "malformed token";
  if (error instanceof joseErrors.JOSENotSupported) return "unsupported token";
  return "verification failed";
}

export { unauthorized };
