#!/usr/bin/env bash
# Builds, or reuses from the cache, the binaries the control-plane and interoperability tests need:
#   kube-apiserver, kube-controller-manager and kubectl from k8s.io/kubernetes (Go module proxy),
#   helm v3 and the official mcp-publisher CLI (Go module proxy),
# and checks that etcd (Debian's etcd-server) is installed. Versions come from infra/versions.ts. Binaries are
# cached by version under ${MCP_TOOLCHAIN_CACHE:-~/.cache/mcp-registry-infra/toolchain}: a warm machine returns at
# once; a cold one builds for 10-20 minutes. Concurrent runs wait for each other. The last line printed is the
# folder holding every binary.
#
# Usage: scripts/toolchain.sh
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

export PATH="$PATH:/usr/local/go/bin:$HOME/go/bin"
cache_root="${MCP_TOOLCHAIN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mcp-registry-infra/toolchain}"
kubernetes_version="$(pinned_version testKubernetes)"
helm_version="$(pinned_version testHelm)"
publisher_version="$(pinned_version mcpPublisher)"
# The staging modules released with kubernetes v1.X.Y are v0.X.Y.
staging_version="v0.${kubernetes_version#v1.}"

bin_dir="$cache_root/bin-kubernetes-${kubernetes_version}-helm-${helm_version}-publisher-${publisher_version}"
readonly kube_binaries=(kube-apiserver kube-controller-manager kubectl)

mkdir -p "$bin_dir"
exec 9>"$cache_root/.lock"
if ! flock --nonblock 9; then
  info "another toolchain build is running; waiting for it"
  flock 9
fi

build_kubernetes() {
  require_tool go "Install Go 1.24+ (https://go.dev/dl) and put it on PATH."
  require_tool curl "Install curl (apt-get install curl)."
  local work="$cache_root/build-kubernetes-${kubernetes_version}" staging module
  mkdir -p "$work"
  info "building kubernetes ${kubernetes_version} (kube-apiserver, kube-controller-manager, kubectl); a cold build takes 10-20 minutes"
  # k8s.io/kubernetes replaces its staging modules with ./staging paths, which a module that requires it cannot
  # see; the wrapper module replaces each of them with its published release instead.
  staging="$(curl -fsS --max-time 60 "${GOPROXY_URL:-https://proxy.golang.org}/k8s.io/kubernetes/@v/${kubernetes_version}.mod" |
    awk '$2 == "=>" && $3 ~ /^\.\/staging\// { print $1 }')" ||
    die "could not read k8s.io/kubernetes ${kubernetes_version}'s go.mod from the Go module proxy"
  [[ -n "$staging" ]] || die "k8s.io/kubernetes ${kubernetes_version}'s go.mod lists no staging modules"
  {
    printf 'module mcp-registry.io/kubernetes-toolchain\n\ngo 1.24\n\nrequire k8s.io/kubernetes %s\n\n' "$kubernetes_version"
    for module in $staging; do
      printf 'replace %s => %s %s\n' "$module" "$module" "$staging_version"
    done
  } >"$work/go.mod"
  (
    cd "$work"
    export GOFLAGS="-mod=mod -buildvcs=false" CGO_ENABLED=0
    go get "k8s.io/kubernetes@${kubernetes_version}"
    local name
    for name in "${kube_binaries[@]}"; do
      [[ -x "$bin_dir/$name" ]] && continue
      go build -trimpath \
        -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=${kubernetes_version}" \
        -o "$bin_dir/$name.tmp" "k8s.io/kubernetes/cmd/$name"
      mv "$bin_dir/$name.tmp" "$bin_dir/$name"
    done
  )
}

# go_install BINARY PACKAGE@VERSION: `go install` into the cache, named BINARY.
go_install() {
  local binary="$1" package="$2" gobin
  require_tool go "Install Go 1.24+ (https://go.dev/dl) and put it on PATH."
  info "building $binary ($package)"
  gobin="$(mktemp -d)"
  GOBIN="$gobin" CGO_ENABLED=0 GOFLAGS="-buildvcs=false" go install -trimpath "$package"
  mv "$gobin/$(basename "${package%@*}")" "$bin_dir/$binary"
  rmdir "$gobin"
}

for name in "${kube_binaries[@]}"; do
  if [[ ! -x "$bin_dir/$name" ]]; then
    build_kubernetes
    break
  fi
done
[[ -x "$bin_dir/helm" ]] || go_install helm "helm.sh/helm/v3/cmd/helm@${helm_version}"
[[ -x "$bin_dir/mcp-publisher" ]] ||
  go_install mcp-publisher "github.com/modelcontextprotocol/registry/cmd/publisher@${publisher_version}"

[[ -x /usr/bin/etcd || -x /usr/local/bin/etcd ]] ||
  die "etcd is not installed; install Debian's etcd-server (apt-get install etcd-server)"
"$bin_dir/kube-apiserver" --version >/dev/null || die "$bin_dir/kube-apiserver does not run; delete $bin_dir and retry"
printf '%s\n' "$bin_dir"
