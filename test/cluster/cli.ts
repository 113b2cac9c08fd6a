// `npm run cluster:up` / `npm run cluster:down`: a real control plane for hands-on work and for the tests that use
// KUBECONFIG, kept in .cluster/ (git-ignored). Both are idempotent and leave no process behind on down.
import * as fs from "node:fs";
import * as path from "node:path";
import { repoRoot } from "../support/program";
import { ControlPlaneError, killRecorded, startControlPlane, toolchainDir } from "./control-plane";
import { KubeClient } from "./kube-client";

const CLUSTER_DIR = path.join(repoRoot, ".cluster");
const KUBECONFIG = path.join(CLUSTER_DIR, "kubeconfig");

function recordedPids(): number[] {
  const file = path.join(CLUSTER_DIR, "pids");
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, "utf8")
    .split("\n")
    .map((line) => Number(line.split(" ")[0]))
    .filter((pid) => Number.isInteger(pid) && pid > 0);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function healthy(): Promise<boolean> {
  if (!fs.existsSync(KUBECONFIG)) return false;
  const client = KubeClient.fromKubeconfig(KUBECONFIG);
  try {
    return (await client.raw("GET", "/readyz")).status === 200;
  } catch {
    return false;
  } finally {
    client.close();
  }
}

async function up(): Promise<void> {
  const pids = recordedPids();
  if (pids.length > 0 && pids.every(alive) && (await healthy())) {
    console.log(
      `the control plane is already running; KUBECONFIG=${path.relative(process.cwd(), KUBECONFIG)}`,
    );
    return;
  }
  // A half-dead or stale control plane: stop what is left and start over.
  await down(true);
  const binDir = toolchainDir();
  const started = Date.now();
  const plane = await startControlPlane({ dir: CLUSTER_DIR, binDir, detached: true });
  plane.client.close();
  console.log(
    `control plane ready in ${((Date.now() - started) / 1000).toFixed(1)} s at ${plane.server}\n` +
      `export KUBECONFIG=${path.relative(process.cwd(), KUBECONFIG)}   # logs in .cluster/logs/; npm run cluster:down stops it`,
  );
}

async function down(quiet = false): Promise<void> {
  const killed = await killRecorded(CLUSTER_DIR);
  fs.rmSync(CLUSTER_DIR, { recursive: true, force: true });
  if (!quiet)
    console.log(
      killed > 0 ? `stopped ${killed} processes and removed .cluster/` : "no control plane was running",
    );
}

async function main(): Promise<void> {
  const command = process.argv[2];
  if (command === "up") await up();
  else if (command === "down") await down();
  else throw new ControlPlaneError("usage: tsx test/cluster/cli.ts up|down");
}

main().catch((error: unknown) => {
  console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
