import type { Database, Queryable } from "./db";
import { nameLockPrelude } from "./servers";

/** What an administrator set for a server name; null keeps the publisher's values of each version. */
export interface OverrideValues {
  categories: string[] | null;
  tags: string[] | null;
}

export interface ClassificationOverride extends OverrideValues {
  /** RFC 3339, milliseconds, UTC. */
  updatedAt: string;
  updatedBy: string;
}

export interface AuditEntry {
  id: string;
  changedAt: string;
  actor: string;
  before: OverrideValues;
  after: OverrideValues;
}

export type OverrideOutcome =
  | { outcome: "not-found" }
  | { outcome: "unchanged"; override: ClassificationOverride | undefined }
  | { outcome: "changed"; override: ClassificationOverride | undefined; audit: AuditEntry };

const ISO = `'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'`;

interface OverrideRecord {
  categories: string[] | null;
  tags: string[] | null;
  updated_at: string;
  updated_by: string;
}

interface AuditRecord {
  id: string;
  changed_at: string;
  actor: string;
  before: OverrideValues;
  after: OverrideValues;
}

function toOverride(row: OverrideRecord | undefined): ClassificationOverride | undefined {
  return row === undefined
    ? undefined
    : { categories: row.categories, tags: row.tags, updatedAt: row.updated_at, updatedBy: row.updated_by };
}

function toAudit(row: AuditRecord): AuditEntry {
  return { id: row.id, changedAt: row.changed_at, actor: row.actor, before: row.before, after: row.after };
}

function sameList(a: string[] | null, b: string[] | null): boolean {
  if (a === null || b === null) return a === b;
  return a.length === b.length && a.every((value, index) => value === b[index]);
}

async function selectOverride(q: Queryable, name: string): Promise<ClassificationOverride | undefined> {
  const { rows } = await q.query<OverrideRecord>(
    `SELECT categories, tags, to_char(updated_at AT TIME ZONE 'UTC', ${ISO}) AS updated_at, updated_by
     FROM server_classifications WHERE name = $1`,
    [name],
  );
  return toOverride(rows[0]);
}

/** Administrators' overrides of categories and tags per server name, and their audit trail. */
export class ClassificationStore {
  constructor(private readonly db: Database) {}

  /** The override of a name (if any) and every change of it, oldest first; undefined for an unknown name. */
  async read(
    name: string,
  ): Promise<{ override: ClassificationOverride | undefined; audit: AuditEntry[] } | undefined> {
    const [exists, override, audit] = await Promise.all([
      this.db.query("SELECT 1 FROM server_versions WHERE name = $1 LIMIT 1", [name]),
      selectOverride(this.db, name),
      this.db.query<AuditRecord>(
        `SELECT id::text AS id, to_char(changed_at AT TIME ZONE 'UTC', ${ISO}) AS changed_at, actor, before, after
         FROM server_classification_audit WHERE name = $1 ORDER BY id`,
        [name],
      ),
    ]);
    if (exists.rowCount === 0) return undefined;
    return { override, audit: audit.rows.map(toAudit) };
  }

  /**
   * Sets the override of a name (both null: removes it) under the name's write lock, so publishes of
   * the name wait: the audit row, the override and every version's effective classification change
   * together. Versions count as updated (updated_at), so `updated_since` readers see the change.
   */
  set(name: string, values: OverrideValues, actor: string): Promise<OverrideOutcome> {
    return this.db.transaction(
      async (tx): Promise<OverrideOutcome> => {
        const exists = await tx.query("SELECT 1 FROM server_versions WHERE name = $1 LIMIT 1", [name]);
        if (exists.rowCount === 0) return { outcome: "not-found" };
        const current = await selectOverride(tx, name);
        const before: OverrideValues = {
          categories: current?.categories ?? null,
          tags: current?.tags ?? null,
        };
        if (sameList(before.categories, values.categories) && sameList(before.tags, values.tags)) {
          return { outcome: "unchanged", override: current };
        }
        const { rows } = await tx.query<{ at: Date }>(
          "SELECT date_trunc('milliseconds', clock_timestamp()) AS at",
        );
        const at = (rows[0] as { at: Date }).at;
        if (values.categories === null && values.tags === null) {
          await tx.query("DELETE FROM server_classifications WHERE name = $1", [name]);
        } else {
          await tx.query(
            `INSERT INTO server_classifications (name, categories, tags, updated_at, updated_by)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (name) DO UPDATE SET categories = EXCLUDED.categories, tags = EXCLUDED.tags,
               updated_at = EXCLUDED.updated_at, updated_by = EXCLUDED.updated_by`,
            [name, values.categories, values.tags, at, actor],
          );
        }
        const audit = await tx.query<AuditRecord>(
          `INSERT INTO server_classification_audit (name, changed_at, actor, before, after)
           VALUES ($1, $2, $3, $4, $5)
           RETURNING id::text AS id, to_char(changed_at AT TIME ZONE 'UTC', ${ISO}) AS changed_at, actor, before, after`,
          [name, at, actor, JSON.stringify(before), JSON.stringify(values)],
        );
        // Setting the document to itself runs migration 5's trigger, the one place effective values are computed.
        await tx.query("UPDATE server_versions SET document = document, updated_at = $2 WHERE name = $1", [
          name,
          at,
        ]);
        return {
          outcome: "changed",
          override: await selectOverride(tx, name),
          audit: toAudit(audit.rows[0] as AuditRecord),
        };
      },
      { prelude: nameLockPrelude(name) },
    );
  }
}
