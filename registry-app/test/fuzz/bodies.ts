import fc from "fast-check";

/**
 * Generation of publish and edit bodies for the fuzz test: real dataset documents, each mutated at
 * one of its fields (every field of the dataset in turn) and at random further places, then encoded
 * to bytes that may be truncated, oversized or hold invalid UTF-8.
 */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };
type Path = Array<string | number>;

export type Mutation =
  | { op: "wrongType"; at: number; value: Json }
  | { op: "hugeString"; at: number; length: number; unit: string }
  | { op: "emptyString"; at: number }
  | { op: "insertChars"; at: number; chars: string; position: number; inKey: boolean }
  | { op: "deepNesting"; at: number; depth: number; arrays: boolean }
  | { op: "unknownKey"; at: number; key: string; value: Json }
  | { op: "deleteKey"; at: number }
  | { op: "number"; at: number; value: number };

export type Encoding =
  | { kind: "plain" }
  | { kind: "bom" }
  | { kind: "truncated"; at: number }
  | { kind: "oversized" }
  | { kind: "invalidUtf8"; at: number; bytes: readonly number[] }
  | { kind: "rawLiteral"; literal: string }
  | { kind: "duplicateKey"; value: string };

export interface FuzzCase {
  kind: "publish" | "edit";
  /** Index into the dataset's field shapes: the first mutation hits this field. */
  shape: number;
  /** Which of the documents holding that field. */
  pick: number;
  mutations: Mutation[];
  encoding: Encoding;
}

/** Characters PostgreSQL cannot keep (NUL, lone surrogates) and valid ones that must round-trip. */
const CHARS = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom("\u0000", "a\u0000b", "\ud800", "\udbff", "\udc00", "\udfff", "x\ud83e"),
  },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      "🦊",
      "\ud83e\udd8a",
      "é",
      "e\u0301",
      "\u2028",
      "\u200f",
      "\uFFFD",
      "\uFFFF",
      "\u0001",
      "日本",
      "\t\n",
    ),
  },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 8 }) },
);

/** JSON values of every type, for replacing a field with the wrong one. */
const ANY_VALUE: fc.Arbitrary<Json> = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
  fc.string({ maxLength: 20 }),
  fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }),
  fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json>,
);

const AT = fc.nat();

const MUTATION: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant("wrongType" as const), at: AT, value: ANY_VALUE }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant("hugeString" as const),
      at: AT,
      length: fc.integer({ min: 101, max: 300_000 }),
      unit: fc.constantFrom("a", "é", "🦊", " "),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("emptyString" as const), at: AT }) },
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant("insertChars" as const),
      at: AT,
      chars: CHARS,
      position: fc.nat(),
      inKey: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant("deepNesting" as const),
      at: AT,
      depth: fc.integer({ min: 50, max: 20_000 }),
      arrays: fc.boolean(),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant("unknownKey" as const),
      at: AT,
      key: fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom("__proto__", "constructor", "", "x-fuzz")),
      value: ANY_VALUE,
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("deleteKey" as const), at: AT }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant("number" as const),
      at: AT,
      value: fc.constantFrom(1e308, -0, 5e-324, 2 ** 53 + 2, 0.1, -1e-7, 1.2345678901234568e29, 0),
    }),
  },
);

const ENCODING: fc.Arbitrary<Encoding> = fc.oneof(
  { weight: 14, arbitrary: fc.constant({ kind: "plain" as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: "bom" as const }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("truncated" as const),
      at: fc.double({ min: 0, max: 1, noNaN: true }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: "oversized" as const }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("invalidUtf8" as const),
      at: fc.double({ min: 0, max: 1, noNaN: true }),
      bytes: fc.constantFrom(
        [0xff],
        [0x80],
        [0xc0, 0x80],
        [0xed, 0xa0, 0x80],
        [0xe6, 0x97],
        [0xf4, 0x90, 0x80, 0x80],
        [0xf8, 0x88, 0x80, 0x80, 0x80],
        [0xc3],
      ),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("rawLiteral" as const),
      literal: fc.constantFrom(
        "1e400",
        "-1e400",
        "123456789012345678901234567890",
        "1.0",
        "-0.0",
        "1E+2",
        '"\\u0000"',
        '"\\ud800"',
        '"\\uDFFF\\uD800"',
        '"\\ud83e\\udd8a"',
        '{"\\u0000":1}',
      ),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("duplicateKey" as const), value: fc.string({ maxLength: 40 }) }),
  },
);

export const FUZZ_CASE: fc.Arbitrary<FuzzCase> = fc.record({
  kind: fc.constantFrom("publish" as const, "edit" as const),
  shape: fc.nat(),
  pick: fc.nat(),
  mutations: fc.array(MUTATION, { minLength: 1, maxLength: 3 }),
  encoding: ENCODING,
});

// ---- Paths over JSON values ---------------------------------------------------------------------

const isObject = (value: unknown): value is JsonObject =>
  typeof value === "object" && value !== null && !Array.isArray(value);

interface Frame {
  value: Json;
  key: string | number | undefined;
  parent: Frame | undefined;
}

