import os from "node:os";
import { parseStorableJson } from "../src/schema/storable";
import { loadDataset } from "./dataset";
import { median } from "./load";

/**
 * What the edge check of every JSON body costs (src/schema/storable.ts): strict UTF-8 decoding and the
 * walk over every string, key and number, against the plain decode-and-parse it replaces. Run with
 * `npx tsx bench/edge.ts`; BENCH_RUNS (default 5) runs, medians printed; BENCH_DATASET where ../shared is absent.
 */
const RUNS = Number(process.env.BENCH_RUNS ?? 5);

/** CPU microseconds per body (user + system): wall time on a shared, loaded machine mostly measures the queue. */
function timePerBody(bodies: Buffer[], parse: (body: Buffer) => unknown, minCpuMs = 500): number {
  let rounds = 0;
  const start = process.cpuUsage();
  let cpuUs = 0;
  while (cpuUs < minCpuMs * 1000) {
    for (const body of bodies) parse(body);
    rounds += 1;
    const used = process.cpuUsage(start);
    cpuUs = used.user + used.system;
  }
  return cpuUs / (rounds * bodies.length);
}

const plain = (body: Buffer) => JSON.parse(body.toString("utf8")) as unknown;
const edge = (body: Buffer) => parseStorableJson(body, JSON.parse);

const documents = loadDataset(process.env.BENCH_DATASET).map((document) =>
  Buffer.from(JSON.stringify(document), "utf8"),
);
// Near the 1 MiB body limit: a document whose publisher metadata holds many strings and keys.
const big = Buffer.from(
  JSON.stringify({
    name: "com.example/big",
    version: "1.0.0",
    description: "A large body",
    _meta: {
      "com.example/data": Array.from({ length: 12_000 }, (_, index) => ({
        key: `key-${index}`,
        text: `value ${index} with some text, é and 🦊`,
        n: index,
      })),
    },
  }),
  "utf8",
);
// The same size with one invalid byte in its last string: the slow path that locates it.
const invalid = Buffer.concat([
  big.subarray(0, big.length - 10),
  Buffer.from([0xff]),
  big.subarray(big.length - 10),
]);

const cases: Array<{ name: string; bodies: Buffer[]; parse: (body: Buffer) => unknown }> = [
  {
    name: `dataset documents (${documents.length}, median ${median(documents.map((d) => d.length))} B): JSON.parse`,
    bodies: documents,
    parse: plain,
  },
  { name: "dataset documents: edge (strict UTF-8 + walk)", bodies: documents, parse: edge },
  {
    name: `${(big.length / 1_048_576).toFixed(2)} MiB body, 36k strings: JSON.parse`,
    bodies: [big],
    parse: plain,
  },
  { name: `${(big.length / 1_048_576).toFixed(2)} MiB body: edge`, bodies: [big], parse: edge },
  {
    name: "same with one invalid byte: edge (refused, path located)",
    bodies: [invalid],
    parse: (body) => {
      try {
        return edge(body);
      } catch (error) {
        return error;
      }
    },
  },
];

console.log(
  `edge bench: ${RUNS} runs, load ${os
    .loadavg()
    .map((load) => load.toFixed(1))
    .join(" ")}, ${os.cpus().length} CPUs`,
);
for (const { name, bodies, parse } of cases) {
  const samples = Array.from({ length: RUNS }, () => timePerBody(bodies, parse));
  console.log(
    `  ${name}: median ${median(samples).toFixed(1)} µs per body (runs: ${samples.map((s) => s.toFixed(1)).join(", ")})`,
  );
}
