#!/usr/bin/env bash
# Brings the whole `local` environment up: Minikube, then `pulumi up` of stack `local` with the policy pack.
# Usage: scripts/local-up.sh [extra `pulumi up` flags, e.g. --yes]
# Environment: MINIKUBE_PROFILE (default minikube), MINIKUBE_CPUS (4), MINIKUBE_MEMORY (8192, MiB),
#              MINIKUBE_DISK (40g), MINIKUBE_KUBERNETES_VERSION (default: the pinned one in infra/versions.ts).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_tool pulumi "Install it: https://www.pulumi.com/docs/install/ (e.g. 'curl -fsSL https://get.pulumi.com | sh')."
require_tool minikube "Install it: https://minikube.sigs.k8s.io/docs/start/."
require_tool kubectl "Install it: https://kubernetes.io/docs/tasks/tools/ (or 'minikube kubectl --')."
require_tool npm "Install Node.js 20.19+ with npm: https://nodejs.org/."

profile="${MINIKUBE_PROFILE:-minikube}"
kubernetes_version="${MINIKUBE_KUBERNETES_VERSION:-$(pinned_version minikubeKubernetes)}"

if minikube status --profile "$profile" >/dev/null 2>&1; then
  info "reusing the running Minikube profile '$profile'"
else
  info "starting Minikube profile '$profile' (Kubernetes $kubernetes_version)"
  minikube start --profile "$profile" \
    --cpus "${MINIKUBE_CPUS:-4}" --memory "${MINIKUBE_MEMORY:-8192}" --disk-size "${MINIKUBE_DISK:-40g}" \
    --kubernetes-version "$kubernetes_version" \
    --addons metrics-server --addons storage-provisioner --addons default-storageclass
fi
kubectl config use-context "$profile" >/dev/null

ensure_dependencies
cd "$REPO_ROOT"
ensure_local_backend
pulumi stack select --create local
note_stack_file_change local
mapfile -t policy_args < <(policy_pack_args local)
pulumi up --stack local "${policy_args[@]}" "$@"

info "done. The gateway is a LoadBalancer Service: run 'minikube tunnel --profile $profile' in another terminal to reach it."
