// The shape, validation and lookup of reviewed exemptions. The allowlist itself (policies/exemptions.ts) depends on
// this module for its types; this module never imports the list (policy.ts hands it in).

export interface Exemption {
  /** Stable identifier, quoted in the violation message and the report (EX-001, EX-002, ...). */
  readonly id: string;
  /** The policy being exempted. */
  readonly policy: string;
  /** Pulumi type token of the exempted resource, e.g. `kubernetes:apps/v1:DaemonSet`. */
  readonly resourceType: string;
  /**
   * Pulumi logical name of the exempted resource (the first argument of its constructor), or for an object a Helm
   * chart renders, `<release>:<Kind>:<namespace>/<name>` (test/charts/render.ts). A list exempts each one named,
   * for the same reason.
   */
  readonly resourceName: string | readonly string[];
  /** Why the exception is needed and what compensates for it. */
  readonly reason: string;
  readonly approvedBy: string;
  /** YYYY-MM-DD. */
  readonly approvedOn: string;
  /** YYYY-MM-DD; after this day the exemption stops applying and the violation is enforced again. */
  readonly expiresOn?: string;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** Checks the allowlist's shape; throws one message naming every bad field. */
export function validateExemptions(list: readonly Exemption[]): void {
  const problems: string[] = [];
  const ids = new Set<string>();
  list.forEach((exemption, i) => {
    const where = `exemptions[${i}]${exemption.id ? ` (${exemption.id})` : ""}`;
    for (const field of ["id", "policy", "resourceType", "reason", "approvedBy"] as const) {
      if (typeof exemption[field] !== "string" || exemption[field].trim() === "") {
        problems.push(`${where}.${field}: is required`);
      }
    }
    const names = namesOf(exemption);
    if (names.length === 0 || names.some((n) => typeof n !== "string" || n.trim() === ""))
      problems.push(`${where}.resourceName: is required (a name, or a list of names none of them empty)`);
    if (!DATE.test(exemption.approvedOn)) problems.push(`${where}.approvedOn: must be YYYY-MM-DD`);
    if (exemption.expiresOn !== undefined && !DATE.test(exemption.expiresOn)) {
      problems.push(`${where}.expiresOn: must be YYYY-MM-DD`);
    }
    if (ids.has(exemption.id)) problems.push(`${where}.id: duplicate id ${exemption.id}`);
    ids.add(exemption.id);
  });
  if (problems.length > 0) throw new Error(`invalid policy exemptions:\n  ${problems.join("\n  ")}`);
}

/** The resource names an exemption covers. */
export function namesOf(exemption: Exemption): readonly string[] {
  return typeof exemption.resourceName === "string" ? [exemption.resourceName] : exemption.resourceName;
}

/** The exemption covering this policy and resource, if any (expired ones included; see `isExpired`). */
export function exemptionFor(
  policy: string,
  resourceType: string,
  resourceName: string,
  list: readonly Exemption[],
): Exemption | undefined {
  return list.find(
    (e) => e.policy === policy && e.resourceType === resourceType && namesOf(e).includes(resourceName),
  );
}

export function isExpired(
  exemption: Exemption,
  today: string = new Date().toISOString().slice(0, 10),
): boolean {
  return exemption.expiresOn !== undefined && exemption.expiresOn < today;
}

export type Disposition =
  | { readonly exempted: true; readonly message: string; readonly exemption: Exemption }
  | { readonly exempted: false; readonly message: string };

/** How a finding is reported: downgraded and annotated when a live exemption covers it, annotated when expired. */
export function dispose(
  policy: string,
  resource: { readonly type: string; readonly name: string } | undefined,
  message: string,
  list: readonly Exemption[],
  today?: string,
): Disposition {
  const exemption =
    resource === undefined ? undefined : exemptionFor(policy, resource.type, resource.name, list);
  if (exemption === undefined) return { exempted: false, message };
  if (isExpired(exemption, today)) {
    return {
      exempted: false,
      message: `${message} (exemption ${exemption.id} expired on ${exemption.expiresOn})`,
    };
  }
  return {
    exempted: true,
    message: `exempted by ${exemption.id} (${exemption.reason}): ${message}`,
    exemption,
  };
}
