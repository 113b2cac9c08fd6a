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
