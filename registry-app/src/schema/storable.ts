import { isUtf8 } from "node:buffer";
import { randomBytes } from "node:crypto";
import { ProblemError, type FieldProblem } from "../errors";
import { formatPath, type ValidationIssue } from "./issues";

/**
 * Values PostgreSQL cannot keep exactly, refused before anything is stored:
 * - NUL (U+0000): jsonb refuses the `\u0000` escape (22P05), text refuses the byte (22021);
 * - unpaired UTF-16 surrogates: jsonb refuses the escape (22P02), text silently stores U+FFFD;
 * - bytes that are not UTF-8: decoding would silently put U+FFFD in their place;
 * - numbers beyond a 64-bit float: JSON.parse reads them as Infinity, which is stored as null.
 */
export type UnstorableKind = "nul" | "unpaired-surrogate" | "invalid-utf8" | "number-out-of-range";

export interface UnstorableValue {
  /** Path of the value; for a bad key, the path of the member whose key it is. */
  path: PropertyKey[];
  /** The key, not the value, holds the bad character. */
  inKey: boolean;
  kind: UnstorableKind;
  message: string;
}

/** Text decoded from bytes; invalid UTF-8 sequences are replaced by numbered markers, never by U+FFFD. */
export interface DecodedText {
  text: string;
  invalid?: InvalidUtf8;
}

export interface InvalidUtf8 {
  /** ASCII that occurs nowhere in the bytes; each invalid run became `${marker}${index}.` in the text. */
  marker: string;
  /** Byte offset of each invalid run, by index. */
  offsets: number[];
}

/** Findings reported per request; the rest are counted, so a hostile body cannot inflate the answer. */
export const MAX_REPORTED = 10;

/** Length of the valid UTF-8 sequence at i, or minus the length of the invalid one (WHATWG maximal subpart). */
function sequenceAt(bytes: Uint8Array, i: number): number {
  const lead = bytes[i] as number;
  if (lead < 0x80) return 1;
  let need: number;
  let lower = 0x80;
  let upper = 0xbf;
  if (lead >= 0xc2 && lead <= 0xdf) need = 1;
  else if (lead >= 0xe0 && lead <= 0xef) {
    need = 2;
    if (lead === 0xe0) lower = 0xa0;
    if (lead === 0xed) upper = 0x9f;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    need = 3;
    if (lead === 0xf0) lower = 0x90;
    if (lead === 0xf4) upper = 0x8f;
  } else return -1;
  for (let k = 1; k <= need; k++) {
    const next = bytes[i + k];
    if (next === undefined || next < lower || next > upper) return -k;
    lower = 0x80;
    upper = 0xbf;
  }
  return need + 1;
}

function freshMarker(bytes: Buffer): string {
  for (;;) {
    const marker = `utf8-invalid-${randomBytes(8).toString("hex")}-`;
    if (!bytes.includes(marker)) return marker;
  }
}

/** Strict UTF-8 decoding: valid bytes decode as usual (fast path), invalid runs become markers. */
export function decodeUtf8(input: Uint8Array): DecodedText {
  const bytes = Buffer.isBuffer(input)
    ? input
    : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  if (isUtf8(bytes)) return { text: bytes.toString("utf8") };
  const marker = freshMarker(bytes);
  const offsets: number[] = [];
  const parts: string[] = [];
  let validFrom = 0;
  let i = 0;
  while (i < bytes.length) {
    const length = sequenceAt(bytes, i);
    if (length > 0) {
      i += length;
      continue;
    }
    parts.push(bytes.subarray(validFrom, i).toString("utf8"));
    const runStart = i;
    // One marker per run of invalid sequences.
    while (i < bytes.length) {
      const next = sequenceAt(bytes, i);
      if (next > 0) break;
      i -= next;
    }
    parts.push(`${marker}${offsets.length}.`);
    offsets.push(runStart);
    validFrom = i;
  }
  parts.push(bytes.subarray(validFrom).toString("utf8"));
  return { text: parts.join(""), invalid: { marker, offsets } };
}

