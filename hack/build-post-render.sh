#!/usr/bin/env bash
# Builds the post-renderer client helm runs for every install/upgrade
# (hack/post-render/main.go, standard library only) into the machine-wide cache
# the operator looks in:
#   ${XDG_CACHE_HOME:-$HOME/.cache}/caelus/post-render/<sha256 of main.go, 16 hex>/caelus-post-render
# The directory is keyed by the source, so an edited client is rebuilt and an
# old binary is never used for new source (src/helm/post-render/client.ts
# computes the same key). Reproducible: -trimpath, no build id, no cgo.
# Without Go the operator falls back to the Node post-renderer (and logs so).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
src="$here/post-render"
key="$(sha256sum "$src/main.go" | cut -c1-16)"
out="${XDG_CACHE_HOME:-$HOME/.cache}/caelus/post-render/$key"
if [ -x "$out/caelus-post-render" ]; then
  echo "post-render client already built in $out"
  exit 0
fi
command -v go >/dev/null || { echo "build-post-render: the Go toolchain is required (go not on PATH)" >&2; exit 1; }
mkdir -p "$out"
# Parallel test runs each call this from their global setup: the second waits
# here and then finds the binary built.
exec 9>"$out/.build.lock"
flock 9
[ -x "$out/caelus-post-render" ] && { echo "post-render client built in $out"; exit 0; }
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
(cd "$src" && go build -trimpath -ldflags "-s -w -buildid=" -o "$out/caelus-post-render.tmp" .)
mv "$out/caelus-post-render.tmp" "$out/caelus-post-render"
echo "post-render client in $out"
