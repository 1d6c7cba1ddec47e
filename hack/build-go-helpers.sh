#!/usr/bin/env bash
# Builds the small Go programs the operator runs beside helm (standard library
# only), each into the machine-wide cache the operator looks in:
#   ${XDG_CACHE_HOME:-$HOME/.cache}/caelus/<name>/<sha256 of main.go, 16 hex>/caelus-<name>
#   post-render  hack/post-render: the post-renderer client helm runs for every install/upgrade
#   spawner      hack/spawner: starts helm for the operator, so the operator never forks
# A directory is keyed by its source, so an edited program is rebuilt and an
# old binary is never used for new source (src/helm/go-helpers.ts computes the
# same key). Reproducible: -trimpath, no build id, no cgo.
# Without Go the operator falls back to Node for both (and logs so).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
command -v go >/dev/null || { echo "build-go-helpers: the Go toolchain is required (go not on PATH)" >&2; exit 1; }
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
for name in post-render spawner; do
  src="$here/$name"
  key="$(sha256sum "$src/main.go" | cut -c1-16)"
  out="${XDG_CACHE_HOME:-$HOME/.cache}/caelus/$name/$key"
  bin="$out/caelus-$name"
  if [ -x "$bin" ]; then
    echo "$name already built in $out"
    continue
  fi
  mkdir -p "$out"
  # Parallel test runs each call this from their global setup: the second waits
  # here and then finds the binary built.
  (
    flock 9
    if [ ! -x "$bin" ]; then
      (cd "$src" && go build -trimpath -ldflags "-s -w -buildid=" -o "$bin.tmp" .)
      mv "$bin.tmp" "$bin"
    fi
  ) 9>"$out/.build.lock"
  echo "$name built in $out"
done
