// Derives registry-app/package-lock.json from the workspace root's package-lock.json.
//
// registry-app is an npm workspace: its dependencies are locked in the root lockfile, partly hoisted to the
// root node_modules. The image is built from registry-app/ alone, so `npm ci` there needs a lockfile of its
// own that pins exactly the versions the workspace is tested with. This module re-lays the workspace's
// dependency closure out as a standalone tree, keeps every version and integrity hash from the root lock,
// recomputes npm's dev/optional flags (which `npm ci --omit=dev` relies on) and checks every edge resolves
// to the same package it resolves to in the workspace.
//
//   npm run lockfile -w registry-app             rewrite registry-app/package-lock.json
//   npm run lockfile -w registry-app -- --check  exit 1 when it is stale (the container tests do the same)
import * as fs from "node:fs";
import * as path from "node:path";

type DepMap = Readonly<Record<string, string>>;

/** One `packages` entry of a v2/v3 lockfile; unknown fields are carried through untouched. */
export interface LockEntry {
  readonly name?: string;
  readonly version?: string;
  readonly resolved?: string;
  readonly integrity?: string;
  readonly link?: boolean;
  readonly dev?: boolean;
  readonly optional?: boolean;
  readonly devOptional?: boolean;
  readonly peer?: boolean;
  readonly dependencies?: DepMap;
  readonly devDependencies?: DepMap;
  readonly optionalDependencies?: DepMap;
  readonly peerDependencies?: DepMap;
  readonly peerDependenciesMeta?: Readonly<Record<string, { readonly optional?: boolean }>>;
  readonly workspaces?: readonly string[];
  readonly [field: string]: unknown;
}

export interface Lockfile {
  readonly name: string;
  readonly version: string;
  readonly lockfileVersion: number;
  readonly requires?: boolean;
  readonly packages: Readonly<Record<string, LockEntry>>;
}

/** The fields of a package.json that the lockfile's root entry mirrors. */
export interface Manifest {
  readonly name: string;
  readonly version: string;
  readonly license?: string;
  readonly dependencies?: DepMap;
  readonly devDependencies?: DepMap;
  readonly optionalDependencies?: DepMap;
  readonly peerDependencies?: DepMap;
  readonly peerDependenciesMeta?: Readonly<Record<string, { readonly optional?: boolean }>>;
  readonly bin?: unknown;
  readonly engines?: unknown;
  readonly os?: unknown;
  readonly cpu?: unknown;
  readonly workspaces?: readonly string[];
}

/** The lockfile cannot be derived; the message says what to run. */
export class LockfileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LockfileError";
  }
}

type EdgeType = "prod" | "dev" | "optional" | "peer" | "peerOptional" | "workspace";

interface Edge {
  readonly name: string;
  readonly type: EdgeType;
}

export interface DepFlags {
  dev: boolean;
  optional: boolean;
  devOptional: boolean;
  peer: boolean;
}

const FLAG_FIELDS = ["dev", "optional", "devOptional", "peer"] as const;
const ROOT_FIELDS = [
  "name",
  "version",
  "license",
  "dependencies",
  "devDependencies",
  "optionalDependencies",
  "peerDependencies",
  "peerDependenciesMeta",
  "bin",
  "engines",
  "os",
  "cpu",
] as const;

/**
 * The standalone lockfile of workspace `workspace` (its folder relative to the root, e.g. `registry-app`),
 * whose package.json is `manifest`, derived from the workspace root's lockfile.
 */