/** Depth-first over every value position, the root included, in document order (iterative). */
function* frames(root: Json): Generator<Frame> {
  const stack: Frame[] = [{ value: root, key: undefined, parent: undefined }];
  while (stack.length > 0) {
    const frame = stack.pop() as Frame;
    yield frame;
    const { value } = frame;
    if (Array.isArray(value)) {
      for (let index = value.length - 1; index >= 0; index--)
        stack.push({ value: value[index] as Json, key: index, parent: frame });
    } else if (isObject(value)) {
      const keys = Object.keys(value);
      for (let index = keys.length - 1; index >= 0; index--) {
        const key = keys[index] as string;
        stack.push({ value: value[key] as Json, key, parent: frame });
      }
    }
  }
}

function pathOf(frame: Frame): Path {
  const path: Path = [];
  for (let at: Frame | undefined = frame; at?.key !== undefined; at = at.parent) path.push(at.key);
  return path.reverse();
}

/** Every value position of a (small) document, the root included. */
export function allPaths(root: Json): Path[] {
  return [...frames(root)].map(pathOf);
}

/** The n-th value position (modulo their number) of a document of any depth, in linear time. */
export function pathAt(root: Json, n: number): Path {
  let count = 0;
  for (const _frame of frames(root)) count++;
  let index = 0;
  for (const frame of frames(root)) if (index++ === n % count) return pathOf(frame);
  return [];
}

/** `["packages", 0, "name"]` -> `.packages[].name`: the field a path is an instance of. */
export function shapeOf(path: Path): string {
  return path.map((part) => (typeof part === "number" ? "[]" : `.${part}`)).join("");
}

export function getAt(root: Json, path: Path): Json | undefined {
  let node: Json | undefined = root;
  for (const part of path) {
    if (Array.isArray(node) && typeof part === "number") node = node[part];
    else if (isObject(node) && typeof part === "string" && Object.hasOwn(node, part)) node = node[part];
    else return undefined;
  }
  return node;
}

/** Replaces the value at path (the root when path is empty); returns the new root. */
function setAt(root: Json, path: Path, value: Json): Json {
  if (path.length === 0) return value;
  const parent = getAt(root, path.slice(0, -1));
  const last = path[path.length - 1] as string | number;
  if (Array.isArray(parent) && typeof last === "number") parent[last] = value;
  else if (isObject(parent) && typeof last === "string") defineMember(parent, last, value);
  return root;
}

/** An own data member, even for `__proto__` (plain assignment would set the prototype instead). */
function defineMember(target: JsonObject, key: string, value: Json): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

export function deleteAt(root: Json, path: Path): void {
  const parent = getAt(root, path.slice(0, -1));
  const last = path[path.length - 1];
  if (isObject(parent) && typeof last === "string") delete parent[last];
  else if (Array.isArray(parent) && typeof last === "number") parent.splice(last, 1);
}

/** The object's members in order with one key renamed (keeps the position of the member). */
function renameKey(target: JsonObject, from: string, to: string): void {
  const entries = Object.entries(target);
  for (const key of Object.keys(target)) delete target[key];
  for (const [key, value] of entries) defineMember(target, key === from ? to : key, value);
}

function insertInto(text: string, chars: string, position: number): string {
  const at = position % (text.length + 1);
  return `${text.slice(0, at)}${chars}${text.slice(at)}`;
}

/** Applies one mutation at `path`; returns the new root. */
export function mutate(root: Json, path: Path, mutation: Mutation): Json {
  const current = getAt(root, path);
  switch (mutation.op) {
    case "wrongType":
      return setAt(root, path, structuredClone(mutation.value));
    case "hugeString":
      return setAt(root, path, mutation.unit.repeat(Math.ceil(mutation.length / mutation.unit.length)));
    case "emptyString":
      return setAt(root, path, "");
    case "insertChars": {
      const last = path[path.length - 1];
      const parent = getAt(root, path.slice(0, -1));
      if (mutation.inKey && typeof last === "string" && isObject(parent)) {
        renameKey(parent, last, insertInto(last, mutation.chars, mutation.position));
        return root;
      }
      if (typeof current === "string")
        return setAt(root, path, insertInto(current, mutation.chars, mutation.position));
      return setAt(root, path, mutation.chars);
    }
    case "deepNesting":
      // A placeholder that encode() expands to the nested text: building 20,000 levels as objects and
      // writing them out again would cost the test more than the server.
      return setAt(root, path, `${DEEP}${mutation.depth}:${mutation.arrays ? "a" : "o"}`);
    case "unknownKey": {
      const target = isObject(current) ? current : getAt(root, path.slice(0, -1));
      if (isObject(target)) defineMember(target, mutation.key, structuredClone(mutation.value));
      return root;
    }
    case "deleteKey":
      if (path.length > 0) deleteAt(root, path);
      return root;
    case "number":
      return setAt(root, path, mutation.value);
  }
}

const DEEP = "deep-nesting-placeholder:";
const DEEP_TEXT = new RegExp(`"${DEEP}(\\d+):([ao])"`, "g");

