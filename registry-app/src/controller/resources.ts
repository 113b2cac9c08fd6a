// The Kubernetes resources of the controller: MCPServer (namespaced; its spec is a server.json document) and
// MCPNamespaceGrant (cluster-scoped; which server names a namespace may publish). The zod schemas below are the
// one source of the status and grant shapes: the CRDs are generated from them (src/controller/crd).
import { z } from "zod";
import type { ServerJson } from "../schema";

export const GROUP = "mcp-registry.io";
export const VERSION = "v1alpha1";
export const API_VERSION = `${GROUP}/${VERSION}`;

export const MCPSERVER = { kind: "MCPServer", plural: "mcpservers", singular: "mcpserver" } as const;
export const GRANT = {
  kind: "MCPNamespaceGrant",
  plural: "mcpnamespacegrants",
  singular: "mcpnamespacegrant",
} as const;

/** The finalizer that holds a deleted MCPServer until its registry entry is retired. */
export const FINALIZER = `${GROUP}/retire-on-delete`;
/** `Deprecate` (default) or `Delete`: what deleting the MCPServer does to its entry in the registry. */
export const DELETION_POLICY_ANNOTATION = `${GROUP}/deletion-policy`;

export const CONDITION_TYPES = ["Published", "Ready"] as const;
export type ConditionType = (typeof CONDITION_TYPES)[number];

/** Why a reconciliation did not publish; each is a condition reason and a failure label of the metrics. */
export const FAILURE_REASONS = ["Invalid", "Forbidden", "Conflict", "RegistryUnavailable"] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];
export type ConditionReason = FailureReason | "Published" | "Retiring";

/** Kubernetes label value / namespace name: an RFC 1123 label. */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** A registry permission pattern (as in MCP_REGISTRY_*_PERMISSIONS): `*`, `prefix*` or an exact server name. */
export const NAME_PATTERN = /^(\*|[A-Za-z0-9][A-Za-z0-9._/-]*\*?)$/;

export const conditionSchema = z.object({
  type: z.enum(CONDITION_TYPES),
  status: z.enum(["True", "False", "Unknown"]),
  reason: z.string().min(1).max(1024).describe("One word: Published, Invalid, Forbidden, Conflict, ..."),
  message: z.string().max(32768).describe("What happened, for people."),
  lastTransitionTime: z.iso.datetime().describe("When status last changed."),
  observedGeneration: z.int().min(0).optional(),
});
export type Condition = z.infer<typeof conditionSchema>;

export const mcpServerStatusSchema = z
  .object({
    conditions: z.array(conditionSchema).optional(),
    observedGeneration: z.int().min(0).optional().describe("The metadata.generation last reconciled."),
    publishedVersion: z.string().optional().describe("The version of this server last published."),
    registryUrl: z.string().optional().describe("Where the registry serves the published version."),
  })
  .describe("What the controller last did with this server (written by the controller only).");
export type MCPServerStatus = z.infer<typeof mcpServerStatusSchema>;

export const grantSpecSchema = z
  .object({
    namespaces: z
      .array(z.string().regex(DNS_LABEL, { error: "must be a namespace name (RFC 1123 label)" }).max(63))
      .min(1)
      .max(256)
      .describe("Namespaces whose MCPServers may publish the names below."),
    patterns: z
      .array(
        z.string().max(200).regex(NAME_PATTERN, { error: 'must be "*", "prefix*" or an exact server name' }),
      )
      .min(1)
      .max(256)
      .describe('Server names: "*", a prefix ending in * (com.acme.payments/*) or an exact name.'),
    description: z.string().max(1024).optional().describe("Who asked for this grant, and why."),
  })
  .describe("Server names the listed namespaces may publish through MCPServer resources.");
export type GrantSpec = z.infer<typeof grantSpecSchema>;

export interface ObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  finalizers?: string[];
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
}

/** An MCPServer as the API server stores it: the spec is whatever passed admission, so it is validated again. */
export interface MCPServerObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec?: Partial<ServerJson> & Record<string, unknown>;
  status?: MCPServerStatus;
}

export interface GrantObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec?: GrantSpec;
}

/** `namespace/name`, the queue key of a namespaced object. */
export function objectKey(metadata: ObjectMeta): string {
  return `${metadata.namespace ?? ""}/${metadata.name ?? ""}`;
}
