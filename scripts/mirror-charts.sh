#!/usr/bin/env bash
# Fills a cloud stack's chart mirror: pushes every chart pinned in infra/versions.ts, at its pinned version, to the
# stack's Artifact Registry repository `charts` (its `mcp-registry:charts` source baseUrl), where `pulumi up`
# installs them from. Run it after the first `pulumi up` created the repository and after every chart pin change,
# before the `pulumi up` that uses the new pin. Versions already there are left alone (the repository's tags are
# immutable), so a re-run only pushes what is missing.
# Usage: scripts/mirror-charts.sh <staging|production> [--charts-dir DIR]
#   --charts-dir   push the archives of a folder, exactly as `helm pull` wrote them, instead of pulling each chart
#                  from its public repository (not the tests' ../shared/charts: its external-secrets archive is
#                  adapted for offline rendering and is not the published chart)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage="usage: scripts/mirror-charts.sh <staging|production> [--charts-dir DIR]"
[[ $# -ge 1 ]] || die "$usage"
stack="$1"
shift
require_stack "$stack"
[[ "$stack" != "local" ]] || die "the local stack pulls charts from their repositories; only cloud stacks have a mirror"
charts_dir=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --charts-dir) charts_dir="${2:?--charts-dir needs a folder}"; shift 2 ;;
    *) die "unknown argument '$1'; $usage" ;;
  esac
done
[[ -z "$charts_dir" || -d "$charts_dir" ]] || die "--charts-dir $charts_dir is not a folder"
require_tool helm "Install helm v3 (https://helm.sh/docs/intro/install/), or use scripts/toolchain.sh's build."
require_tool gcloud "Install the Google Cloud CLI: https://cloud.google.com/sdk/docs/install."
ensure_dependencies

# The stack's chart source (stacks/Pulumi.<stack>.yaml), then one line per pinned chart: name, repository, version.
# shellcheck disable=SC2016 # the single-quoted program is TypeScript for tsx, not shell
mapfile -t rows < <(cd "$REPO_ROOT" && STACK="$stack" "$REPO_ROOT/node_modules/.bin/tsx" -e '
  import * as fs from "node:fs";
  import { parse } from "yaml";
  import { charts } from "./infra/versions";
  const file = `stacks/Pulumi.${process.env.STACK}.yaml`;
  const config = (parse(fs.readFileSync(file, "utf8")) as { config?: Record<string, unknown> }).config ?? {};
  const source = (config["mcp-registry:charts"] as { source?: { kind?: string; baseUrl?: string } } | undefined)?.source;
  console.log(source?.kind === "oci" ? source.baseUrl : `${file} sets no oci chart source`);
  for (const c of Object.values(charts)) console.log([c.chart, c.repo, c.version].join(" "));
')
[[ ${#rows[@]} -gt 1 ]] || die "could not read the chart pins (infra/versions.ts) and the chart source of stack $stack"
base="${rows[0]%/}"
[[ "$base" == oci://* ]] || die "$base: set mcp-registry:charts.source to {kind: oci, baseUrl: oci://<region>-docker.pkg.dev/<project>/charts}"

# Artifact Registry takes a short-lived OAuth token of the gcloud identity (needs artifactregistry.writer).
host="${base#oci://}"
host="${host%%/*}"
gcloud auth print-access-token | helm registry login "$host" --username oauth2accesstoken --password-stdin

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
pushed=0
for row in "${rows[@]:1}"; do
  read -r chart repo version <<<"$row"
  if helm show chart "$base/$chart" --version "$version" >/dev/null 2>&1; then
    info "$chart $version: already in $base"
    continue
  fi
  archive="$work/$chart-$version.tgz"
  if [[ -n "$charts_dir" ]]; then
    [[ -f "$charts_dir/$chart-$version.tgz" ]] || die "$chart: $charts_dir/$chart-$version.tgz is missing"
    archive="$charts_dir/$chart-$version.tgz"
  elif [[ "$repo" == oci://* ]]; then
    helm pull "${repo%/}/$chart" --version "$version" --destination "$work"
  else
    helm pull "$chart" --repo "$repo" --version "$version" --destination "$work"
  fi
  info "$chart $version: pushing to $base"
  helm push "$archive" "$base"
  pushed=$((pushed + 1))
done
info "stack $stack: $pushed chart(s) pushed, $((${#rows[@]} - 1 - pushed)) already mirrored"