const SUSPECT = /[\0\uD800-\uDFFF]/;
const UNPAIRED = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** The finding for one string, or undefined when PostgreSQL keeps it exactly. */
function stringProblem(
  value: string,
  invalid: InvalidUtf8 | undefined,
): { kind: UnstorableKind; detail: string } | undefined {
  if (invalid !== undefined) {
    const found = new RegExp(`${escapeRegExp(invalid.marker)}(\\d+)\\.`).exec(value);
    if (found !== null) {
      const offset = invalid.offsets[Number(found[1])] ?? 0;
      return { kind: "invalid-utf8", detail: `bytes that are not UTF-8 (at byte ${offset} of the body)` };
    }
  }
  if (!SUSPECT.test(value)) return undefined;
  const nul = value.indexOf("\0");
  if (nul >= 0) return { kind: "nul", detail: `a NUL character (\\u0000) at character ${nul}` };
  const unpaired = UNPAIRED.exec(value);
  if (unpaired !== null) {
    const unit = unpaired[0].charCodeAt(0).toString(16);
    return {
      kind: "unpaired-surrogate",
      detail: `an unpaired UTF-16 surrogate (\\u${unit}) at character ${unpaired.index}, which is not a Unicode character`,
    };
  }
  return undefined;
}

/** A key for display: invalid-UTF-8 markers shown as U+FFFD. */
function displayKey(key: string, invalid: InvalidUtf8 | undefined): string {
  if (invalid === undefined || !key.includes(invalid.marker)) return key;
  return key.replace(new RegExp(`${escapeRegExp(invalid.marker)}\\d+\\.`, "g"), "\uFFFD");
}

/** A placeholder frame that reports a bad key in document order. */
class KeyProblem {
  constructor(readonly problem: { kind: UnstorableKind; detail: string }) {}
}

interface Frame {
  value: unknown;
  key: PropertyKey | undefined;
  parent: Frame | undefined;
}

function pathOf(frame: Frame, invalid: InvalidUtf8 | undefined): PropertyKey[] {
  const path: PropertyKey[] = [];
  for (let at: Frame | undefined = frame; at?.key !== undefined; at = at.parent) {
    path.push(typeof at.key === "string" ? displayKey(at.key, invalid) : at.key);
  }
  return path.reverse();
}

/**
 * Every string, key and number of a parsed JSON value that PostgreSQL could not keep exactly, depth
 * first in document order (iterative: the nesting of a body is bounded only by its size).
 */
export function findUnstorable(
  root: unknown,
  invalid?: InvalidUtf8,
  limit = MAX_REPORTED,
): { found: UnstorableValue[]; total: number } {
  const found: UnstorableValue[] = [];
  let total = 0;
  const report = (frame: Frame, inKey: boolean, kind: UnstorableKind, message: string) => {
    total += 1;
    if (found.length < limit) found.push({ path: pathOf(frame, invalid), inKey, kind, message });
  };
  const stack: Frame[] = [{ value: root, key: undefined, parent: undefined }];
  while (stack.length > 0) {
    const frame = stack.pop() as Frame;
    const { value } = frame;
    if (value instanceof KeyProblem) {
      report(frame, true, value.problem.kind, `this key contains ${value.problem.detail}`);
    } else if (typeof value === "string") {
      const problem = stringProblem(value, invalid);
      if (problem !== undefined) report(frame, false, problem.kind, `contains ${problem.detail}`);
    } else if (typeof value === "number") {
      if (!Number.isFinite(value)) {
        report(
          frame,
          false,
          "number-out-of-range",
          "is a number beyond the range of a 64-bit float; it cannot be stored as sent",
        );
      }
    } else if (Array.isArray(value)) {
      for (let index = value.length - 1; index >= 0; index--) {
        stack.push({ value: value[index], key: index, parent: frame });
      }
    } else if (typeof value === "object" && value !== null) {
      const keys = Object.keys(value);
      for (let index = keys.length - 1; index >= 0; index--) {
        const key = keys[index] as string;
        const child: Frame = { value: (value as Record<string, unknown>)[key], key, parent: frame };
        stack.push(child);
        const problem = stringProblem(key, invalid);
        // Pushed after the child, so popped (reported) before it: document order.
        if (problem !== undefined) stack.push({ value: new KeyProblem(problem), key, parent: frame });
      }
    }
  }
  return { found, total };
}

