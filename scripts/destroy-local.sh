#!/usr/bin/env bash
# Tears the `local` environment down: `pulumi destroy` of stack `local`, then, with --delete-cluster,
# the Minikube profile too.
# Usage: scripts/destroy-local.sh [--delete-cluster] [extra `pulumi destroy` flags, e.g. --yes]
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

delete_cluster=false
pulumi_args=()
for arg in "$@"; do
  case "$arg" in
    --delete-cluster) delete_cluster=true ;;
    *) pulumi_args+=("$arg") ;;
  esac
done

require_tool pulumi "Install it: https://www.pulumi.com/docs/install/ (e.g. 'curl -fsSL https://get.pulumi.com | sh')."
if [[ "$delete_cluster" == true ]]; then
  require_tool minikube "Install it: https://minikube.sigs.k8s.io/docs/start/."
fi

cd "$REPO_ROOT"
ensure_local_backend
pulumi destroy --stack local "${pulumi_args[@]}"

if [[ "$delete_cluster" == true ]]; then
  profile="${MINIKUBE_PROFILE:-minikube}"
  info "deleting Minikube profile '$profile'"
  minikube delete --profile "$profile"
fi
