#!/usr/bin/env bash
# Applies the CRDs of the charts whose CRDs Helm never upgrades (their `crds/` folder: K8up, NGINX Gateway Fabric,
# kube-prometheus-stack; `crdUpgrades` in infra/versions.ts) at the pinned versions, with server-side apply, to the
# cluster of the current kubeconfig context. Run it before `pulumi up` whenever one of those pins changes.
# Usage: scripts/upgrade-crds.sh [--charts-dir DIR | --oci-mirror oci://HOST/PATH] [--dry-run]
#   --charts-dir   take the charts from a folder of `helm package` archives (the `directory` chart source)
#   --oci-mirror   take them from an internal OCI registry (the `oci` chart source)
#   --dry-run      ask the API server to validate without persisting (kubectl --dry-run=server)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

charts_dir="" oci_mirror="" dry_run=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --charts-dir) charts_dir="${2:?--charts-dir needs a folder}"; shift 2 ;;
    --oci-mirror) oci_mirror="${2:?--oci-mirror needs an oci:// URL}"; shift 2 ;;
    --dry-run) dry_run=(--dry-run=server); shift ;;
    *) die "unknown argument '$1'; usage: scripts/upgrade-crds.sh [--charts-dir DIR | --oci-mirror oci://HOST/PATH] [--dry-run]" ;;
  esac
done
[[ -z "$charts_dir" || -z "$oci_mirror" ]] || die "--charts-dir and --oci-mirror exclude each other"
[[ -z "$charts_dir" || -d "$charts_dir" ]] || die "--charts-dir $charts_dir is not a folder"
[[ -z "$oci_mirror" || "$oci_mirror" == oci://* ]] || die "--oci-mirror must be an oci:// URL, got '$oci_mirror'"
require_tool helm "Install helm v3 (https://helm.sh/docs/intro/install/), or use scripts/toolchain.sh's build."
require_tool kubectl "Install it: https://kubernetes.io/docs/tasks/tools/."
ensure_dependencies

# One line per chart: key, chart name, repository, version (from the one version table).
mapfile -t rows < <(cd "$REPO_ROOT" && npx --no-install tsx -e '
  import { charts, crdUpgrades } from "./infra/versions";
  for (const [key, how] of Object.entries(crdUpgrades))
    if (how === "upgrade-crds-script") {
      const c = charts[key as keyof typeof charts];
      console.log([key, c.chart, c.repo, c.version].join(" "));
    }
')
[[ ${#rows[@]} -gt 0 ]] || die "infra/versions.ts lists no chart for scripts/upgrade-crds.sh"

for row in "${rows[@]}"; do
  read -r key chart repo version <<<"$row"
  if [[ -n "$charts_dir" ]]; then
    source_args=("$charts_dir/$chart-$version.tgz")
    [[ -f "${source_args[0]}" ]] || die "$key: ${source_args[0]} is missing"
  elif [[ -n "$oci_mirror" ]]; then
    source_args=("${oci_mirror%/}/$chart" --version "$version")
  elif [[ "$repo" == oci://* ]]; then
    source_args=("${repo%/}/$chart" --version "$version")
  else
    source_args=("$chart" --repo "$repo" --version "$version")
  fi
  info "$key: CRDs of $chart $version"
  crds="$(helm show crds "${source_args[@]}")"
  [[ -n "$crds" ]] || die "$key: $chart $version has no crds/ folder; update crdUpgrades in infra/versions.ts"
  printf '%s\n' "$crds" | kubectl apply --server-side --force-conflicts --field-manager=mcp-registry-crds "${dry_run[@]}" -f -
done
