/**
 * Migration 5: categories, tags and the columns that filters and facets read. Kept apart from
 * migrations.ts so the schema history there stays a list of short entries.
 */
export const CLASSIFICATION_MIGRATION_SQL = `
-- The one normalisation of categories and tags (src/classification/labels.ts applies the same rule to
-- tell publishers what it changed): ASCII letters lower-cased, runs of anything else outside [a-z0-9]
-- one hyphen, hyphens trimmed; NULL when nothing or more than 32 characters remain. Spelled out
-- without ranges or lower(), so neither a collation nor a locale provider can change it.
CREATE FUNCTION registry_label(p_raw text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT CASE WHEN l = '' OR length(l) > 32 THEN NULL ELSE l END
  FROM (SELECT btrim(regexp_replace(
      translate(p_raw, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'),
      '[^abcdefghijklmnopqrstuvwxyz0123456789]+', '-', 'g'), '-') AS l) normalised
$$;

-- The distinct normalised labels of _meta["io.modelcontextprotocol.registry/publisher-provided"].<field>
-- in the publisher's order, at most p_max of them (NULL: all). Anything that is not an array of
-- strings counts as none: the document schema leaves that object free-form.
CREATE FUNCTION registry_publisher_labels(p_document jsonb, p_field text, p_max integer) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT coalesce(array_agg(label ORDER BY first), '{}')
  FROM (
    SELECT label, min(ordinal) AS first
    FROM (
      SELECT registry_label(item #>> '{}') AS label, ordinal
      FROM jsonb_array_elements(CASE
          WHEN jsonb_typeof(p_document -> '_meta' -> 'io.modelcontextprotocol.registry/publisher-provided' -> p_field) = 'array'
          THEN p_document -> '_meta' -> 'io.modelcontextprotocol.registry/publisher-provided' -> p_field
          ELSE '[]'::jsonb END) WITH ORDINALITY AS items(item, ordinal)
      WHERE jsonb_typeof(item) = 'string'
    ) labels
    WHERE label IS NOT NULL
    GROUP BY label
    ORDER BY first
    LIMIT p_max
  ) kept
$$;

-- What an administrator set for a server name (PUT /v0.1/servers/{name}/classification). A NULL
-- column keeps the publisher's values of each version; a row exists only while something is set.
CREATE TABLE server_classifications (
  name       text COLLATE "C" PRIMARY KEY,
  categories text[],
  tags       text[],
  updated_at timestamptz NOT NULL,
  updated_by text NOT NULL,
  CONSTRAINT server_classifications_something_set CHECK (categories IS NOT NULL OR tags IS NOT NULL)
);

-- Every change of an override: who, when, the override before and after. Never changed or deleted.
CREATE TABLE server_classification_audit (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name       text COLLATE "C" NOT NULL,
  changed_at timestamptz NOT NULL,
  actor      text NOT NULL,
  before     jsonb NOT NULL,
  after      jsonb NOT NULL
);
CREATE INDEX server_classification_audit_name ON server_classification_audit (name, id);
CREATE FUNCTION server_classification_audit_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the classification audit is append-only' USING ERRCODE = 'restrict_violation';
END $$;
CREATE TRIGGER server_classification_audit_no_change BEFORE UPDATE OR DELETE ON server_classification_audit
  FOR EACH ROW EXECUTE FUNCTION server_classification_audit_immutable();
CREATE TRIGGER server_classification_audit_no_truncate BEFORE TRUNCATE ON server_classification_audit
  FOR EACH STATEMENT EXECUTE FUNCTION server_classification_audit_immutable();

-- What filters and facets read, one value per row. categories holds every well-formed category the
-- publisher declared (or the administrator set): reads keep to the taxonomy's ids, so a category
-- added to the taxonomy later finds the versions that declared it without a reindex.
ALTER TABLE server_versions
  ADD COLUMN categories         text[]  NOT NULL DEFAULT '{}',
  ADD COLUMN tags               text[]  NOT NULL DEFAULT '{}',
  ADD COLUMN categories_curated boolean NOT NULL DEFAULT false,
  ADD COLUMN tags_curated       boolean NOT NULL DEFAULT false,
  ADD COLUMN registry_types     text[]  NOT NULL DEFAULT '{}',
  ADD COLUMN transports         text[]  NOT NULL DEFAULT '{}',
  ADD COLUMN has_remote         boolean NOT NULL DEFAULT false,
  ADD COLUMN facet_xid          xid8;

-- The transaction that last wrote each version. A reader that keeps the xmin of its last snapshot
-- re-reads exactly the versions that may have changed since (facet_xid >= that xmin): whatever
-- committed after that snapshot was in progress or not yet started then. The service's facet index
-- stays current this way with one small query per change, not a reload.
CREATE FUNCTION server_versions_stamp_xid() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.facet_xid := pg_current_xact_id();
  RETURN NEW;
END $$;
CREATE TRIGGER server_versions_stamp_xid BEFORE INSERT OR UPDATE ON server_versions
  FOR EACH ROW EXECUTE FUNCTION server_versions_stamp_xid();

-- On every insert and document change (publish, edit, import, sync, and the reclassification an
-- override runs under the name's lock): registry_publish stays as it is.
CREATE FUNCTION server_versions_classify() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  o_categories text[];
  o_tags text[];
  v_packages jsonb := CASE WHEN jsonb_typeof(NEW.document -> 'packages') = 'array'
    THEN NEW.document -> 'packages' ELSE '[]'::jsonb END;
  v_remotes jsonb := CASE WHEN jsonb_typeof(NEW.document -> 'remotes') = 'array'
    THEN NEW.document -> 'remotes' ELSE '[]'::jsonb END;
BEGIN
  SELECT c.categories, c.tags INTO o_categories, o_tags FROM server_classifications c WHERE c.name = NEW.name;
  NEW.categories := coalesce(o_categories, registry_publisher_labels(NEW.document, 'categories', NULL));
  NEW.tags := coalesce(o_tags, registry_publisher_labels(NEW.document, 'tags', 20));
  NEW.categories_curated := o_categories IS NOT NULL;
  NEW.tags_curated := o_tags IS NOT NULL;
  NEW.registry_types := ARRAY(
    SELECT DISTINCT p ->> 'registryType' FROM jsonb_array_elements(v_packages) p
    WHERE p ->> 'registryType' IS NOT NULL ORDER BY 1);
  NEW.transports := ARRAY(
    SELECT DISTINCT t FROM (
      SELECT p -> 'transport' ->> 'type' FROM jsonb_array_elements(v_packages) p
      UNION ALL SELECT r ->> 'type' FROM jsonb_array_elements(v_remotes) r
    ) types(t) WHERE t IS NOT NULL ORDER BY 1);
  NEW.has_remote := jsonb_array_length(v_remotes) > 0;
  RETURN NEW;
END $$;
CREATE TRIGGER server_versions_classify BEFORE INSERT OR UPDATE OF document ON server_versions
  FOR EACH ROW EXECUTE FUNCTION server_versions_classify();

-- Existing versions (a document set to itself runs the triggers; updated_at stays). The deferred
-- constraint triggers of migrations 1-4 fire at the end of this statement instead of at commit:
-- PostgreSQL refuses the ALTER TABLE and CREATE INDEX below while trigger events are pending.
SET CONSTRAINTS ALL IMMEDIATE;
UPDATE server_versions SET document = document;
ALTER TABLE server_versions ALTER COLUMN facet_xid SET NOT NULL;

CREATE INDEX server_versions_categories ON server_versions USING gin (categories);
CREATE INDEX server_versions_tags ON server_versions USING gin (tags);
-- Every column filters and facets read, in list order within latest and non-latest versions: a
-- narrowed page of the latest versions is found on the index alone (no document read to reject a
-- version), and SQL facet counts of the latest versions read no document either.
CREATE INDEX server_versions_facets ON server_versions (is_latest, name, version)
  INCLUDE (id, status, categories, tags, registry_types, transports, has_remote);
CREATE INDEX server_versions_facet_xid ON server_versions (facet_xid);
`;
