// The reviewed exemptions allowlist. Each entry lets one resource break one policy, for a stated reason;
// the violation is still reported (as advisory, quoting the entry) and every entry is listed in REPORT.md.
// Changes to this file need a security reviewer's approval (CODEOWNERS).
import type { Exemption } from "./src/core/exemption";

export const exemptions: readonly Exemption[] = [];
