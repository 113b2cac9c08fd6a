// Container image references: parsing, normalisation (Docker Hub defaults), pinning, registry prefixes, UBI 9
// bases, the FROM lines of a Dockerfile, and the image settings visible in Helm chart values.
import { rec, str, walk, type Props } from "./values";

export interface ImageRef {
  /** The reference as written. */
  readonly raw: string;
  /** Registry host (with port), `docker.io` when omitted. */
  readonly registry: string;
  /** Repository path below the registry (`library/` added for Docker Hub official images). */
  readonly path: string;
  readonly tag?: string;
  readonly digest?: string;
}

const DIGEST = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const PATH = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;

/** Parses an image reference; returns a one-line problem instead when it is not a valid reference. */
export function parseImage(raw: string): ImageRef | string {
  const text = raw.trim();
  if (text === "") return "the image reference is empty";
  if (/\s/.test(text)) return `${JSON.stringify(raw)} is not an image reference (contains whitespace)`;
  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) return `${JSON.stringify(raw)} has a malformed digest "${digest}"`;
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) return `${JSON.stringify(raw)} has a malformed tag "${tag}"`;
  }
  const slash = rest.indexOf("/");
  const first = slash < 0 ? "" : rest.slice(0, slash);
  const hasHost = first !== "" && (first.includes(".") || first.includes(":") || first === "localhost");
  const registry = hasHost ? first : "docker.io";
  let path = hasHost ? rest.slice(slash + 1) : rest;
  if (registry === "docker.io" && !path.includes("/")) path = `library/${path}`;
  if (!PATH.test(path)) return `${JSON.stringify(raw)} has an invalid repository path "${path}"`;
  return {
    raw,
    registry,
    path,
    ...(tag === undefined ? {} : { tag }),
    ...(digest === undefined ? {} : { digest }),
  };
}

/** `registry/path`, the form registry prefixes are matched against. */
export function repositoryOf(image: ImageRef): string {
  return `${image.registry}/${image.path}`;
}

/** Undefined when pinned (a digest, or an explicit tag other than `latest`), else why not. */
export function pinningProblem(image: ImageRef): string | undefined {
  if (image.digest !== undefined) return undefined;
  if (image.tag === undefined) return `"${image.raw}" has neither a tag nor a digest (it means :latest)`;
  if (image.tag === "latest") return `"${image.raw}" uses the mutable tag latest`;
  return undefined;
}

/** Normalises a configured registry prefix the same way images are (`grafana/` → `docker.io/grafana/`). */
export function normalizePrefix(prefix: string): string {
  const trimmed = prefix.trim().replace(/\/+$/, "");
  const first = trimmed.split("/")[0] ?? "";
  const hasHost = first.includes(".") || first.includes(":") || first === "localhost";
  return `${hasHost ? trimmed : `docker.io/${trimmed}`}/`;
}

export function isFromAllowedRegistry(image: ImageRef, prefixes: readonly string[]): boolean {
  const repository = `${repositoryOf(image)}/`;
  return prefixes.some((prefix) => repository.startsWith(normalizePrefix(prefix)));
}

const UBI9_REPOSITORIES = ["registry.access.redhat.com/ubi9", "registry.redhat.io/ubi9"];

/** Red Hat UBI 9: `ubi9` itself or any image below `ubi9/` on Red Hat's two registries. */
export function isUbi9(image: ImageRef): boolean {
  const repository = repositoryOf(image);
  return UBI9_REPOSITORIES.some((ubi) => repository === ubi || repository.startsWith(`${ubi}/`));
}

export interface DockerfileBases {
  /** External images named by FROM lines (stage aliases and `scratch` excluded), in order, without duplicates. */
  readonly images: readonly string[];
  /** Lines the parser could not resolve (e.g. a FROM with an ARG that has no default). */
  readonly problems: readonly string[];
}

/** The external base images of a Dockerfile's FROM lines, with ARG defaults declared before the first FROM. */
export function dockerfileBaseImages(text: string): DockerfileBases {
  const escape = /^#\s*escape\s*=\s*`/im.test(text.split("\n").slice(0, 5).join("\n")) ? "`" : "\\";
  const instructions = logicalLines(text, escape);
  const args = new Map<string, string | undefined>();
  const stages = new Set<string>();
  const images: string[] = [];
  const problems: string[] = [];
  let seenFrom = false;
  for (const { line, number } of instructions) {
    const [keyword = "", ...words] = line.split(/\s+/);
    const upper = keyword.toUpperCase();
    if (upper === "ARG" && !seenFrom) {
      for (const word of words) {
        const eq = word.indexOf("=");
        const name = eq < 0 ? word : word.slice(0, eq);
        const value = eq < 0 ? undefined : unquote(word.slice(eq + 1));
        args.set(name, value);
      }
    } else if (upper === "FROM") {
      seenFrom = true;
      const operands = words.filter((w) => !w.startsWith("--"));
      const source = operands[0];
      if (source === undefined) {
        problems.push(`line ${number}: FROM without an image`);
        continue;
      }
      const expanded = expand(source, args);
      if (expanded === undefined) {
        problems.push(`line ${number}: cannot resolve "${source}" (an ARG without a default)`);
      } else if (
        expanded !== "scratch" &&
        !stages.has(expanded.toLowerCase()) &&
        !images.includes(expanded)
      ) {
        images.push(expanded);
      }
      if (operands[1]?.toUpperCase() === "AS" && operands[2] !== undefined)
        stages.add(operands[2].toLowerCase());
    }
  }
  if (!seenFrom) problems.push("the Dockerfile has no FROM line");
  return { images, problems };
}

