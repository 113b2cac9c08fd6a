/**
 * Migration 3's registry_publish exactly as it shipped (its checksum covers this text). Migration 6
 * (version-count-migration.ts) replaces the function with this definition's cap check changed.
 */
export const REGISTRY_PUBLISH_V3 = `CREATE FUNCTION registry_publish(
  p_name text, p_version text, p_document jsonb, p_description text, p_title text,
  p_remote_urls text[], p_max_versions integer, p_lock_class integer, p_lock_key integer,
  p_lock_timeout_ms integer, p_candidate_main numeric[], p_versus_id bigint, p_versus_order integer
) RETURNS TABLE (
  outcome text, r_id text, r_version text, r_document_json text, r_status text, r_status_message text,
  r_status_changed_at text, r_published_at text, r_updated_at text, r_is_latest boolean
) LANGUAGE plpgsql AS $$
DECLARE
  v_now timestamptz;
  v_order integer;
  v_main text[];
  v_is_latest boolean;
  v_taken text;
  l_id bigint;
  l_version text;
  l_status text;
  l_published_at timestamptz;
BEGIN
  -- Transaction-local, so nothing leaks into a pooled connection.
  PERFORM set_config('lock_timeout', p_lock_timeout_ms::text, true);
  PERFORM pg_advisory_xact_lock(p_lock_class, p_lock_key);
  -- Read after the lock: monotonic per name.
  v_now := date_trunc('milliseconds', clock_timestamp());
  IF (SELECT count(*) FROM server_versions s WHERE s.name = p_name) >= p_max_versions THEN
    outcome := 'cap';
    RETURN NEXT;
    RETURN;
  END IF;
  IF EXISTS (SELECT 1 FROM server_versions s WHERE s.name = p_name AND s.version = p_version) THEN
    outcome := 'duplicate';
    RETURN NEXT;
    RETURN;
  END IF;
  SELECT s.id, s.version, s.status, s.published_at INTO l_id, l_version, l_status, l_published_at
    FROM server_versions s WHERE s.name = p_name AND s.is_latest;
  IF l_id IS NULL OR l_status = 'deleted' THEN
    -- No latest, or every version deleted: the new (active) one takes over.
    v_is_latest := true;
  ELSE
    IF p_versus_id = l_id THEN
      v_order := p_versus_order;
    ELSIF p_candidate_main IS NOT NULL THEN
      -- Plain MAJOR.MINOR.PATCH (what node-semver parses with no prerelease or build) orders here.
      v_main := regexp_match(l_version, '^v?(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)$');
      IF v_main IS NOT NULL AND greatest(v_main[1]::numeric, v_main[2]::numeric, v_main[3]::numeric)
          <= 9007199254740991 THEN
        v_order := CASE WHEN p_candidate_main > v_main::numeric[] THEN 1
                        WHEN p_candidate_main < v_main::numeric[] THEN -1 ELSE 0 END;
      END IF;
    END IF;
    IF v_order IS NULL THEN
      outcome := 'decide';
      r_id := l_id::text;
      r_version := l_version;
      RETURN NEXT;
      RETURN;
    END IF;
    -- Equal precedence: the later publication wins, and the new row is the later one on a tie.
    v_is_latest := v_order > 0 OR (v_order = 0 AND v_now >= l_published_at);
  END IF;
  IF cardinality(p_remote_urls) > 0 THEN
    INSERT INTO remote_urls (url, name) SELECT DISTINCT unnest(p_remote_urls), p_name
      ON CONFLICT (url) DO NOTHING;
    SELECT json_agg(json_build_object('url', u.url, 'name', u.name))::text INTO v_taken
      FROM remote_urls u WHERE u.url = ANY (p_remote_urls) AND u.name <> p_name;
    IF v_taken IS NOT NULL THEN
      RAISE EXCEPTION 'remote URLs of % are owned by other names', p_name
        USING ERRCODE = 'MR409', DETAIL = v_taken;
    END IF;
  END IF;
  IF v_is_latest AND l_id IS NOT NULL THEN
    -- Counts as an update, so updated_since readers learn that isLatest moved.
    UPDATE server_versions s SET is_latest = false, updated_at = v_now WHERE s.id = l_id;
  END IF;
  INSERT INTO server_versions AS s (name, version, document, description, title, status,
      status_changed_at, published_at, updated_at, is_latest)
    VALUES (p_name, p_version, p_document, p_description, p_title, 'active', v_now, v_now, v_now, v_is_latest)
    RETURNING 'stored', s.id::text, s.version, s.document::text, s.status, s.status_message,
      to_char(s.status_changed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
      to_char(s.published_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
      to_char(s.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), s.is_latest
    INTO outcome, r_id, r_version, r_document_json, r_status, r_status_message, r_status_changed_at,
      r_published_at, r_updated_at, r_is_latest;
  RETURN NEXT;
END $$;`;
