import { generateKeyPairSync, sign, type KeyObject } from "node:crypto";

/** A publisher's domain key as mcp-publisher would hold it, plus the record the domain publishes. */
export interface PublisherKey {
  record: string;
  sign(timestamp: string): string;
  privateKey: KeyObject;
}

export function ed25519PublisherKey(): PublisherKey {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const raw = publicKey.export({ format: "der", type: "spki" }).subarray(-32);
  return {
    record: `v=MCPv1; k=ed25519; p=${raw.toString("base64")}`,
    sign: (timestamp) => sign(null, Buffer.from(timestamp), privateKey).toString("hex"),
    privateKey,
  };
}

export function ecdsaP384PublisherKey(): PublisherKey {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "secp384r1" });
  const jwk = publicKey.export({ format: "jwk" });
  const x = Buffer.from(jwk.x ?? "", "base64url");
  const y = Buffer.from(jwk.y ?? "", "base64url");
  // SEC 1 §2.3.3 compressed point: 0x02 for even y, 0x03 for odd y, then x.
  const compressed = Buffer.concat([Buffer.from([(y[y.length - 1] ?? 0) & 1 ? 3 : 2]), x]);
  return {
    record: `v=MCPv1; k=ecdsap384; p=${compressed.toString("base64")}`,
    sign: (timestamp) =>
      sign("sha384", Buffer.from(timestamp), { key: privateKey, dsaEncoding: "ieee-p1363" }).toString("hex"),
    privateKey,
  };
}