function nested(depth: number, arrays: boolean): string {
  return arrays
    ? `${"[".repeat(depth)}"leaf"${"]".repeat(depth)}`
    : `${'{"d":'.repeat(depth)}"leaf"${"}".repeat(depth)}`;
}

/** The bytes sent: JSON text, possibly damaged on purpose. */
export function encode(document: Json, encoding: Encoding, bodyLimit: number): Buffer {
  const json = JSON.stringify(document).replace(DEEP_TEXT, (_match, depth: string, shape: string) =>
    nested(Number(depth), shape === "a"),
  );
  const bytes = Buffer.from(json, "utf8");
  switch (encoding.kind) {
    case "plain":
      return bytes;
    case "bom":
      return Buffer.from(`\uFEFF${json}`, "utf8");
    case "truncated":
      return bytes.subarray(0, Math.floor(encoding.at * bytes.length));
    case "oversized":
      return Buffer.concat([bytes, Buffer.alloc(bodyLimit + 1 - Math.min(bytes.length, bodyLimit), 0x20)]);
    case "invalidUtf8": {
      const at = Math.floor(encoding.at * bytes.length);
      return Buffer.concat([bytes.subarray(0, at), Buffer.from(encoding.bytes), bytes.subarray(at)]);
    }
    case "rawLiteral":
      return json.startsWith("{") && json !== "{}"
        ? Buffer.from(`{"x-fuzz-raw":${encoding.literal},${json.slice(1)}`, "utf8")
        : bytes;
    case "duplicateKey":
      return json.endsWith("}") && json !== "{}"
        ? Buffer.from(`${json.slice(0, -1)},"description":${JSON.stringify(encoding.value)}}`, "utf8")
        : bytes;
  }
}

// ---- The oracle ---------------------------------------------------------------------------------

const UNPAIRED = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Whether any string, key or number of a parsed value could not be stored exactly (iterative). */
export function holdsUnstorable(root: unknown): boolean {
  const bad = (text: string) => text.includes("\u0000") || UNPAIRED.test(text);
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const value = stack.pop();
    if (typeof value === "string" && bad(value)) return true;
    if (typeof value === "number" && !Number.isFinite(value)) return true;
    if (Array.isArray(value)) stack.push(...value);
    else if (isObject(value)) {
      for (const [key, item] of Object.entries(value)) {
        if (bad(key)) return true;
        stack.push(item);
      }
    }
  }
  return false;
}

class Token {
  constructor(readonly text: string) {}
}

/**
 * JSON.stringify without recursion (bodies may nest 20,000 deep), keys in insertion order or sorted
 * by UTF-16 code units; strings and numbers exactly as JSON.stringify writes them.
 */
export function stringify(root: unknown, sortKeys: boolean): string {
  const parts: string[] = [];
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const item = stack.pop();
    if (item instanceof Token) {
      parts.push(item.text);
    } else if (Array.isArray(item)) {
      parts.push("[");
      const next: unknown[] = [];
      item.forEach((value, index) => {
        if (index > 0) next.push(new Token(","));
        next.push(value);
      });
      stack.push(new Token("]"), ...next.reverse());
    } else if (isObject(item)) {
      parts.push("{");
      const keys = Object.keys(item);
      if (sortKeys) keys.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      const next: unknown[] = [];
      keys.forEach((key, index) => {
        next.push(new Token(`${index > 0 ? "," : ""}${JSON.stringify(key)}:`));
        next.push(item[key]);
      });
      stack.push(new Token("}"), ...next.reverse());
    } else parts.push(JSON.stringify(item) ?? "null");
  }
  return parts.join("");
}

/** JSON.stringify, or the iterative writer when the value nests deeper than the native one allows. */
export function stringifyDeep(root: unknown): string {
  try {
    return JSON.stringify(root);
  } catch (error) {
    if (error instanceof RangeError) return stringify(root, false);
    throw error;
  }
}

/**
 * Canonical JSON: keys sorted, no whitespace. Two values with the same canonical JSON hold the same
 * keys, the same code units in every string and the same doubles.
 */
export function canonicalJson(root: unknown): string {
  return stringify(root, true);
}

/** `packages[0]._meta["a b"].x` -> `["packages", 0, "_meta", "a b", "x"]` (the registry's issue paths). */
export function parseIssuePath(path: string): Path {
  const out: Path = [];
  let i = 0;
  while (i < path.length) {
    if (path[i] === ".") i++;
    if (path[i] === "[") {
      if (path[i + 1] === '"') {
        let j = i + 2;
        while (j < path.length && path[j] !== '"') j += path[j] === "\\" ? 2 : 1;
        out.push(JSON.parse(path.slice(i + 1, j + 1)) as string);
        i = j + 2;
      } else {
        const end = path.indexOf("]", i);
        out.push(Number(path.slice(i + 1, end)));
        i = end + 1;
      }
    } else {
      const name = /^[A-Za-z_$][\w$]*/.exec(path.slice(i))?.[0];
      if (name === undefined) throw new Error(`unparsable issue path ${path}`);
      out.push(name);
      i += name.length;
    }
  }
  return out;
}
