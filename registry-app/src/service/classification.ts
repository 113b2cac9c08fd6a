import { assertAdministrator, type RegistryClaims } from "../auth";
import type { Category, Taxonomy } from "../classification";
import { badRequest, ProblemError, type FieldProblem } from "../errors";
import type { AuditEntry, ClassificationOverride, ClassificationStore, OverrideValues } from "../store";

/** PUT body: a list sets that part for every version of the name; null or absent keeps the publisher's. */
export interface ClassificationUpdate {
  categories?: string[] | null;
  tags?: string[] | null;
}

export interface ClassificationView {
  name: string;
  override: ClassificationOverride | null;
  /** Every change of the override, oldest first. */
  audit: AuditEntry[];
}

/** 400 naming every repeated value of a list. */
function duplicates(field: string, values: readonly string[]): FieldProblem[] {
  const first = new Map<string, number>();
  const errors: FieldProblem[] = [];
  values.forEach((value, index) => {
    const earlier = first.get(value);
    if (earlier === undefined) first.set(value, index);
    else
      errors.push({
        location: `body.${field}[${index}]`,
        message: `repeats ${field}[${earlier}] ("${value}")`,
      });
  });
  return errors;
}

/** The taxonomy, and administrators' curation of categories and tags per server name. */
export class ClassificationService {
  constructor(
    private readonly store: ClassificationStore,
    readonly taxonomy: Taxonomy,
  ) {}

  /** GET /categories. */
  categories(): readonly Category[] {
    return this.taxonomy.categories;
  }

  /** GET /servers/{name}/classification: the override (if any) and its audit trail. */
  async get(name: string): Promise<ClassificationView> {
    const found = await this.store.read(name);
    if (found === undefined) throw new ProblemError(404, "Not Found", `Server "${name}" was not found.`);
    return { name, override: found.override ?? null, audit: found.audit };
  }

  /**
   * PUT /servers/{name}/classification (administrators only): replaces the override of every version
   * of the name, present and future; `{}` removes it. A change is audited; repeating the current
   * override changes nothing and records nothing.
   */
  async set(caller: RegistryClaims, name: string, update: ClassificationUpdate): Promise<ClassificationView> {
    assertAdministrator(caller, "set the categories and tags of a server");
    const values: OverrideValues = { categories: update.categories ?? null, tags: update.tags ?? null };
    const errors: FieldProblem[] = [];
    (values.categories ?? []).forEach((id, index) => {
      if (!this.taxonomy.has(id))
        errors.push({
          location: `body.categories[${index}]`,
          message: `"${id}" is not a category of this registry (GET /v0.1/categories lists them)`,
        });
    });
    errors.push(
      ...duplicates("categories", values.categories ?? []),
      ...duplicates("tags", values.tags ?? []),
    );
    if (errors.length > 0) throw badRequest(errors);
    const outcome = await this.store.set(name, values, `${caller.auth_method}:${caller.auth_method_sub}`);
    if (outcome.outcome === "not-found")
      throw new ProblemError(404, "Not Found", `Server "${name}" was not found.`);
    return this.get(name);
  }
}
