#!/usr/bin/env bash
# Ghost text in a real Neovim inside tmux, captured as text (capture-pane).
#   editors/nvim/tests/tmux_ghost.sh OUT.txt
# Env: CODEFLOW_SERVER (default: codeflow on PATH), CODEFLOW_MODEL (optional model dir),
#      CODEFLOW_TYPE (what to type on the new line first; default "    return a").
set -euo pipefail
out=${1:?usage: tmux_ghost.sh OUT.txt}
plugin=$(cd "$(dirname "$0")/.." && pwd)
server=${CODEFLOW_SERVER:-codeflow}
ws=$(mktemp -d)
sock="codeflow-shot-$$"
trap 'tmux -L "$sock" kill-server 2>/dev/null || true; rm -rf "$ws"' EXIT
mkdir -p "$ws/.git"
cat > "$ws/calc.py" <<'PY'
"""Tiny calculator."""


def add(a, b):
    return a + b


def mul(a, b):
PY
cat > "$ws/init.lua" <<LUA
vim.opt.number = true
vim.opt.termguicolors = false
require("codeflow").setup({
  cmd = { "$server", "serve" },
  ghost = { debounce_ms = 50 },
  settings = ("${CODEFLOW_MODEL:-}" ~= "") and { modelPath = "${CODEFLOW_MODEL:-}" } or {},
})
vim.api.nvim_create_autocmd("User", {
  pattern = "CodeflowStatus",
  callback = function()
    local s = require("codeflow.client").status
    if s and s.state == "idle" then
      io.open("$ws/ready", "w"):close()
    end
  end,
})
vim.api.nvim_create_autocmd("User", {
  pattern = "CodeflowSuggestion",
  callback = function()
    local g = require("codeflow.ghost")
    local f = io.open("$ws/shown.txt", "w")
    f:write(g.shown_text(0) or "")
    f:close()
  end,
})
LUA
nvim=${NVIM:-nvim}
tmux -L "$sock" new-session -d -x 90 -y 16 \
  "$nvim -u NONE -i NONE --cmd 'set rtp+=$plugin' -c 'luafile $ws/init.lua' $ws/calc.py"
# Wait for the server to be idle (indexed, model loaded), then type like a user; add characters
# until a suggestion shows.
for _ in $(seq 1 600); do
  [ -e "$ws/ready" ] && break
  sleep 0.1
done
[ -e "$ws/ready" ] || { echo "the server never became idle" >&2; tmux -L "$sock" capture-pane -p >&2; exit 1; }
tmux -L "$sock" send-keys G o
tmux -L "$sock" send-keys -l "${CODEFLOW_TYPE:-    return a}"
extra=$' * b\n\n\ndef sub(a, b):\nreturn a - b\n\n\ndef div(a, b):\n'
for i in $(seq 0 ${#extra}); do
  for _ in $(seq 1 30); do
    [ -s "$ws/shown.txt" ] && break 2
    sleep 0.1
  done
  ch="${extra:$i:1}"
  if [ "$ch" = $'\n' ]; then tmux -L "$sock" send-keys Enter; else tmux -L "$sock" send-keys -l "$ch"; fi
done
[ -s "$ws/shown.txt" ] || { echo "no suggestion shown" >&2; tmux -L "$sock" capture-pane -p >&2; exit 1; }
sleep 0.5
{
  echo "# Neovim $("$nvim" --version | head -1 | cut -d' ' -f2) in tmux, codeflow plugin; the ghost text (virtual text, not in the buffer) is:"
  { cat "$ws/shown.txt"; echo; } | sed 's/^/#   /'
  echo "# ---- tmux capture-pane ----"
  tmux -L "$sock" capture-pane -p
} > "$out"
cat "$out"