export function deriveWorkspaceLockfile(rootLock: Lockfile, workspace: string, manifest: Manifest): Lockfile {
  if (rootLock.lockfileVersion < 2)
    throw new LockfileError(
      `the root lockfile is version ${rootLock.lockfileVersion}; npm 7 or later writes v2/v3`,
    );
  const source = rootLock.packages;
  const workspaceEntry = source[workspace];
  if (workspaceEntry === undefined)
    throw new LockfileError(
      `the root package-lock.json has no workspace '${workspace}'; run 'npm install' at the root`,
    );
  for (const field of [
    "dependencies",
    "devDependencies",
    "optionalDependencies",
    "peerDependencies",
  ] as const) {
    if (!sameDeps(workspaceEntry[field], manifest[field]))
      throw new LockfileError(
        `the root package-lock.json is out of date with ${workspace}/package.json (${field}); run 'npm install' at the repository root`,
      );
  }

  // 1. The workspace's dependency graph as it resolves inside the root tree (logical nodes = root lock paths).
  const logicalEdges = new Map<string, Map<string, string>>();
  const pending = [workspace];
  while (pending.length > 0) {
    const from = pending.pop() ?? "";
    if (logicalEdges.has(from)) continue;
    const resolved = new Map<string, string>();
    logicalEdges.set(from, resolved);
    const entry = from === workspace ? manifestEntry(manifest) : (source[from] ?? {});
    for (const edge of edgesOf(entry, from === workspace)) {
      const target = resolveIn(source, from, edge.name);
      if (target === undefined) {
        if (edge.type === "optional" || edge.type === "peerOptional") continue;
        throw new LockfileError(
          `${from || "<root>"} needs ${edge.name}, which the root package-lock.json does not contain; run 'npm install' at the root`,
        );
      }
      if (target === workspace || source[target]?.link === true || !target.includes("node_modules/"))
        throw new LockfileError(
          `${from} depends on the workspace package at '${target}'; a standalone lockfile cannot contain it`,
        );
      resolved.set(edge.name, target);
      pending.push(target);
    }
  }

  // 2. Lay the closure out as a standalone tree: the workspace's own node_modules becomes the root's, nodes the
  //    root had hoisted keep their place unless a workspace-local version now sits there.
  const placement = new Map<string, string>(); // new path -> logical node
  for (const logical of logicalEdges.keys()) {
    if (logical.startsWith(`${workspace}/`)) placement.set(logical.slice(workspace.length + 1), logical);
  }
  placement.set("", workspace);
  const hoisted = [...logicalEdges.keys()].filter(
    (key) => key !== workspace && !key.startsWith(`${workspace}/`),
  );
  for (const logical of hoisted.sort((a, b) => a.length - b.length || compare(a, b))) {
    // A hoisted package keeps its folder only if its parent folder still holds what it held in the root tree.
    const parent = physicalParent(logical) ?? "";
    const parentKept = parent === "" || placement.get(parent) === parent;
    if (parentKept && !placement.has(logical)) placement.set(logical, logical);
  }

  // 3. Wherever a dependency now resolves to a different version (or none), nest the right one under the
  //    dependent, the way npm resolves conflicts; repeat until every edge resolves as in the workspace.
  for (let round = 0; ; round += 1) {
    if (round > 50) throw new LockfileError("the standalone layout does not converge");
    let changed = false;
    for (const [at, logical] of [...placement.entries()].sort(
      ([a], [b]) => a.length - b.length || compare(a, b),
    )) {
      for (const [name, target] of logicalEdges.get(logical) ?? []) {
        const found = resolveIn(placement, at, name);
        if (found !== undefined && placement.get(found) === target) continue;
        const nested = `${at === "" ? "" : `${at}/`}node_modules/${name}`;
        if (placement.has(nested))
          throw new LockfileError(`cannot place ${target} at ${nested}: already taken`);
        placement.set(nested, target);
        changed = true;
      }
    }
    if (!changed) break;
  }

  // 4. Keep only what the root reaches through the new tree; compute npm's flags there.
  const edgesAt = (at: string): { name: string; type: EdgeType; to: string | undefined }[] => {
    const logical = placement.get(at) ?? "";
    const entry = logical === workspace ? manifestEntry(manifest) : (source[logical] ?? {});
    return edgesOf(entry, at === "").map((edge) => ({ ...edge, to: resolveIn(placement, at, edge.name) }));
  };
  const flags = computeDepFlags("", edgesAt);

  const packages: Record<string, LockEntry> = { "": rootEntry(manifest) };
  for (const at of [...flags.keys()].filter((key) => key !== "").sort(compare)) {
    const logical = placement.get(at) ?? "";
    packages[at] = withFlags(source[logical] ?? {}, flags.get(at) ?? noFlags());
  }
  return { name: manifest.name, version: manifest.version, lockfileVersion: 3, requires: true, packages };
}

/**
 * npm's dependency flags over a tree (arborist's calc-dep-flags): a node is `dev` when only devDependencies of
 * the root reach it, `optional` when only optional edges do, `devOptional` when it is in either of those trees
 * but not needed by a production install, `peer` when only peer edges reach it. A nested node's physical
 * parents are at most as flagged as the node itself (they hold its folder). Unreached nodes are left out.
 */
