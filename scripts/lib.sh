#!/usr/bin/env bash
# Shared helpers for the scripts in this folder. Source it; do not run it.

# The repository root, whatever directory the caller ran the script from.
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export REPO_ROOT

# The three stacks this program knows; anything else is a typo.
readonly KNOWN_STACKS="local staging production"

die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

info() {
  printf '==> %s\n' "$*"
}

# require_tool NAME HINT: stop with a one-line install hint when NAME is not on PATH.
require_tool() {
  local name="$1" hint="$2"
  if ! command -v "$name" >/dev/null 2>&1; then
    die "'$name' is not installed or not on PATH. $hint"
  fi
}

# require_stack NAME: stop unless NAME is one of the known stacks.
require_stack() {
  local stack="${1:-}" known
  for known in $KNOWN_STACKS; do
    [[ "$stack" == "$known" ]] && return 0
  done
  die "unknown stack '${stack}'; expected one of: ${KNOWN_STACKS// /, }"
}

# require_minikube_running PROFILE: the local stack talks to Minikube even in preview (the Kubernetes provider reads
# the cluster), so say so plainly before Pulumi fails with a connection error deep in its output.
require_minikube_running() {
  local profile="$1"
  require_tool minikube "Install it: https://minikube.sigs.k8s.io/docs/start/."
  minikube status --profile "$profile" >/dev/null 2>&1 ||
    die "Minikube profile '$profile' is not running; start it with scripts/local-up.sh (or 'minikube start --profile $profile') and retry"
}

# note_stack_file_change STACK: the first `pulumi stack select --create` with a passphrase writes the passphrase's
# salt into stacks/Pulumi.<stack>.yaml (and Pulumi's own quoting). Say what happened instead of leaving a surprise
# in `git status`.
note_stack_file_change() {
  local file="stacks/Pulumi.$1.yaml" status=0
  command -v git >/dev/null 2>&1 || return 0
  # Exit status 1 means "differs"; anything else (0, or not a git checkout) means there is nothing to say.
  (cd "$REPO_ROOT" && git diff --quiet -- "$file" 2>/dev/null) || status=$?
  [[ "$status" -eq 1 ]] || return 0
  info "Pulumi rewrote $file on this machine (the encryptionsalt of your passphrase; see README, 'local'). Keep it," \
    "do not commit it; 'git update-index --skip-worktree $file' hides it from git status."
}

# ensure_dependencies: the Pulumi program and the policy pack run from node_modules.
ensure_dependencies() {
  if [[ ! -d "$REPO_ROOT/node_modules/@pulumi/pulumi" ]]; then
    info "installing npm dependencies (npm ci)"
    (cd "$REPO_ROOT" && npm ci --no-audit --no-fund)
  fi
}

# ensure_local_backend: use a file backend inside the repo when nobody is logged in to Pulumi, with a
# generated passphrase file (mode 0600) so local secrets stay encrypted without a prompt.
ensure_local_backend() {
  if pulumi whoami >/dev/null 2>&1; then
    return 0
  fi
  local state_dir="$REPO_ROOT/.pulumi-local"
  mkdir -p "$state_dir"
  info "no Pulumi backend is logged in; using the file backend in $state_dir"
  pulumi login "file://$state_dir"
  if [[ -z "${PULUMI_CONFIG_PASSPHRASE:-}" && -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]]; then
    local passphrase_file="$state_dir/passphrase"
    if [[ ! -s "$passphrase_file" ]]; then
      (umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$passphrase_file")
    fi
    export PULUMI_CONFIG_PASSPHRASE_FILE="$passphrase_file"
  fi
}

# pinned_version KEY: a version from the one version table, infra/versions.ts (a line `KEY: "value",`).
pinned_version() {
  local key="$1" line
  line="$(grep -E "^[[:space:]]*${key}:[[:space:]]*\"[^\"]+\"" "$REPO_ROOT/infra/versions.ts" | head -n 1)" ||
    die "infra/versions.ts has no pinned '${key}'"
  line="${line#*\"}"
  printf '%s\n' "${line%%\"*}"
}

# policy_pack_args STACK: the flags that run the policy pack with that stack's enforcement levels.
policy_pack_args() {
  printf '%s\n' --policy-pack "$REPO_ROOT/policies" --policy-pack-config "$REPO_ROOT/policies/config/$1.json"
}
