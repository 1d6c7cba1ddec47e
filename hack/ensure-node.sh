#!/usr/bin/env bash
# Source this file: it makes sure `node` on PATH satisfies the project's engines
# range (Node 24 LTS). When the machine's node is older, Node 24 is installed
# from the npm registry's `node` package into a cache directory and put first
# on PATH. Usage: `source hack/ensure-node.sh`
# The version lives in .nvmrc (hack/node24.mjs, the npm scripts' launcher, reads it too).
NODE_WANT_VERSION=$(tr -d '[:space:]' < "$(dirname "${BASH_SOURCE[0]:-$0}")/../.nvmrc")
NODE_WANT_MAJOR=${NODE_WANT_VERSION%%.*}
_caelus_cache="${XDG_CACHE_HOME:-$HOME/.cache}/caelus"
_node_dir="$_caelus_cache/node-$NODE_WANT_VERSION"

_node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

if [ "$(_node_major)" -lt "$NODE_WANT_MAJOR" ]; then
  if [ ! -x "$_node_dir/node_modules/node/bin/node" ]; then
    echo "caelus: node $(node --version 2>/dev/null || echo missing) is older than $NODE_WANT_MAJOR; installing node@$NODE_WANT_VERSION into $_node_dir" >&2
    mkdir -p "$_node_dir"
    npm install --silent --no-save --prefix "$_node_dir" "node@$NODE_WANT_VERSION" >&2 || {
      echo "caelus: could not install node@$NODE_WANT_VERSION from the npm registry" >&2
      return 1 2>/dev/null || exit 1
    }
  fi
  export PATH="$_node_dir/node_modules/node/bin:$_node_dir/node_modules/.bin:$PATH"
fi
echo "caelus: using node $(node --version) at $(command -v node)" >&2
unset _caelus_cache _node_dir
