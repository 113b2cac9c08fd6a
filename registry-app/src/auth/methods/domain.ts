import { createPublicKey, ECDH, verify, type KeyObject } from "node:crypto";
import { z } from "zod";
import { ProblemError } from "../../errors";
import { isNonPublicAddress, OutboundError, type BoundedRequest, type BoundedResponse } from "../outbound";
import { unauthorized } from "../tokens";
import { parseBody, publish, type LoginMethod } from "./common";

/** Allowed distance between the signed timestamp and the registry's clock. */
export const TIMESTAMP_WINDOW_MS = 15_000;
/** The http method reads at most this much of the well-known document. */
export const HTTP_PROOF_MAX_BYTES = 4096;
/** Most key records considered per domain, so a hostile zone cannot make us verify forever. */
const MAX_KEY_RECORDS = 20;

const HOSTNAME =
  /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/;

export const domainBody = z.object({
  domain: z
    .string({ error: "required: a domain name such as example.com" })
    .transform((value) => value.trim().toLowerCase().replace(/\.$/, ""))
    .refine((value) => HOSTNAME.test(value), "must be a DNS name such as example.com (no IP, port or path)"),
  timestamp: z
    .string({ error: "required: an RFC 3339 timestamp" })
    .regex(RFC3339, "must be an RFC 3339 timestamp such as 2025-01-01T00:00:00Z"),
  signed_timestamp: z
    .string({ error: "required: the hex signature of the timestamp" })
    .regex(/^(?:[0-9a-fA-F]{2}){32,256}$/, "must be a hex-encoded signature"),
});

/** "example.com" -> "com.example" */
export function reverseDomain(domain: string): string {
  return domain.split(".").reverse().join(".");
}

export type ProofKey = { algorithm: "ed25519" | "ecdsap384"; key: KeyObject };

/** Parses `v=MCPv1; k=ed25519|ecdsap384; p=<base64>`; undefined for anything else. */
export function parseKeyRecord(record: string): ProofKey | undefined {
  const fields = new Map<string, string>();
  for (const part of record.split(";")) {
    const eq = part.indexOf("=");
    if (eq <= 0) continue;
    fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  if (fields.get("v") !== "MCPv1") return undefined;
  const algorithm = fields.get("k");
  const encoded = fields.get("p");
  if (encoded === undefined || !/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) return undefined;
  const raw = Buffer.from(encoded, "base64");
  try {
    if (algorithm === "ed25519" && raw.length === 32) {
      const key = createPublicKey({
        key: { kty: "OKP", crv: "Ed25519", x: raw.toString("base64url") },
        format: "jwk",
      });
      return { algorithm, key };
    }
    if (algorithm === "ecdsap384" && raw.length === 49) {
      // SEC 1 compressed point -> uncompressed, which a JWK can carry.
      const point = ECDH.convertKey(raw, "secp384r1", undefined, undefined, "uncompressed") as Buffer;
      const key = createPublicKey({
        key: {
          kty: "EC",
          crv: "P-384",
          x: point.subarray(1, 49).toString("base64url"),
          y: point.subarray(49, 97).toString("base64url"),
        },
        format: "jwk",
      });
      return { algorithm, key };
    }
  } catch {
    return undefined;
  }
  return undefined;
}

const P384_SCALAR_BYTES = 48;

/**
 * R||S as fixed 96 bytes. mcp-publisher concatenates big.Int bytes, which drops leading zero bytes,
 * so a shorter signature is tried at every split that leaves both halves at most 48 bytes.
 */
function p384Candidates(signature: Buffer): Buffer[] {
  const full = 2 * P384_SCALAR_BYTES;
  if (signature.length === full) return [signature];
  if (signature.length > full || signature.length < full - 4) return [];
  const candidates: Buffer[] = [];
  for (let split = signature.length - P384_SCALAR_BYTES; split <= P384_SCALAR_BYTES; split += 1) {
    const pad = (part: Buffer) => Buffer.concat([Buffer.alloc(P384_SCALAR_BYTES - part.length), part]);
    candidates.push(Buffer.concat([pad(signature.subarray(0, split)), pad(signature.subarray(split))]));
  }
  return candidates;
}

/** Ed25519 over the timestamp bytes; ECDSA P-384 over SHA-384 of them with an R||S signature. */
export function verifyProof(proof: ProofKey, timestamp: string, signature: Buffer): boolean {
  const data = Buffer.from(timestamp, "utf8");
  try {
    if (proof.algorithm === "ed25519") return verify(null, data, proof.key, signature);
    return p384Candidates(signature).some((candidate) =>
      verify("sha384", data, { key: proof.key, dsaEncoding: "ieee-p1363" }, candidate),
    );
  } catch {
    return false;
  }
}

interface DomainProofSettings {
  now: () => number;
}

/** Shared flow of dns and http: validate, check the clock window, fetch key records, verify. */
async function proveDomain(
  body: unknown,
  settings: DomainProofSettings,
  fetchRecords: (domain: string) => Promise<string[]>,
  where: (domain: string) => string,
): Promise<string> {
  const request = parseBody(domainBody, body);
  const signedAt = Date.parse(request.timestamp);
  if (!Number.isFinite(signedAt) || Math.abs(settings.now() - signedAt) > TIMESTAMP_WINDOW_MS) {
    throw unauthorized("The timestamp is outside the allowed window of ±15 s; sign the current time.");
  }
  const records = await fetchRecords(request.domain);
  const keys = records
    .slice(0, MAX_KEY_RECORDS)
    .map(parseKeyRecord)
    .filter((key): key is ProofKey => key !== undefined);
  if (keys.length === 0) {
    throw unauthorized(
      `No valid "v=MCPv1; k=ed25519|ecdsap384; p=…" key record found at ${where(request.domain)}.`,
    );
  }
  const signature = Buffer.from(request.signed_timestamp, "hex");
  if (!keys.some((key) => verifyProof(key, request.timestamp, signature))) {
    throw unauthorized(`The signature does not match any key published at ${where(request.domain)}.`);
  }
  return request.domain;
}

export interface DnsSettings extends DomainProofSettings {
  resolveTxt: (domain: string) => Promise<string[][]>;
  timeoutMs: number;
}

/** POST /auth/dns: key in the domain's TXT records; grants <reversed>/* and <reversed>.* */
export function dnsMethod(settings: DnsSettings): LoginMethod {
  const fetchRecords = async (domain: string): Promise<string[]> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new OutboundError("timeout")), settings.timeoutMs);
    });
    try {
      const chunks = await Promise.race([settings.resolveTxt(domain), timeout]);
      return chunks.map((parts) => parts.join(""));
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === "ENOTFOUND" || code === "ENODATA") return [];
      const reason = error instanceof OutboundError ? error.message : (code ?? "lookup failed");
      throw new ProblemError(502, "Bad Gateway", `Could not read the TXT records of ${domain}: ${reason}.`);
    } finally {
      clearTimeout(timer);
    }
  };
  return {
    path: "dns",
    exchange: async (body) => {
      const domain = await proveDomain(body, settings, fetchRecords, (d) => `the TXT records of ${d}`);
      const reversed = reverseDomain(domain);
      return {
        method: "dns",
        subject: domain,
        permissions: [publish(`${reversed}/*`), publish(`${reversed}.*`)],
      };
    },
  };
}