export function computeDepFlags(
  root: string,
  edgesAt: (at: string) => readonly { type: EdgeType; to: string | undefined }[],
): Map<string, DepFlags> {
  const flags = new Map<string, DepFlags>([[root, noFlags()]]);
  const queue = [root];
  const unset = (at: string, change: Partial<Record<keyof DepFlags, boolean>>): void => {
    let node = flags.get(at);
    if (node === undefined) {
      node = { dev: true, optional: true, devOptional: true, peer: true };
      flags.set(at, node);
      queue.push(at);
    }
    let changed = false;
    for (const flag of FLAG_FIELDS) {
      if (change[flag] === true && node[flag]) {
        node[flag] = false;
        changed = true;
      }
    }
    if (changed) {
      queue.push(at);
      const parent = physicalParent(at);
      if (parent !== undefined && parent !== root) unset(parent, change);
    }
  };
  while (queue.length > 0) {
    const at = queue.shift() ?? root;
    const node = flags.get(at) ?? noFlags();
    for (const edge of edgesAt(at)) {
      if (edge.to === undefined) continue;
      const dev = edge.type === "dev";
      const optional = edge.type === "optional" || edge.type === "peerOptional";
      const peer = edge.type === "peer" || edge.type === "peerOptional";
      const unsetDevOptional = !node.devOptional && !dev && !optional;
      unset(edge.to, {
        devOptional: unsetDevOptional,
        dev: unsetDevOptional || (!node.dev && !dev),
        optional: unsetDevOptional || (!node.optional && !optional),
        peer: !node.peer && !peer,
      });
    }
  }
  return flags;
}

/**
 * Recomputes the flags of a whole (root) lockfile with `computeDepFlags`, for checking that this module agrees
 * with npm: returns the entries whose recorded flags differ from the computed ones.
 */
export function flagMismatches(lock: Lockfile): string[] {
  const packages = lock.packages;
  const workspaces = new Set(
    Object.keys(packages).filter((key) => key !== "" && !key.includes("node_modules/")),
  );
  const edgesAt = (at: string) => {
    const entry = packages[at] ?? {};
    const edges = edgesOf(entry, at === "" || workspaces.has(at)).map((edge) => ({
      ...edge,
      to: resolveIn(packages, at, edge.name),
    }));
    if (at === "") for (const ws of workspaces) edges.push({ name: ws, type: "workspace", to: ws });
    return edges;
  };
  const flags = computeDepFlags("", edgesAt);
  const mismatches: string[] = [];
  for (const [at, entry] of Object.entries(packages)) {
    if (at === "" || entry.link === true) continue;
    const computed = flags.get(at);
    if (computed === undefined) {
      mismatches.push(`${at}: not reachable from the root`);
      continue;
    }
    const expected = lockFlags(computed);
    for (const flag of FLAG_FIELDS) {
      if ((entry[flag] === true) !== (expected[flag] === true))
        mismatches.push(
          `${at}: ${flag} is ${String(entry[flag] === true)}, computed ${String(expected[flag] === true)}`,
        );
    }
  }
  return mismatches;
}

/** Where Node (and npm) finds package `name` when required from the package at `from`. */
export function resolveIn(
  tree: ReadonlyMap<string, unknown> | Readonly<Record<string, LockEntry>>,
  from: string,
  name: string,
): string | undefined {
  const has = (key: string) => (tree instanceof Map ? tree.has(key) : Object.hasOwn(tree, key));
  for (let dir: string | undefined = from; dir !== undefined; dir = physicalParent(dir)) {
    const candidate = `${dir === "" ? "" : `${dir}/`}node_modules/${name}`;
    if (has(candidate)) {
      const entry = tree instanceof Map ? undefined : (tree as Record<string, LockEntry>)[candidate];
      if (entry?.link === true && typeof entry.resolved === "string") return entry.resolved;
      return candidate;
    }
  }
  return undefined;
}

/** The folder whose node_modules holds `at`: `a/node_modules/b` -> `a`, `node_modules/a` or a workspace -> root. */
function physicalParent(at: string): string | undefined {
  if (at === "") return undefined;
  const nested = at.lastIndexOf("/node_modules/");
  return nested === -1 ? "" : at.slice(0, nested);
}

