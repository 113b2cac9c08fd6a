#!/usr/bin/env bash
# Previews one stack with the policy pack and that stack's enforcement levels.
# Usage: scripts/preview.sh <local|staging|production> [extra `pulumi preview` flags]
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $# -ge 1 ]] || die "usage: scripts/preview.sh <local|staging|production> [pulumi preview flags]"
stack="$1"
shift
require_stack "$stack"
require_tool pulumi "Install it: https://www.pulumi.com/docs/install/ (e.g. 'curl -fsSL https://get.pulumi.com | sh')."
if [[ "$stack" == "local" ]]; then
  require_minikube_running "${MINIKUBE_PROFILE:-minikube}"
fi

ensure_dependencies
cd "$REPO_ROOT"
mapfile -t policy_args < <(policy_pack_args "$stack")
pulumi preview --stack "$stack" "${policy_args[@]}" "$@"