export interface HttpSettings extends DomainProofSettings {
  /** Fetches the proof document: no redirects, timeout and size cap as given. */
  get: (url: string, request: BoundedRequest) => Promise<BoundedResponse>;
  lookup: (hostname: string) => Promise<string[]>;
  timeoutMs: number;
  allowPrivate: boolean;
}

/** POST /auth/http: key at https://<domain>/.well-known/mcp-registry-auth; grants <reversed>/* only. */
export function httpMethod(settings: HttpSettings): LoginMethod {
  const fetchRecords = async (domain: string): Promise<string[]> => {
    const url = `https://${domain}/.well-known/mcp-registry-auth`;
    if (!settings.allowPrivate) {
      let addresses: string[];
      try {
        addresses = await settings.lookup(domain);
      } catch {
        throw unauthorized(`Could not resolve ${domain}.`);
      }
      // SSRF: the registry must not be turned into a probe of its own network.
      if (addresses.length === 0 || addresses.some(isNonPublicAddress)) {
        throw new ProblemError(
          400,
          "Bad Request",
          `${domain} resolves to a private, loopback or otherwise non-public address; the http method refuses it.`,
        );
      }
    }
    let response;
    try {
      response = await settings.get(url, {
        timeoutMs: settings.timeoutMs,
        maxBytes: HTTP_PROOF_MAX_BYTES,
        headers: { accept: "text/plain", "user-agent": "mcp-registry" },
      });
    } catch (error) {
      const reason = error instanceof Error ? error.message : "failed";
      throw unauthorized(`Could not fetch ${url}: ${reason}.`);
    }
    if (response.status !== 200) {
      throw unauthorized(`Could not fetch ${url}: status ${response.status} (redirects are not followed).`);
    }
    return response.text.split(/\r?\n/).filter((line) => line.trim() !== "");
  };
  return {
    path: "http",
    exchange: async (body) => {
      const domain = await proveDomain(
        body,
        settings,
        fetchRecords,
        (d) => `https://${d}/.well-known/mcp-registry-auth`,
      );
      return { method: "http", subject: domain, permissions: [publish(`${reverseDomain(domain)}/*`)] };
    },
  };
}
