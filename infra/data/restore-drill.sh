#!/usr/bin/env bash
# Restore-drill verification: compares a database restored from backup with its live source.
#
# For every table of the public schema with a `published_at` column (rows are never hard-deleted there),
# the rows published up to a cutoff must match in count and in the checksum of their primary keys. The
# cutoff is the newest `published_at` in the restore minus MARGIN_SECONDS, so transactions still in flight
# at the recovery point cannot cause a false mismatch. The set of public tables and the pg_trgm extension
# must match too. Exits 0 only when everything matches; the CronJob's last successful time is the metric.
#
# Environment: SOURCE_URI, RESTORE_URI (libpq URIs without password), PGPASSWORD (read-only role),
# MARGIN_SECONDS (default 300), CONNECT_ATTEMPTS (default 30, 10 s apart).
set -euo pipefail

: "${SOURCE_URI:?SOURCE_URI is required}"
: "${RESTORE_URI:?RESTORE_URI is required}"
readonly margin="${MARGIN_SECONDS:-300}"
readonly attempts="${CONNECT_ATTEMPTS:-30}"
readonly retry_delay="${CONNECT_RETRY_SECONDS:-10}"

if ! [[ "$margin" =~ ^[0-9]+$ ]]; then
  echo "restore-drill: MARGIN_SECONDS must be a whole number of seconds, got '$margin'" >&2
  exit 2
fi

# query URI SQL: one value per line, unaligned, stops on the first SQL error.
query() {
  psql --no-psqlrc --quiet --tuples-only --no-align --set=ON_ERROR_STOP=1 --dbname="$1" --command="$2"
}

wait_for() {
  local uri=$1 name=$2 try
  for ((try = 1; try <= attempts; try++)); do
    if query "$uri" "SELECT 1" >/dev/null 2>&1; then return 0; fi
    echo "restore-drill: waiting for the $name database (attempt $try/$attempts)"
    sleep "$retry_delay"
  done
  echo "restore-drill: the $name database did not accept connections" >&2
  return 1
}

wait_for "$SOURCE_URI" source
wait_for "$RESTORE_URI" restored

failures=0
fail() {
  echo "MISMATCH $*"
  failures=$((failures + 1))
}

readonly tables_sql="SELECT quote_ident(table_name) FROM information_schema.tables
  WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name"
source_tables="$(query "$SOURCE_URI" "$tables_sql")"
restored_tables="$(query "$RESTORE_URI" "$tables_sql")"
if [[ "$source_tables" != "$restored_tables" ]]; then
  fail "public tables: source [${source_tables//$'\n'/ }] restored [${restored_tables//$'\n'/ }]"
fi

readonly trgm_sql="SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm'"
if [[ "$(query "$RESTORE_URI" "$trgm_sql")" != "$(query "$SOURCE_URI" "$trgm_sql")" ]]; then
  fail "pg_trgm extension differs between source and restore"
fi

mapfile -t published < <(query "$RESTORE_URI" "SELECT quote_ident(table_name) FROM information_schema.columns
  WHERE table_schema = 'public' AND column_name = 'published_at' ORDER BY table_name")

if ((${#published[@]} == 0)); then
  echo "restore-drill: no table with published_at in the restore; compared the schema only"
else
  newest_sql="SELECT coalesce(max(t), 0) FROM ("
  for ((i = 0; i < ${#published[@]}; i++)); do
    ((i > 0)) && newest_sql+=" UNION ALL "
    newest_sql+="SELECT extract(epoch FROM max(published_at))::bigint AS t FROM public.${published[i]}"
  done
  newest_sql+=") newest"
  newest="$(query "$RESTORE_URI" "$newest_sql")"
  cutoff=$((newest - margin))
  echo "restore-drill: comparing rows published up to $(date -u -d "@$cutoff" +%Y-%m-%dT%H:%M:%SZ 2>/dev/null || echo "epoch $cutoff")"

  for table in "${published[@]}"; do
    key="$(query "$RESTORE_URI" "SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY k.ord)
      FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
      JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
      WHERE i.indrelid = 'public.${table}'::regclass AND i.indisprimary")"
    if [[ -z "$key" ]]; then
      row_id="''"
    else
      row_id="ROW(${key})::text"
    fi
    fingerprint_sql="SELECT count(*) || ' ' || coalesce(md5(string_agg(id, ',' ORDER BY id)), '-')
      FROM (SELECT ${row_id} AS id FROM public.${table} WHERE published_at <= to_timestamp(${cutoff})) rows"
    source_fp="$(query "$SOURCE_URI" "$fingerprint_sql")"
    restored_fp="$(query "$RESTORE_URI" "$fingerprint_sql")"
    if [[ "$source_fp" == "$restored_fp" ]]; then
      echo "OK ${table}: ${restored_fp%% *} rows, keys ${restored_fp#* }"
    else
      fail "${table}: source ${source_fp} restored ${restored_fp}"
    fi
  done
fi

if ((failures > 0)); then
  echo "restore-drill: FAILED with $failures mismatch(es)" >&2
  exit 1
fi
echo "restore-drill: restore verified"
