#!/usr/bin/env bash
# Builds Flux's helm-controller and source-controller for the side-by-side
# benchmark (npm run bench -- flux|compare) with the Go toolchain through the Go
# module proxy, into the machine-wide cache the bench looks in:
#   ${XDG_CACHE_HOME:-$HOME/.cache}/caelus/flux/<helm-controller version>-<source-controller version>/
# Cold: ~5 min each on 2 cores. Warm (GOCACHE kept): seconds.
# The controllers' CRDs are copied next to them (crds/), from the module cache.
# Nothing is built when the binaries are already there.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=flux/versions.env
source "$here/flux/versions.env"
out="${XDG_CACHE_HOME:-$HOME/.cache}/caelus/flux/$HELM_CONTROLLER_VERSION-$SOURCE_CONTROLLER_VERSION"

missing=()
for b in helm-controller source-controller; do [ -x "$out/$b" ] && [ -d "$out/crds/$b" ] || missing+=("$b"); done
if [ ${#missing[@]} -eq 0 ]; then
  echo "flux controllers already built in $out"
  exit 0
fi
command -v go >/dev/null || { echo "build-flux: the Go toolchain is required (go not on PATH)" >&2; exit 1; }

mkdir -p "$out"
# Two callers at once (CI steps, parallel test runs) would each compile the
# same packages: the second waits here and then finds the binaries built.
exec 9>"$out/.build.lock"
flock 9
# -mod=mod: go.sum is committed but not tidied for source-controller (see its go.mod).
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
for b in "${missing[@]}"; do
  mod="github.com/fluxcd/$b"
  dir="$(cd "$here/flux/$b" && go mod download "$mod" && go list -m -f '{{.Dir}}' "$mod")"
  mkdir -p "$out/crds/$b"
  cp "$dir"/config/crd/bases/*.yaml "$out/crds/$b/"
  [ -x "$out/$b" ] && continue
  start=$(date +%s)
  echo "building $b ..."
  # -p 2 keeps peak memory within budget on a 2-core machine.
  (cd "$here/flux/$b" && go build -p 2 -trimpath -ldflags "-s -w" -o "$out/$b.tmp" "$mod")
  mv "$out/$b.tmp" "$out/$b"
  echo "built $b in $(( $(date +%s) - start ))s"
done
echo "flux controllers in $out"
