import { z } from "zod";
import { ProblemError, type FieldProblem } from "../../errors";
import type { RegistryPermission } from "../types";

/** What a successful login proves: who, by which method, and which names it may publish/edit. */
export interface Grant {
  method: string;
  subject: string;
  permissions: RegistryPermission[];
}

/** One POST /auth/<path> login method. */
export interface LoginMethod {
  path: string;
  exchange(body: unknown): Promise<Grant>;
}

/** Validates a request body with zod; 400 naming each bad field, nothing else happens. */
export function parseBody<T extends z.ZodType>(schema: T, body: unknown): z.output<T> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const errors: FieldProblem[] = result.error.issues.map((issue) => ({
    location: ["body", ...issue.path.map(String)].join("."),
    message: issue.message,
  }));
  throw new ProblemError(
    400,
    "Bad Request",
    `Invalid request body: ${errors.map((e) => `${e.location}: ${e.message}`).join("; ")}`,
    { errors },
  );
}

export function publish(resource: string): RegistryPermission {
  return { action: "publish", resource };
}

export function edit(resource: string): RegistryPermission {
  return { action: "edit", resource };
}
