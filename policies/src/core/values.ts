// Narrowing helpers over resource properties: the engine hands policies untyped JSON (behind proxies that
// throw on values unknown during preview), so every read goes through these instead of `any`.
export type Props = Readonly<Record<string, unknown>>;

export function rec(value: unknown): Props | undefined {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Props) : undefined;
}

export function list(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : [];
}

export function str(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

export function bool(value: unknown): boolean | undefined {
  return typeof value === "boolean" ? value : undefined;
}

/** Numbers, and integer strings as some SDK inputs deliver them. */
export function num(value: unknown): number | undefined {
  if (typeof value === "number") return value;
  if (typeof value === "string" && /^-?\d+$/.test(value)) return Number(value);
  return undefined;
}

/** The value at a property path, or undefined when any step is missing or not an object/array. */
export function at(value: unknown, ...path: readonly (string | number)[]): unknown {
  let current: unknown = value;
  for (const step of path) {
    if (typeof step === "number") {
      if (!Array.isArray(current)) return undefined;
      current = current[step];
    } else {
      const object = rec(current);
      if (object === undefined) return undefined;
      current = object[step];
    }
  }
  return current;
}

export function recAt(value: unknown, ...path: readonly (string | number)[]): Props | undefined {
  return rec(at(value, ...path));
}

export function strAt(value: unknown, ...path: readonly (string | number)[]): string | undefined {
  return str(at(value, ...path));
}

export function listAt(value: unknown, ...path: readonly (string | number)[]): readonly unknown[] {
  return list(at(value, ...path));
}

/** String-to-string map (labels, annotations, matchLabels); non-string entries are dropped. */
export function stringMap(value: unknown): Readonly<Record<string, string>> {
  const result: Record<string, string> = {};
  for (const [key, entry] of Object.entries(rec(value) ?? {})) {
    if (typeof entry === "string") result[key] = entry;
  }
  return result;
}

export interface Visit {
  /** Dotted path from the root, e.g. `grafana.image.tag` or `containers[0].image`. */
  readonly path: string;
  /** Last key of the path (the property name), or undefined for array elements and the root. */
  readonly key: string | undefined;
  readonly value: unknown;
}

/** Depth-first walk over every nested value of a JSON-like tree. */
export function* walk(value: unknown, path = "", key?: string): Generator<Visit> {
  yield { path, key, value };
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) yield* walk(value[i], `${path}[${i}]`);
  } else {
    const object = rec(value);
    if (object === undefined) return;
    for (const child of Object.keys(object)) {
      yield* walk(object[child], path === "" ? child : `${path}.${child}`, child);
    }
  }
}

export function quote(value: string): string {
  return JSON.stringify(value);
}

/**
 * The engine's markers for values not known until update (e.g. @pulumi/random results during preview), and the key
 * that reads behind CrossGuard's proxy: @pulumi/policy 1.21 exports them from proxy.js but keeps them out of its
 * typings (@internal); test/policies/preview.test.ts checks these copies against the module at run time.
 */
export const UNKNOWN_MARKERS: Readonly<Record<string, string>> = Object.freeze({
  unknownBooleanValue: "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",
  unknownNumberValue: "3eeb2bf0-c639-47a8-9e75-3b44932eb421",
  unknownStringValue: "04da6b54-80e4-46f7-96ec-b56ff0331ba9",
  unknownArrayValue: "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",
  unknownAssetValue: "030794c1-ac77-496b-92df-f27374a8bd58",
  unknownArchiveValue: "e48ece36-62e2-4504-bad9-02848725956a",
  unknownObjectValue: "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",
});
export const PROXY_TARGET_KEY = "__getSpecialProxyTarget";
const UNKNOWN_VALUES: ReadonlySet<unknown> = new Set(Object.values(UNKNOWN_MARKERS));

/** The object behind CrossGuard's unknown-checking proxy, where unknown values are plain markers (no throw). */
function unproxied(value: unknown): unknown {
  const object = value as Record<string, unknown> | null;
  if (object === null || typeof object !== "object") return value;
  return object[PROXY_TARGET_KEY] ?? object;
}

export function isUnknown(value: unknown): boolean {
  return UNKNOWN_VALUES.has(value);
}

/**
 * The string entries of a map property, split into known and unknown-until-update, reading behind the proxy so an
 * unknown value (or an unknown whole map) is counted instead of aborting the policy.
 */
export function stringEntries(
  props: Props,
  key: string,
): { known: [string, string][]; unknown: string[]; wholeMapUnknown: boolean } {
  const raw = (unproxied(props) as Record<string, unknown>)[key];
  if (isUnknown(raw)) return { known: [], unknown: [], wholeMapUnknown: true };
  const map = rec(unproxied(raw)) ?? {};
  const known: [string, string][] = [];
  const unknown: string[] = [];
  for (const [name, value] of Object.entries(map)) {
    if (isUnknown(value)) unknown.push(name);
    else known.push([name, str(value) ?? ""]);
  }
  return { known, unknown, wholeMapUnknown: false };
}
