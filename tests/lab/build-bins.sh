#!/usr/bin/env bash
# Builds the lab's Go binaries once and caches them outside the repository, keyed by version:
#   kube-apiserver, kube-controller-manager   from k8s.io/kubernetes (wrapper module go/k8s)
#   kubectl                                   from the same k8s.io/kubernetes module (go/k8s; the
#                                             scale benchmark compares fleet with it)
#   registration, registration-operator       from open-cluster-management.io/ocm (wrapper module go/ocm)
#   controller-manager, ocm-transport-controller
#                                             from github.com/kubestellar/kubestellar (wrapper module
#                                             go/kubestellar: its own k8s.io v0.32.13 and
#                                             controller-runtime v0.20.4, apart from OCM's)
#   actionlint                                from github.com/rhysd/actionlint (wrapper module go/actionlint;
#                                             the e2e test lints examples/ci/github-actions.yml with it)
# A no-op when the cache is warm. Prints the cache directory on stdout.
# Everything comes through the Go module proxy; nothing is downloaded into the repository.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache="${FLEET_LAB_CACHE:-$HOME/.cache/fleet-lab}"

# module_version DIR MODULE — the version DIR's go.mod requires (no network: go.mod is read locally).
module_version() { sed -n "s|^[[:space:]]*\(require \)\{0,1\}$2 v\([^ ]*\).*$|\2|p" "$1/go.mod" | head -n 1; }
k8s_version=$(module_version "$here/go/k8s" k8s.io/kubernetes)
ocm_version=$(module_version "$here/go/ocm" open-cluster-management.io/ocm)
actionlint_version=$(module_version "$here/go/actionlint" github.com/rhysd/actionlint)
ks_version=$(module_version "$here/go/kubestellar" github.com/kubestellar/kubestellar)
[ -n "$k8s_version" ] && [ -n "$ocm_version" ] && [ -n "$actionlint_version" ] && [ -n "$ks_version" ] || { echo "lab-build: cannot read module versions from $here/go/*/go.mod" >&2; exit 1; }
k8s_out="$cache/k8s-v$k8s_version"
ocm_out="$cache/ocm-v$ocm_version"
actionlint_out="$cache/actionlint-v$actionlint_version"
kubectl_out="$cache/kubectl-v$k8s_version"
ks_out="$cache/kubestellar-v$ks_version"

export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="-mod=mod -buildvcs=false"
mkdir -p "$cache"

log() { printf 'lab-build: %s\n' "$*" >&2; }

# build_into OUT MODULE_DIR LDFLAGS PKG... — builds into a temp dir, then renames it into place,
# so an interrupted build never leaves a half-filled cache entry behind.
build_into() {
  local out=$1 dir=$2 ldflags=$3
  shift 3
  if [ -f "$out/.complete" ]; then
    return 0
  fi
  local tmp
  tmp=$(mktemp -d "$cache/.build.XXXXXX")
  local start=$SECONDS
  log "building $(basename "$out") (first run only; several minutes on 2 cores)"
  (cd "$dir" && go build -trimpath -tags selinux,notest,grpcnotrace -ldflags "$ldflags" -o "$tmp/" "$@")
  log "built $(basename "$out") in $((SECONDS - start)) s"
  touch "$tmp/.complete"
  rm -rf "$out"
  mv "$tmp" "$out"
}

minor=$(echo "$k8s_version" | cut -d. -f2)
k8s_ld="-s -w"
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  k8s_ld="$k8s_ld -X $p.gitVersion=v$k8s_version -X $p.gitMajor=1 -X $p.gitMinor=$minor"
  k8s_ld="$k8s_ld -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
done
build_into "$k8s_out" "$here/go/k8s" "$k8s_ld" \
  k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager

# kubectl has its own cache entry, so a cache built before it keeps its apiserver. After the
# build above it reuses most of its compiled packages (see README, Measurements).
build_into "$kubectl_out" "$here/go/k8s" "$k8s_ld" k8s.io/kubernetes/cmd/kubectl

build_into "$ocm_out" "$here/go/ocm" "-s -w" \
  open-cluster-management.io/ocm/cmd/registration open-cluster-management.io/ocm/cmd/registration-operator

# KubeStellar's controller-manager (binding controller) and OCM transport controller, which the
# lab runs so that downsync and templates travel the real chain (see README, Measurements).
build_into "$ks_out" "$here/go/kubestellar" "-s -w" \
  github.com/kubestellar/kubestellar/cmd/controller-manager \
  github.com/kubestellar/kubestellar/pkg/transport/ocm-transport-controller

# About 13 s on 2 cores with empty Go caches (downloads included).
build_into "$actionlint_out" "$here/go/actionlint" "-s -w" github.com/rhysd/actionlint/cmd/actionlint

# The CRDs are read from the Go module cache (not copied into the repository): make sure the
# modules that carry them are there, and record where.
api_dir=$(cd "$here/go/ocm" && go list -m -f '{{.Dir}}' open-cluster-management.io/api)
if [ -z "$api_dir" ] || [ ! -d "$api_dir" ]; then
  api_dir=$(cd "$here/go/ocm" && go mod download -json open-cluster-management.io/api | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
fi
ocm_dir=$(cd "$here/go/ocm" && go list -m -f '{{.Dir}}' open-cluster-management.io/ocm)
# module_dir WRAPPER MODULE — where the Go module cache holds the version WRAPPER requires.
module_dir() {
  local dir
  dir=$(cd "$1" && go list -m -f '{{.Dir}}' "$2")
  if [ -z "$dir" ] || [ ! -d "$dir" ]; then
    dir=$(cd "$1" && go mod download -json "$2@$(module_version "$1" "$2")" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  fi
  [ -n "$dir" ] && [ -d "$dir" ] || { echo "lab-build: $2 is not in the Go module cache" >&2; exit 1; }
  echo "$dir"
}
# The KubeStellar release whose controllers run is the one whose CRDs the WDS serves; KubeFlex's
# ControlPlane CRD (the hosting cluster's, through which the controller-manager finds the WDS
# and the ITS) comes from the kubeflex version that release requires.
ks_dir=$(module_dir "$here/go/kubestellar" github.com/kubestellar/kubestellar)
kubeflex_dir=$(module_dir "$here/go/kubestellar" github.com/kubestellar/kubeflex)

cat > "$cache/lab.env" <<EOF
FLEET_LAB_KUBE_APISERVER=$k8s_out/kube-apiserver
FLEET_LAB_KUBE_CONTROLLER_MANAGER=$k8s_out/kube-controller-manager
FLEET_LAB_OCM_REGISTRATION=$ocm_out/registration
FLEET_LAB_OCM_REGISTRATION_OPERATOR=$ocm_out/registration-operator
FLEET_LAB_OCM_API_DIR=$api_dir
FLEET_LAB_OCM_DIR=$ocm_dir
FLEET_LAB_KUBESTELLAR_DIR=$ks_dir
FLEET_LAB_KUBEFLEX_DIR=$kubeflex_dir
FLEET_LAB_KUBESTELLAR_CONTROLLER_MANAGER=$ks_out/controller-manager
FLEET_LAB_KUBESTELLAR_OCM_TRANSPORT_CONTROLLER=$ks_out/ocm-transport-controller
FLEET_LAB_ACTIONLINT=$actionlint_out/actionlint
FLEET_LAB_KUBECTL=$kubectl_out/kubectl
EOF
echo "$cache"
