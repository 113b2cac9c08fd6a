// Under the cloud stacks every image a node pulls comes through the stack's Artifact Registry mirrors: not only the
// containers the policy pack judges, but also images that operators are told to run through an environment variable,
// an argument or a custom resource (CloudNativePG's operand and bootstrap images, the Barman Cloud sidecar, K8up's
// backup pods, cert-manager's ACME solver, the NGINX data plane). Every string of every object the program and its
// charts send to the cluster is scanned for an image reference on an upstream registry.
import { strict as assert } from "node:assert";
import * as path from "node:path";
import { mirrorFor } from "../../infra/lib/mirror";
import { stackConfig, type StackName } from "../support/program";
import { requireSharedCharts, requireToolchain } from "./fixtures";
import { chartStack, clusterObjects } from "./stack";

// Registries nodes could pull from directly: the mirrored upstreams and the other public ones the project knows.
const UPSTREAM_IMAGE =
  /(?:^|[\s="'(,])((?:docker\.io|quay\.io|ghcr\.io|registry\.k8s\.io|gcr\.io|registry\.access\.redhat\.com|registry\.redhat\.io)\/[a-z0-9][a-z0-9._/-]*(?::[\w][\w.-]{0,127})?(?:@sha256:[0-9a-f]{64})?)/g;

/** Every string below `value`, with its JSON path. */
function* strings(value: unknown, at: string): Generator<[string, string]> {
  if (typeof value === "string") yield [at, value];
  else if (Array.isArray(value)) for (const [i, item] of value.entries()) yield* strings(item, `${at}[${i}]`);
  else if (value !== null && typeof value === "object")
    for (const [key, item] of Object.entries(value)) yield* strings(item, `${at}.${key}`);
}

describe("charts: every image of the cloud stacks comes through the stack's mirror", function () {
  this.timeout(900_000);
  let helm = "";
  before(function () {
    requireSharedCharts(this);
    helm = path.join(requireToolchain(this), "helm");
  });

  for (const stack of ["staging", "production"] as const satisfies readonly StackName[]) {
    it(`${stack}: no object names an image on an upstream registry, in any field, argument or variable`, async () => {
      const config = stackConfig(stack);
      const base = mirrorFor(config["gcp:project"]!, config["gcp:region"]!).base;
      const found: string[] = [];
      let mirrored = 0;
      for (const { source, object } of clusterObjects(await chartStack(stack, helm))) {
        // CRD schemas describe images in prose and examples, and the guardrails' CEL normalizes Docker Hub names
        // (docker.io/library/); neither is ever pulled.
        if (object.kind === "CustomResourceDefinition" || object.kind === "ValidatingAdmissionPolicy")
          continue;
        for (const [at, text] of strings(object, "")) {
          for (const match of text.matchAll(UPSTREAM_IMAGE))
            found.push(`${source}: ${object.kind} ${object.metadata.name ?? ""}${at}: ${match[1]}`);
          if (text.includes(`${base}/`)) mirrored++;
        }
      }
      console.log(`      ${stack}: ${mirrored} strings name the mirror ${base}, ${found.length} an upstream`);
      assert.deepEqual(found, []);
      assert.ok(mirrored >= 20, `only ${mirrored} strings name the mirror ${base}`);
    });
  }
});
