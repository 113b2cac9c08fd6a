import { createHash } from "node:crypto";
import { z } from "zod";
import { ProblemError } from "../errors";
import { findUnstorable } from "../schema/storable";

/**
 * Keyset positions: after (name, version) in list order, or after (score, name, version) in search
 * order, bound to the filters of the request that issued them (`filters`, a digest).
 */
export type Cursor =
  | { kind: "list"; name: string; version: string; filters: string }
  | { kind: "search"; score: number; name: string; version: string; filters: string };

/** Cursors of builds before filters were bound carry none; they stay valid where no new filter is used. */
const UNBOUND = "";

const encoded = z.union([
  z.tuple([z.literal("l"), z.string(), z.string()], z.string()),
  z.tuple([z.literal("s"), z.number().int(), z.string(), z.string()], z.string()),
]);

export function encodeCursor(cursor: Cursor): string {
  const value =
    cursor.kind === "list"
      ? ["l", cursor.name, cursor.version, cursor.filters]
      : ["s", cursor.score, cursor.name, cursor.version, cursor.filters];
  return Buffer.from(JSON.stringify(value), "utf8").toString("base64url");
}

/** A short digest of a request's filters (canonical: lists sorted), which its cursors carry. */
export function filterDigest(filters: Record<string, unknown>): string {
  const canonical = Object.keys(filters)
    .sort()
    .map((key) => {
      const value = filters[key];
      return [key, Array.isArray(value) ? [...new Set(value.map(String))].sort() : (value ?? null)];
    });
  return createHash("sha256").update(JSON.stringify(canonical)).digest("base64url").slice(0, 16);
}

function invalidCursor(message = "use metadata.nextCursor of the previous page verbatim"): ProblemError {
  return new ProblemError(400, "Bad Request", `query.cursor: not a cursor this registry returned`, {
    errors: [{ location: "query.cursor", message }],
  });
}

/**
 * Decodes a cursor of the expected kind issued under the same filters; 400 naming query.cursor
 * otherwise. `legacyAllowed`: the request uses only filters that existed before cursors were bound.
 */
export function decodeCursor(
  raw: string,
  kind: Cursor["kind"],
  filters: string,
  legacyAllowed: boolean,
): Cursor {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(raw, "base64url").toString("utf8"));
  } catch {
    throw invalidCursor();
  }
  const result = encoded.safeParse(parsed);
  // A cursor this registry wrote never holds a value the database cannot compare (NUL, lone surrogates).
  if (!result.success || findUnstorable(result.data, undefined, 1).total > 0) throw invalidCursor();
  const value = result.data;
  const bound = value[0] === "l" ? (value[3] ?? UNBOUND) : (value[4] ?? UNBOUND);
  if (value.length > (value[0] === "l" ? 4 : 5)) throw invalidCursor();
  if (value[0] === "l" && kind !== "list") throw invalidCursor();
  if (value[0] === "s" && kind !== "search") throw invalidCursor();
  if (bound !== filters && !(bound === UNBOUND && legacyAllowed)) {
    throw invalidCursor(
      "was issued for a different set of filters (search, version, include_deleted, updated_since, category, tag, registry_type, transport, remote, status); start again without a cursor",
    );
  }
  return value[0] === "l"
    ? { kind: "list", name: value[1], version: value[2], filters }
    : { kind: "search", score: value[1], name: value[2], version: value[3], filters };
}
