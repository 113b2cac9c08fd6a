// A deterministic content hash of a Docker build context: the files `docker build` would send (the folder
// narrowed by its .dockerignore, with Docker's matching rules) plus the Dockerfile and .dockerignore. The image
// tag and the build trigger are derived from it, so only a change to what goes into the image rebuilds it.
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

/** One .dockerignore line: a pattern, and whether it re-includes (`!pattern`). */
export interface IgnoreRule {
  readonly pattern: string;
  readonly reinclude: boolean;
  readonly regex: RegExp;
  /** Leading path segments without wildcards; used to skip folders no re-include can reach. */
  readonly literalPrefix: readonly string[];
  readonly hasWildcard: boolean;
}

/** A file of the build context as the hash sees it. */
export interface ContextEntry {
  /** Slash-separated path relative to the context folder. */
  readonly path: string;
  readonly kind: "file" | "symlink";
  readonly executable: boolean;
  /** sha256 of the file's bytes, or of the link target for a symlink. */
  readonly digest: string;
}

/** Parses .dockerignore text the way Docker does: `#` comments, trimmed lines, cleaned relative patterns. */
export function parseDockerignore(text: string): IgnoreRule[] {
  const rules: IgnoreRule[] = [];
  text
    .replace(/^\uFEFF/, "")
    .split(/\r?\n/)
    .forEach((raw) => {
      if (raw.startsWith("#")) return;
      let line = raw.trim();
      if (line === "") return;
      const reinclude = line.startsWith("!");
      if (reinclude) line = line.slice(1).trim();
      if (line === "") return;
      let pattern = cleanPath(line);
      if (pattern.length > 1 && pattern.startsWith("/")) pattern = pattern.slice(1);
      const segments = pattern.split("/");
      const firstWild = segments.findIndex((segment) => /[*?[\\]/.test(segment));
      rules.push({
        pattern,
        reinclude,
        regex: patternRegex(pattern),
        literalPrefix: firstWild === -1 ? segments : segments.slice(0, firstWild),
        hasWildcard: firstWild !== -1,
      });
    });
  return rules;
}

/** Whether Docker leaves `relPath` out of the context: the last rule matching it or a parent folder decides. */
export function isIgnored(rules: readonly IgnoreRule[], relPath: string): boolean {
  const parents = relPath.split("/").slice(0, -1);
  let ignored = false;
  for (const rule of rules) {
    let match = rule.regex.test(relPath);
    for (let i = 1; !match && i <= parents.length; i += 1)
      match = rule.regex.test(parents.slice(0, i).join("/"));
    if (match) ignored = !rule.reinclude;
  }
  return ignored;
}

/** The files `docker build <dir>` sends, sorted by path; the Dockerfile and .dockerignore are always part of it. */
export function buildContextEntries(dir: string): ContextEntry[] {
  const ignoreFile = path.join(dir, ".dockerignore");
  const rules = fs.existsSync(ignoreFile) ? parseDockerignore(fs.readFileSync(ignoreFile, "utf8")) : [];
  const always = new Set(["Dockerfile", ".dockerignore"]);
  const entries: ContextEntry[] = [];
  const walk = (relDir: string): void => {
    const names = fs.readdirSync(path.join(dir, relDir)).sort(byCodeUnit);
    for (const name of names) {
      const rel = relDir === "" ? name : `${relDir}/${name}`;
      const abs = path.join(dir, rel);
      const stat = fs.lstatSync(abs);
      if (stat.isDirectory()) {
        if (!isIgnored(rules, rel) || mayReinclude(rules, rel)) walk(rel);
        continue;
      }
      if (!stat.isFile() && !stat.isSymbolicLink()) continue;
      if (isIgnored(rules, rel) && !(relDir === "" && always.has(name))) continue;
      entries.push(
        stat.isSymbolicLink()
          ? { path: rel, kind: "symlink", executable: false, digest: sha256(fs.readlinkSync(abs)) }
          : {
              path: rel,
              kind: "file",
              executable: (stat.mode & 0o111) !== 0,
              digest: sha256(fs.readFileSync(abs)),
            },
      );
    }
  };
  walk("");
  return entries.sort((a, b) => byCodeUnit(a.path, b.path));
}

/** The hash of a list of context entries: order-independent, and blind to timestamps and ownership. */
export function hashContextEntries(entries: readonly ContextEntry[]): string {
  const hash = createHash("sha256");
  for (const entry of [...entries].sort((a, b) => byCodeUnit(a.path, b.path))) {
    hash.update(`${entry.kind} ${entry.executable ? "x" : "-"} ${entry.digest} ${entry.path}\n`);
  }
  return hash.digest("hex");
}

/** sha256 (hex) of the build context of `dir`, as Docker would send it. */
export function contentHash(dir: string): string {
  if (!fs.existsSync(path.join(dir, "Dockerfile")))
    throw new Error(`${dir} has no Dockerfile; it is not a Docker build context`);
  return hashContextEntries(buildContextEntries(dir));
}

function mayReinclude(rules: readonly IgnoreRule[], relDir: string): boolean {
  // An ignored folder is still walked when a later `!pattern` could match something inside it.
  const segments = relDir.split("/");
  return rules.some((rule) => {
    if (!rule.reinclude) return false;
    const prefix = rule.literalPrefix;
    for (let i = 0; i < Math.min(prefix.length, segments.length); i += 1)
      if (prefix[i] !== segments[i]) return false;
    return rule.hasWildcard || prefix.length > segments.length;
  });
}

function patternRegex(pattern: string): RegExp {
  // Docker's pattern language: `*` and `?` stay within one path segment, `**` spans any number of segments,
  // `[...]` is a character class, `\` escapes the next character.
  let source = "";
  for (let i = 0; i < pattern.length; i += 1) {
    const ch = pattern[i] ?? "";
    if (ch === "*") {
      if (pattern[i + 1] === "*") {
        i += 1;
        if (pattern[i + 1] === "/") i += 1;
        source += i + 1 >= pattern.length ? ".*" : "(.*/)?";
      } else {
        source += "[^/]*";
      }
    } else if (ch === "?") {
      source += "[^/]";
    } else if (ch === "[") {
      const end = pattern.indexOf("]", i + 1);
      if (end === -1) throw new Error(`.dockerignore: unterminated character class in '${pattern}'`);
      source += `[${pattern.slice(i + 1, end).replace(/\\/g, "\\\\")}]`;
      i = end;
    } else if (ch === "\\") {
      i += 1;
      source += escapeRegex(pattern[i] ?? "\\");
    } else {
      source += escapeRegex(ch);
    }
  }
  return new RegExp(`^${source}$`);
}

function escapeRegex(ch: string): string {
  return /[.*+?^${}()|[\]\\/]/.test(ch) ? `\\${ch}` : ch;
}

function cleanPath(p: string): string {
  // Go's path.Clean: drop empty and `.` segments, fold `..`, keep a leading `/`.
  const rooted = p.startsWith("/");
  const out: string[] = [];
  for (const segment of p.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") {
      if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
      else if (!rooted) out.push("..");
      continue;
    }
    out.push(segment);
  }
  const joined = out.join("/");
  if (rooted) return `/${joined}`;
  return joined === "" ? "." : joined;
}

function sha256(data: string | Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
