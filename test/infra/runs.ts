// One program run per stack for all infra tests (mocha loads every file into one process), plus small finders.
import { runProgram, type CapturedResource, type ProgramRun, type StackName } from "../support/program";

export interface TimedRun extends ProgramRun {
  /** CPU milliseconds (user + system) this process spent on the run: what the program costs, whatever else runs. */
  cpuMs: number;
}

const runs = new Map<StackName, Promise<TimedRun>>();

/** The program's run for a stack's own file, done once and shared by every infra test file. */
export function stackRun(stack: StackName): Promise<TimedRun> {
  let run = runs.get(stack);
  if (run === undefined) {
    const before = process.cpuUsage();
    run = runProgram(stack).then((result) => {
      const used = process.cpuUsage(before);
      return { ...result, cpuMs: (used.user + used.system) / 1000 };
    });
    runs.set(stack, run);
  }
  return run;
}

/** Loads the SDKs the program imports, so a stack's measured time is the program's own. */
export function warmUpSdks(): void {
  for (const sdk of ["@pulumi/kubernetes", "@pulumi/gcp", "@pulumi/random", "@pulumi/tls", "@pulumi/command"])
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require(sdk);
}

/** Kubernetes objects of a kind (any API group), optionally in one namespace. */
export function objects(
  resources: readonly CapturedResource[],
  kind: string,
  namespace?: string,
): CapturedResource[] {
  return resources.filter(
    (r) =>
      r.type.startsWith("kubernetes:") &&
      r.type.endsWith(`:${kind}`) &&
      (namespace === undefined || r.inputs.metadata?.namespace === namespace),
  );
}

/** Exactly one object of a kind with this `metadata.name` (and namespace); throws listing what exists. */
export function object(
  resources: readonly CapturedResource[],
  kind: string,
  name: string,
  namespace?: string,
): CapturedResource {
  const found = objects(resources, kind, namespace).filter((r) => r.inputs.metadata?.name === name);
  if (found.length !== 1) {
    const names = objects(resources, kind, namespace).map(
      (r) => `${r.inputs.metadata?.namespace}/${r.inputs.metadata?.name}`,
    );
    throw new Error(
      `expected one ${kind} ${namespace ?? "*"}/${name}, found ${found.length} among: ${names.join(", ")}`,
    );
  }
  return found[0]!;
}

/** Helm releases and charts by release name (`name` input) or chart name. */
export function helmRelease(resources: readonly CapturedResource[], releaseName: string): CapturedResource {
  const found = resources.filter(
    (r) => r.type === "kubernetes:helm.sh/v3:Release" && r.inputs.name === releaseName,
  );
  if (found.length !== 1) throw new Error(`expected one Helm release ${releaseName}, found ${found.length}`);
  return found[0]!;
}

/** Only the resources whose type starts with a provider prefix, e.g. `gcp:`. */
export function ofProvider(resources: readonly CapturedResource[], prefix: string): CapturedResource[] {
  return resources.filter((r) => r.type.startsWith(prefix));
}
