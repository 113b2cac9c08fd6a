import { createPrivateKey, generateKeyPairSync, type KeyObject } from "node:crypto";

/** DER prefix of a PKCS#8 Ed25519 private key; the 32-byte seed follows it (RFC 8410). */
const PKCS8_ED25519_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");

/** Wraps a raw Ed25519 seed in PKCS#8 so node:crypto can import it. */
export function ed25519PrivateKeyFromSeed(seed: Buffer): KeyObject {
  if (seed.length !== 32) throw new Error(`an Ed25519 seed is 32 bytes, got ${seed.length}`);
  return createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: "der", type: "pkcs8" });
}

/**
 * Parses MCP_REGISTRY_JWT_PRIVATE_KEY: a hex 32-byte seed (the official registry's format) or a PKCS#8
 * PEM Ed25519 key (what @pulumi/tls emits). Error messages never echo the key.
 */
export function parseSigningKey(raw: string): KeyObject {
  const value = raw.trim();
  if (value === "") {
    throw new Error("required: a hex 32-byte Ed25519 seed or a PKCS#8 PEM Ed25519 private key");
  }
  if (/^[0-9a-fA-F]+$/.test(value)) {
    if (value.length !== 64) {
      throw new Error(`a hex Ed25519 seed has 64 hex digits (32 bytes), got ${value.length} digits`);
    }
    return ed25519PrivateKeyFromSeed(Buffer.from(value, "hex"));
  }
  if (value.includes("-----BEGIN")) {
    // Secrets pasted through some tools carry literal "\n" instead of newlines.
    const pem = value.replace(/\\n/g, "\n");
    let key: KeyObject;
    try {
      key = createPrivateKey({ key: pem, format: "pem" });
    } catch {
      throw new Error("the PEM private key could not be parsed (expected PKCS#8 'BEGIN PRIVATE KEY')");
    }
    if (key.asymmetricKeyType !== "ed25519") {
      throw new Error(`the PEM private key is ${key.asymmetricKeyType ?? "unknown"}, expected ed25519`);
    }
    return key;
  }
  throw new Error("expected a hex 32-byte Ed25519 seed (64 hex digits) or a PKCS#8 PEM Ed25519 private key");
}

/** A fresh signing key as a hex seed, for `npm start` in embedded mode and for tests. */
export function generateSigningKeyHex(): string {
  const { privateKey } = generateKeyPairSync("ed25519");
  const der = privateKey.export({ format: "der", type: "pkcs8" });
  return der.subarray(PKCS8_ED25519_PREFIX.length).toString("hex");
}
