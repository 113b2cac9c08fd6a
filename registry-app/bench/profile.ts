import fs from "node:fs";
import path from "node:path";

/** The parts of a V8 .cpuprofile (node --cpu-prof) this summary reads. */
interface CpuProfile {
  nodes: Array<{
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    children?: number[];
  }>;
  samples: number[];
  timeDeltas: number[];
}

/** "function file:line", with paths shortened to the package or the app's own file. */
function frameName(frame: CpuProfile["nodes"][number]["callFrame"]): string {
  const file = frame.url.replace(/^file:\/\//, "");
  const short = file.includes("node_modules/")
    ? file.slice(file.lastIndexOf("node_modules/") + "node_modules/".length)
    : file.includes("/registry-app/")
      ? file.slice(file.indexOf("/registry-app/") + 1)
      : file;
  return `${frame.functionName || "(anonymous)"} ${short}${short ? `:${frame.lineNumber + 1}` : ""}`;
}

/** Self and inclusive time per function of a profile, the top `limit` of each, in percent of samples. */
export function summarise(file: string, limit = 30): string {
  const profile = JSON.parse(fs.readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, index) => {
    const weight = profile.timeDeltas[index] ?? 0;
    total += weight;
    const node = byId.get(id);
    if (node === undefined) return;
    const name = frameName(node.callFrame);
    self.set(name, (self.get(name) ?? 0) + weight);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at);
      if (frame === undefined) break;
      const key = frameName(frame.callFrame);
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + weight);
    }
  });
  const top = (map: Map<string, number>) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, limit)
      .map(([name, time]) => `${((100 * time) / total).toFixed(1).padStart(5)}%  ${name}`)
      .join("\n");
  return `${path.basename(file)}: ${(total / 1e6).toFixed(1)} s sampled\n\nself time:\n${top(self)}\n\ninclusive time:\n${top(inclusive)}\n`;
}

if (require.main === module) {
  const [file, limit] = process.argv.slice(2);
  if (file === undefined) {
    process.stderr.write("usage: tsx bench/profile.ts <file.cpuprofile> [top]\n");
    process.exit(2);
  }
  process.stdout.write(summarise(file, Number(limit ?? 30)));
}