function edgesOf(entry: LockEntry | Manifest, top: boolean): Edge[] {
  // Later kinds replace earlier ones for the same name, as npm does: a dependency listed both as optional and
  // regular is optional; devDependencies of the top package only count where nothing else lists the name.
  const edges = new Map<string, EdgeType>();
  const meta = entry.peerDependenciesMeta ?? {};
  for (const name of Object.keys(entry.peerDependencies ?? {}))
    edges.set(name, meta[name]?.optional === true ? "peerOptional" : "peer");
  for (const name of Object.keys(entry.dependencies ?? {})) edges.set(name, "prod");
  for (const name of Object.keys(entry.optionalDependencies ?? {})) edges.set(name, "optional");
  if (top)
    for (const name of Object.keys(entry.devDependencies ?? {})) if (!edges.has(name)) edges.set(name, "dev");
  return [...edges.entries()].map(([name, type]) => ({ name, type }));
}

function manifestEntry(manifest: Manifest): LockEntry {
  return {
    dependencies: manifest.dependencies,
    devDependencies: manifest.devDependencies,
    optionalDependencies: manifest.optionalDependencies,
    peerDependencies: manifest.peerDependencies,
    peerDependenciesMeta: manifest.peerDependenciesMeta,
  };
}

function rootEntry(manifest: Manifest): LockEntry {
  const entry: Record<string, unknown> = {};
  for (const field of ROOT_FIELDS) if (manifest[field] !== undefined) entry[field] = manifest[field];
  return entry;
}

function noFlags(): DepFlags {
  return { dev: false, optional: false, devOptional: false, peer: false };
}

function lockFlags(flags: DepFlags): DepFlags {
  return {
    dev: flags.dev,
    optional: flags.optional,
    // npm keeps devOptional only for nodes in both trees' overlap, not for plain dev or optional ones.
    devOptional: flags.devOptional && !flags.dev && !flags.optional,
    peer: flags.peer,
  };
}

function withFlags(entry: LockEntry, flags: DepFlags): LockEntry {
  const out: Record<string, unknown> = {};
  const recorded = lockFlags(flags);
  const head = ["version", "resolved", "integrity", "link"];
  for (const field of head) if (entry[field] !== undefined) out[field] = entry[field];
  for (const flag of FLAG_FIELDS) if (recorded[flag] === true) out[flag] = true;
  for (const [field, value] of Object.entries(entry)) {
    if (!head.includes(field) && !(FLAG_FIELDS as readonly string[]).includes(field)) out[field] = value;
  }
  return out;
}

function sameDeps(a: DepMap | undefined, b: DepMap | undefined): boolean {
  const left = Object.entries(a ?? {}).sort(([x], [y]) => compare(x, y));
  const right = Object.entries(b ?? {}).sort(([x], [y]) => compare(x, y));
  return JSON.stringify(left) === JSON.stringify(right);
}

function compare(a: string, b: string): number {
  return a.localeCompare(b, "en");
}

/** registry-app's folder, the repository root and the file paths the command works on. */
export function workspacePaths(appDir: string = path.resolve(__dirname, "..")) {
  const root = path.resolve(appDir, "..");
  return {
    appDir,
    root,
    workspace: path.relative(root, appDir).split(path.sep).join("/"),
    rootLock: path.join(root, "package-lock.json"),
    manifest: path.join(appDir, "package.json"),
    lock: path.join(appDir, "package-lock.json"),
  };
}

/** The lockfile text `npm run lockfile` writes for the workspace at `appDir`. */
export function renderWorkspaceLockfile(appDir?: string): string {
  const paths = workspacePaths(appDir);
  const rootLock = JSON.parse(fs.readFileSync(paths.rootLock, "utf8")) as Lockfile;
  const manifest = JSON.parse(fs.readFileSync(paths.manifest, "utf8")) as Manifest;
  return `${JSON.stringify(deriveWorkspaceLockfile(rootLock, paths.workspace, manifest), null, 2)}\n`;
}

function main(argv: readonly string[]): number {
  const paths = workspacePaths();
  const expected = renderWorkspaceLockfile();
  const current = fs.existsSync(paths.lock) ? fs.readFileSync(paths.lock, "utf8") : undefined;
  const relative = path.relative(process.cwd(), paths.lock);
  if (argv.includes("--check")) {
    if (current === expected) return 0;
    process.stderr.write(`${relative} is stale; run 'npm run lockfile -w registry-app'\n`);
    return 1;
  }
  if (current !== expected) fs.writeFileSync(paths.lock, expected);
  process.stdout.write(`${relative} ${current === expected ? "is up to date" : "written"}\n`);
  return 0;
}

if (require.main === module) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  }
}
