import type { Migration } from "./migrations";
import { REGISTRY_PUBLISH_V3 } from "./publish-function";

/** `text` with its one occurrence of `from` replaced; anything else means the source moved under us. */
function replacedOnce(text: string, from: string, to: string): string {
  const at = text.indexOf(from);
  if (at < 0 || text.includes(from, at + 1)) {
    throw new Error(
      `migration 6 expects exactly one ${JSON.stringify(from)} in migration 3's registry_publish`,
    );
  }
  return text.slice(0, at) + to + text.slice(at + from.length);
}

/** registry_publish reading the cap from server_version_counts; every other line as migration 3 wrote it. */
const REGISTRY_PUBLISH_COUNTED = replacedOnce(
  replacedOnce(REGISTRY_PUBLISH_V3, "CREATE FUNCTION", "CREATE OR REPLACE FUNCTION"),
  "(SELECT count(*) FROM server_versions s WHERE s.name = p_name)",
  "coalesce((SELECT c.versions FROM server_version_counts c WHERE c.name = p_name), 0)",
);

/**
 * Migration 6: the version cap reads a count kept per name instead of counting the name's versions
 * on every publish. That count walked every index entry of the name and, on pages not yet
 * all-visible, the heap row behind each: its cost grew with the versions a name holds and took most
 * of a publish's PostgreSQL time once names held hundreds (BENCHMARKS.md, fourth session).
 */
export const VERSION_COUNT_MIGRATION: Migration = {
  version: 6,
  name: "versions per name kept by a trigger; the version cap reads them",
  sql: `
-- Every version a name holds, deleted ones included (the cap counts them; versions are never deleted).
CREATE TABLE server_version_counts (
  name     text COLLATE "C" PRIMARY KEY,
  versions integer NOT NULL
);

-- Inserts, and a version moved to another name by hand (UPDATE OF name).
CREATE FUNCTION server_versions_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    IF NEW.name = OLD.name THEN
      RETURN NULL;
    END IF;
    UPDATE server_version_counts SET versions = versions - 1 WHERE name = OLD.name;
  END IF;
  INSERT INTO server_version_counts AS c (name, versions) VALUES (NEW.name, 1)
    ON CONFLICT (name) DO UPDATE SET versions = c.versions + 1;
  RETURN NULL;
END $$;

-- The trigger before the counts: CREATE TRIGGER waits for the writers in flight and keeps new ones
-- waiting until this migration commits, so the counts below miss no version and count none twice.
CREATE TRIGGER server_versions_count AFTER INSERT OR UPDATE OF name ON server_versions
  FOR EACH ROW EXECUTE FUNCTION server_versions_count();
INSERT INTO server_version_counts (name, versions) SELECT name, count(*) FROM server_versions GROUP BY name;

${REGISTRY_PUBLISH_COUNTED}
`,
};
