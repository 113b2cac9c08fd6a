import { z } from "zod";
import { ProblemError } from "../errors";
import { findUnstorable } from "../schema/storable";

/** Keyset positions: after (name, version) in list order, or after (score, name, version) in search order. */
export type Cursor =
  | { kind: "list"; name: string; version: string }
  | { kind: "search"; score: number; name: string; version: string };

const encoded = z.union([
  z.tuple([z.literal("l"), z.string(), z.string()]),
  z.tuple([z.literal("s"), z.number().int(), z.string(), z.string()]),
]);

export function encodeCursor(cursor: Cursor): string {
  const value =
    cursor.kind === "list"
      ? ["l", cursor.name, cursor.version]
      : ["s", cursor.score, cursor.name, cursor.version];
  return Buffer.from(JSON.stringify(value), "utf8").toString("base64url");
}

function invalidCursor(): ProblemError {
  return new ProblemError(400, "Bad Request", "query.cursor: not a cursor this registry returned", {
    errors: [{ location: "query.cursor", message: "use metadata.nextCursor of the previous page verbatim" }],
  });
}

/** Decodes a cursor of the expected kind; 400 naming query.cursor otherwise. */
export function decodeCursor(raw: string, kind: Cursor["kind"]): Cursor {
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
  if (value[0] === "l" && kind === "list") return { kind, name: value[1], version: value[2] };
  if (value[0] === "s" && kind === "search")
    return { kind, score: value[1], name: value[2], version: value[3] };
  throw invalidCursor();
}