function logicalLines(text: string, escape: string): { line: string; number: number }[] {
  const result: { line: string; number: number }[] = [];
  let buffer = "";
  let start = 0;
  text.split(/\r?\n/).forEach((raw, i) => {
    const trimmed = raw.trim();
    if (buffer === "" && (trimmed === "" || trimmed.startsWith("#"))) return;
    if (buffer !== "" && trimmed.startsWith("#")) return; // comment lines inside a continuation are dropped
    if (buffer === "") start = i + 1;
    if (trimmed.endsWith(escape)) {
      buffer += `${trimmed.slice(0, -1)} `;
      return;
    }
    result.push({ line: (buffer + trimmed).trim(), number: start });
    buffer = "";
  });
  if (buffer.trim() !== "") result.push({ line: buffer.trim(), number: start });
  return result;
}

function unquote(value: string): string {
  return /^(["']).*\1$/.test(value) ? value.slice(1, -1) : value;
}

function expand(word: string, args: ReadonlyMap<string, string | undefined>): string | undefined {
  let unresolved = false;
  const result = word.replace(
    /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([-+])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (
      _match,
      braced: string | undefined,
      op: string | undefined,
      alt: string | undefined,
      bare: string | undefined,
    ) => {
      const name = braced ?? bare ?? "";
      const value = args.get(name);
      if (op === "-") return value === undefined || value === "" ? (alt ?? "") : value;
      if (op === "+") return value === undefined || value === "" ? "" : (alt ?? "");
      if (value === undefined) unresolved = true;
      return value ?? "";
    },
  );
  return unresolved ? undefined : unquote(result);
}

export interface ValuesImage {
  /** `string`: a whole reference; `object`: repository/tag fields (an absent tag means the chart's pinned default). */
  readonly form: "string" | "object";
  /** Where in the values the image is set, e.g. `controller.image`. */
  readonly path: string;
  /** The full reference when the values name the registry (or a host-qualified repository). */
  readonly reference?: string;
  /** The tag or digest the values set (undefined: the chart's own default for its pinned version). */
  readonly tag?: string;
  readonly digest?: string;
  /** Repository without a registry: the chart's default registry applies. */
  readonly repositoryOnly?: string;
}

const IMAGE_KEY = /^(image|imageName|.+Image)$/;

/** Image settings visible in Helm values: `image: "ref"` strings and `{registry?, repository, tag?, digest?}` objects. */
export function valuesImages(values: unknown): ValuesImage[] {
  const found: ValuesImage[] = [];
  for (const visit of walk(values)) {
    if (visit.key === undefined || !IMAGE_KEY.test(visit.key)) continue;
    const text = str(visit.value);
    if (text !== undefined) {
      if (text.includes("/") || text.includes(":"))
        found.push({ form: "string", path: visit.path, reference: text });
      continue;
    }
    const object = rec(visit.value);
    const repository = str(object?.repository);
    if (object === undefined || repository === undefined) continue;
    found.push(imageFromObject(visit.path, object, repository));
  }
  return found;
}

function imageFromObject(path: string, object: Props, repository: string): ValuesImage {
  const registry = str(object.registry);
  const tag = str(object.tag) ?? (typeof object.tag === "number" ? String(object.tag) : undefined);
  const digest = str(object.digest) ?? str(object.sha);
  const first = repository.split("/")[0] ?? "";
  const hostQualified = repository.includes("/") && (first.includes(".") || first.includes(":"));
  const base =
    registry !== undefined && registry !== ""
      ? `${registry}/${repository}`
      : hostQualified
        ? repository
        : undefined;
  const suffix = `${tag !== undefined && tag !== "" ? `:${tag}` : ""}${
    digest !== undefined && digest !== ""
      ? `@${digest.startsWith("sha256:") ? digest : `sha256:${digest}`}`
      : ""
  }`;
  return {
    form: "object",
    path,
    ...(base === undefined ? { repositoryOnly: repository } : { reference: `${base}${suffix}` }),
    ...(tag !== undefined && tag !== "" ? { tag } : {}),
    ...(digest !== undefined && digest !== "" ? { digest } : {}),
  };
}
