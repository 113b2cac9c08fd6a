// In `pulumi preview`, values produced by @pulumi/random and @pulumi/tls are unknown. A real engine showed the
// secrets policy aborting on them ("can't run policy ... during preview"); every policy must now run over a
// preview-shaped stack and say what it could not check.
import assert from "node:assert/strict";
import { K8S } from "../../policies/src/core/kubernetes";
import { PROXY_TARGET_KEY, UNKNOWN_MARKERS } from "../../policies/src/core/values";
import { secretDataSource } from "../../policies/src/secrets";
import { stackNames } from "../support/program";
import {
  checkResource,
  clone,
  evaluateStack,
  packConfig,
  resource,
  stackResources,
  type Props,
} from "./support";

const unknownStringValue = UNKNOWN_MARKERS.unknownStringValue;

/** Replaces every value a generator produced under mocks (`test-random-…`) and all Secret data with the marker. */
function asInPreview(value: unknown, inSecretData = false): unknown {
  if (typeof value === "string")
    return inSecretData || value.startsWith("test-random-") ? unknownStringValue : value;
  if (Array.isArray(value)) return value.map((v) => asInPreview(v, inSecretData));
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, asInPreview(v, inSecretData)]));
}

describe("policies in preview: values unknown until update", function () {
  this.timeout(120_000);

  it("uses the markers and proxy key the installed @pulumi/policy uses", () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const proxy = require("@pulumi/policy/proxy") as Record<string, unknown>;
    for (const [name, value] of Object.entries(UNKNOWN_MARKERS)) assert.equal(proxy[name], value, name);
    assert.equal(proxy.getSpecialProxyTarget, PROXY_TARGET_KEY);
  });

  it("checks the known keys of a Secret and names the unknown ones when nothing is known", () => {
    const secret = (stringData: Props) =>
      resource(K8S.secret, "s", { metadata: { name: "s", namespace: "ns" }, stringData });
    const allUnknown = checkResource(secretDataSource, secret({ password: unknownStringValue }));
    assert.deepEqual(allUnknown.messages, []);
    assert.match(allUnknown.notApplicable ?? "", /keys password unknown until update/);
    const wholeMap = checkResource(
      secretDataSource,
      resource(K8S.secret, "s", { metadata: { name: "s" }, data: unknownStringValue }),
    );
    assert.match(wholeMap.notApplicable ?? "", /its data unknown until update/);
    const mixed = checkResource(
      secretDataSource,
      secret({ password: unknownStringValue, token: "changeme" }),
    );
    assert.deepEqual(mixed.messages, ['Secret ns/s key token holds the placeholder "changeme"']);
  });

  for (const stack of stackNames) {
    it(`${stack}: every policy runs over the preview-shaped stack, none aborts on an unknown value`, async () => {
      const resources = clone(await stackResources(stack)).map((r) => ({
        ...r,
        props: (r.type === K8S.secret
          ? {
              ...r.props,
              ...(asInPreview({ data: r.props.data, stringData: r.props.stringData }, true) as Props),
            }
          : asInPreview(r.props)) as Props,
      }));
      const outcomes = evaluateStack(resources, packConfig(stack));
      const secrets = outcomes.find((o) => o.policy === "secrets-kubernetes-secret-source");
      if (stack === "local") {
        assert.ok(secrets && secrets.notApplicable > 0, "no Secret was reported as unknown until update");
        for (const reason of secrets.notApplicableReasons) assert.match(reason, /unknown until update/);
      } else {
        // GKE stacks write no Secret themselves: every one comes from Secret Manager through an ExternalSecret.
        assert.deepEqual(
          resources.filter((r) => r.type === K8S.secret).map((r) => r.name),
          [],
        );
      }
      const mandatory = outcomes.flatMap((o) => o.findings.filter((f) => f.level === "mandatory"));
      assert.deepEqual(mandatory, []);
    });
  }
});