const REFERENCES: Record<UnstorableKind, string> = {
  nul: "nul-character",
  "unpaired-surrogate": "unpaired-surrogate",
  "invalid-utf8": "invalid-utf8",
  "number-out-of-range": "number-out-of-range",
};

/** `body` + `packages[0].name` -> `body.packages[0].name`; `body` + `[0]` -> `body[0]`. */
export function locationOf(where: string, path: readonly PropertyKey[]): string {
  const formatted = formatPath(path);
  if (formatted === "") return where;
  return formatted.startsWith("[") ? `${where}${formatted}` : `${where}.${formatted}`;
}

/**
 * 400 naming each value the registry cannot store exactly. The same findings as validation issues
 * (type "json"), which POST /validate adds to its problem as `issues`.
 */
export class UnstorableInputError extends ProblemError {
  readonly issues: Array<ValidationIssue & { type: "json" }>;

  constructor(findings: UnstorableValue[], total: number, where: string) {
    const errors: FieldProblem[] = findings.map((finding) => ({
      location: locationOf(where, finding.path),
      message: finding.message,
    }));
    const first = errors[0];
    const more =
      total > 1 ? ` (and ${total - 1} more${total > errors.length ? `, ${errors.length} listed` : ""})` : "";
    super(
      400,
      "Bad Request",
      `The request holds a value the registry cannot store exactly: ${first?.location ?? where}: ${first?.message ?? "unstorable value"}${more}.`,
      { errors },
    );
    this.issues = findings.map((finding) => {
      const path = formatPath(finding.path);
      return {
        type: "json",
        path,
        message: `${path === "" ? "server.json" : path} ${finding.message}`,
        severity: "error",
        reference: REFERENCES[finding.kind],
      };
    });
  }
}

/** Invalid UTF-8 where it breaks the JSON syntax itself (outside any string): no path, a byte offset. */
export function invalidUtf8Problem(invalid: InvalidUtf8, where: string): UnstorableInputError {
  const offset = invalid.offsets[0] ?? 0;
  return new UnstorableInputError(
    [
      {
        path: [],
        inKey: false,
        kind: "invalid-utf8",
        message: `is not valid UTF-8 (the first invalid byte is at offset ${offset})`,
      },
    ],
    invalid.offsets.length,
    where,
  );
}

/** Throws the 400 of a parsed value that holds anything PostgreSQL could not keep exactly. */
export function assertStorable(value: unknown, invalid: InvalidUtf8 | undefined, where: string): void {
  const { found, total } = findUnstorable(value, invalid);
  if (total > 0) throw new UnstorableInputError(found, total, where);
}

/**
 * The edge of every JSON body: strict UTF-8, then `parse` (the caller's JSON rules), then the storable
 * walk. A body whose invalid bytes break its syntax is reported as invalid UTF-8, not as bad JSON.
 */
export function parseStorableJson(
  bytes: Uint8Array,
  parse: (text: string) => unknown,
  where = "body",
): unknown {
  const decoded = decodeUtf8(bytes);
  let value: unknown;
  try {
    value = parse(decoded.text);
  } catch (error) {
    if (decoded.invalid !== undefined) throw invalidUtf8Problem(decoded.invalid, where);
    throw error;
  }
  assertStorable(value, decoded.invalid, where);
  return value;
}
