import type { Migration } from "./migrations";

/**
 * Migration 4: what the read path needs to be cheap and to be invalidated per name.
 * - `entry_json`: each version's API entry (`{"server":…,"_meta":{…}}`) rendered when the row is
 *   written, so reads send stored text instead of converting JSONB and formatting three timestamps
 *   per row per read. Byte for byte what the service rendered before (tested), so ETags stay.
 * - `registry_name_generations`: a change generation per server name, bumped at commit with the
 *   global one, so cached answers about one name survive writes to other names.
 * - `registry_publish_many`: versions of one name in one statement, each through migration 3's
 *   `registry_publish`, stored rows with their entry (publish sends one, seed and import several).
 */
export const READ_PATH_MIGRATION: Migration = {
  version: 4,
  name: "pre-rendered API entries, change generations per server name, several versions of a name per statement",
  sql: `
-- IMMUTABLE: to_char is only STABLE because of locale-dependent patterns; this one formats numeric
-- fields in UTC only.
CREATE FUNCTION registry_entry_json(
  p_document jsonb, p_status text, p_status_message text, p_status_changed_at timestamptz,
  p_published_at timestamptz, p_updated_at timestamptz, p_is_latest boolean
) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT '{"server":' || p_document::text
    || ',"_meta":{"io.modelcontextprotocol.registry/official":{"status":"' || p_status || '"'
    || coalesce(',"statusMessage":' || to_json(p_status_message)::text, '')
    || ',"statusChangedAt":"' || to_char(p_status_changed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
    || '","publishedAt":"' || to_char(p_published_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
    || '","updatedAt":"' || to_char(p_updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
    || '","isLatest":' || CASE WHEN p_is_latest THEN 'true' ELSE 'false' END || '}}}'
$$;

-- The search document and the entry were generated columns: PostgreSQL re-read their expressions
-- for every written row and recomputed both on every UPDATE (each publish flips the previous latest).
-- A trigger keeps them instead, with its plans cached per connection, and recomputes the search
-- document only when its sources change. Writes by a previous build and manual SQL go through it too.
ALTER TABLE server_versions ALTER COLUMN search_document DROP EXPRESSION;
ALTER TABLE server_versions ADD COLUMN entry_json text;

CREATE TABLE registry_name_generations (
  name  text COLLATE "C" PRIMARY KEY,
  value bigint NOT NULL
);
-- Every existing name starts at one value: different from anything cached under the previous
-- build's single generation, and at least the clock like every later bump.
INSERT INTO registry_name_generations (name, value)
  SELECT names.name, start.value
  FROM (SELECT DISTINCT name FROM server_versions) names,
    (SELECT greatest((SELECT max(value) FROM registry_generation_shards),
      (extract(epoch FROM clock_timestamp()) * 1000000)::bigint) AS value) start;

-- The deferred constraint triggers of earlier migrations fire at the end of this UPDATE instead of at
-- commit: PostgreSQL refuses the ALTER TABLE below while trigger events are pending.
SET CONSTRAINTS ALL IMMEDIATE;
UPDATE server_versions SET entry_json = registry_entry_json(document, status, status_message,
  status_changed_at, published_at, updated_at, is_latest);
ALTER TABLE server_versions ALTER COLUMN entry_json SET NOT NULL;

CREATE FUNCTION server_versions_derive() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- The same expression migration 1 generated the column with.
  IF TG_OP = 'INSERT' OR NEW.name IS DISTINCT FROM OLD.name OR NEW.title IS DISTINCT FROM OLD.title
      OR NEW.description IS DISTINCT FROM OLD.description OR NEW.search_document IS DISTINCT FROM OLD.search_document THEN
    NEW.search_document :=
      setweight(to_tsvector('english'::regconfig,
        regexp_replace(split_part(NEW.name, '/', 2), '[^[:alnum:]]+', ' ', 'g')), 'A') ||
      setweight(to_tsvector('english'::regconfig, coalesce(NEW.title, '')), 'A') ||
      setweight(to_tsvector('english'::regconfig, NEW.description), 'B') ||
      setweight(to_tsvector('english'::regconfig,
        regexp_replace(split_part(NEW.name, '/', 1), '[^[:alnum:]]+', ' ', 'g')), 'C');
  END IF;
  NEW.entry_json := registry_entry_json(NEW.document, NEW.status, NEW.status_message, NEW.status_changed_at,
    NEW.published_at, NEW.updated_at, NEW.is_latest);
  RETURN NEW;
END $$;
CREATE TRIGGER server_versions_derive BEFORE INSERT OR UPDATE ON server_versions
  FOR EACH ROW EXECUTE FUNCTION server_versions_derive();

-- Still once per transaction for the global shard (lists and searches depend on every name), and
-- now once per changed name as well (consecutive rows of one name bump it once). Values stay at
-- least the clock in microseconds, so a restored database never repeats one.
CREATE OR REPLACE FUNCTION registry_generation_bump() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  v_clock bigint := (extract(epoch FROM clock_timestamp()) * 1000000)::bigint;
  v_name text;
BEGIN
  IF current_setting('mcp_registry.generation_bumped', true) IS DISTINCT FROM 'on' THEN
    UPDATE registry_generation_shards SET value = greatest(value + 1, v_clock)
      WHERE shard = pg_backend_pid() % 16;
    PERFORM set_config('mcp_registry.generation_bumped', 'on', true);
  END IF;
  FOREACH v_name IN ARRAY CASE
      WHEN TG_OP = 'INSERT' THEN ARRAY[NEW.name::text]
      WHEN TG_OP = 'DELETE' OR OLD.name = NEW.name THEN ARRAY[OLD.name::text]
      ELSE ARRAY[OLD.name::text, NEW.name::text] END LOOP
    IF current_setting('mcp_registry.generation_bumped_name', true) IS DISTINCT FROM v_name THEN
      INSERT INTO registry_name_generations AS g (name, value) VALUES (v_name, v_clock)
        ON CONFLICT (name) DO UPDATE SET value = greatest(g.value + 1, v_clock);
      PERFORM set_config('mcp_registry.generation_bumped_name', v_name, true);
    END IF;
  END LOOP;
  RETURN NULL;
END $$;

-- Versions of one name in one statement and one transaction (one for publish, several for seed and
-- import): each through migration 3's registry_publish, in order, so every rule is the same; stored
-- rows come back with their API entry. Stops after the first 'decide' (the caller orders that version
-- and calls again from it, p_versus_* applying to the first item); a remote URL another name owns
-- raises MR409 (DETAIL: the owners) and rolls back the whole statement.
-- p_items: [{"version", "document", "description", "title", "remoteUrls": [...], "candidateMain": [M, m, p] | null}].
CREATE FUNCTION registry_publish_many(
  p_name text, p_items jsonb, p_max_versions integer, p_lock_class integer, p_lock_key integer,
  p_lock_timeout_ms integer, p_versus_id bigint, p_versus_order integer
) RETURNS TABLE (
  item integer, outcome text, r_id text, r_version text, r_document_json text, r_status text,
  r_status_message text, r_status_changed_at text, r_published_at text, r_updated_at text,
  r_is_latest boolean, r_entry_json text
) LANGUAGE plpgsql AS $$
DECLARE
  v_item jsonb;
  v_result record;
BEGIN
  item := 0;
  FOR v_item IN SELECT value FROM jsonb_array_elements(p_items) LOOP
    SELECT * INTO v_result FROM registry_publish(p_name, v_item->>'version', v_item->'document',
      v_item->>'description', v_item->>'title',
      ARRAY(SELECT jsonb_array_elements_text(v_item->'remoteUrls')), p_max_versions, p_lock_class,
      p_lock_key, p_lock_timeout_ms,
      CASE WHEN jsonb_typeof(v_item->'candidateMain') = 'array'
        THEN ARRAY(SELECT jsonb_array_elements_text(v_item->'candidateMain'))::numeric[] END,
      CASE WHEN item = 0 THEN p_versus_id END, CASE WHEN item = 0 THEN p_versus_order END);
    outcome := v_result.outcome;
    r_id := v_result.r_id;
    r_version := v_result.r_version;
    r_document_json := v_result.r_document_json;
    r_status := v_result.r_status;
    r_status_message := v_result.r_status_message;
    r_status_changed_at := v_result.r_status_changed_at;
    r_published_at := v_result.r_published_at;
    r_updated_at := v_result.r_updated_at;
    r_is_latest := v_result.r_is_latest;
    r_entry_json := NULL;
    IF outcome = 'stored' THEN
      SELECT s.entry_json INTO r_entry_json FROM server_versions s WHERE s.id = v_result.r_id::bigint;
    END IF;
    RETURN NEXT;
    IF outcome = 'decide' THEN
      RETURN;
    END IF;
    item := item + 1;
  END LOOP;
END $$;
`,
};
