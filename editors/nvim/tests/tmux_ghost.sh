#!/usr/bin/env bash
# Ghost text in a real Neovim inside tmux, captured as text (capture-pane).
#   editors/nvim/tests/tmux_ghost.sh OUT.txt
# Env: CODEFLOW_SERVER (default: codeflow on PATH), CODEFLOW_MODEL (optional model dir),
#      CODEFLOW_TYPE (what to type on the new line first; default "    return a"),
#      NVIM (the Neovim binary; default nvim on PATH),
#      CODEFLOW_NATIVE=1 (setup{native_inline=true}: Neovim 0.12's vim.lsp.inline_completion),
#      CODEFLOW_TYPE_ALL=1 (type every key of the script, each once the server has answered the
#        previous one (2 s at most), so that suggestions come and go while typing; the buffer is
#        then saved to OUT.txt.typed: what a user typed must be there, in order).
set -euo pipefail
out=${1:?usage: tmux_ghost.sh OUT.txt}
mkdir -p "$(dirname "$out")"
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
  native_inline = "${CODEFLOW_NATIVE:-0}" == "1",
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
    local native = require("codeflow").completion_path() == "native"
    local g = require(native and "codeflow.native" or "codeflow.ghost")
    local f = io.open("$ws/shown.txt", "w")
    f:write(g.shown_text(0) or "")
    f:close()
  end,
})
-- Counts the server's answers (shown or empty) in $ws/answers, for typing one key per answer.
local answers, seen = 0, nil
vim.loop.new_timer():start(20, 20, vim.schedule_wrap(function()
  local native = require("codeflow").completion_path() == "native"
  local last = require(native and "codeflow.native" or "codeflow.ghost").last
  if last ~= nil and last ~= seen then
    seen, answers = last, answers + 1
    local f = io.open("$ws/answers", "w")
    f:write(tostring(answers))
    f:close()
  end
end))
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
type_all=${CODEFLOW_TYPE_ALL:-0}
capture() {
  {
    echo "# Neovim $("$nvim" --version | head -1 | cut -d' ' -f2) in tmux, codeflow plugin ($([ "${CODEFLOW_NATIVE:-0}" = 1 ] && echo "native vim.lsp.inline_completion" || echo "plugin ghost text")); the ghost text (virtual text, not in the buffer) is:"
    { cat "$ws/shown.txt"; echo; } | sed 's/^/#   /'
    echo "# ---- tmux capture-pane ----"
    tmux -L "$sock" capture-pane -p
  } > "$out"
}
captured=0
answered=0
for i in $(seq 0 $((${#extra} - 1))); do
  if [ "$type_all" = 1 ]; then
    for _ in $(seq 1 20); do
      n=$(cat "$ws/answers" 2>/dev/null || true)
      [ "${n:-0}" -gt "$answered" ] && break
      sleep 0.1
    done
    n=$(cat "$ws/answers" 2>/dev/null || true)
    answered=${n:-$answered}
    if [ "$captured" = 0 ] && [ -s "$ws/shown.txt" ]; then sleep 0.2; capture; captured=1; fi
  else
    for _ in $(seq 1 30); do
      [ -s "$ws/shown.txt" ] && break 2
      sleep 0.1
    done
  fi
  ch="${extra:$i:1}"
  if [ "$ch" = $'\n' ]; then tmux -L "$sock" send-keys Enter; else tmux -L "$sock" send-keys -l "$ch"; fi
done
[ -s "$ws/shown.txt" ] || { echo "no suggestion shown" >&2; tmux -L "$sock" capture-pane -p >&2; exit 1; }
if [ "$captured" = 0 ]; then
  sleep 0.5
  capture
fi
if [ "$type_all" = 1 ]; then
  sleep 0.5
  tmux -L "$sock" send-keys Escape
  tmux -L "$sock" send-keys -l ":w! $ws/typed.py"
  tmux -L "$sock" send-keys Enter
  for _ in $(seq 1 50); do
    [ -s "$ws/typed.py" ] && break
    sleep 0.1
  done
  [ -s "$ws/typed.py" ] || { echo "the buffer was not saved" >&2; tmux -L "$sock" capture-pane -p >&2; exit 1; }
  cp "$ws/typed.py" "$out.typed"
fi
cat "$out"
