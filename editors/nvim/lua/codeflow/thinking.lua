-- A reasoning model's reasoning in the chat buffer: streamed under a "### Thinking…" line and
-- folded (closed) so the answer stays in view; when the answer starts, the line says how long the
-- model thought ("### Thought for 3.2 s"). Folds come from 'foldexpr' over the recorded blocks, so
-- they hold in every window that shows the chat buffer. Open one with `zo`.
local M = {
  blocks = {}, -- bufnr -> list of { start = lnum, stop = lnum | nil (streaming) }
}

---"0.8 s", "12 s", "2 min 5 s" (the VS Code panel's labels).
function M.elapsed_label(ms)
  local s = math.max(0, ms) / 1000
  if s < 10 then
    return string.format("%.1f s", s)
  elseif s < 60 then
    return string.format("%d s", math.floor(s + 0.5))
  end
  local whole = math.floor(s + 0.5)
  return string.format("%d min %d s", math.floor(whole / 60), whole % 60)
end

---'foldexpr' of the chat buffer: one level-1 fold per reasoning block.
function M.foldexpr(lnum)
  local buf = vim.api.nvim_get_current_buf()
  for _, b in ipairs(M.blocks[buf] or {}) do
    local stop = b.stop or vim.api.nvim_buf_line_count(buf)
    if lnum == b.start then
      return ">1"
    elseif lnum > b.start and lnum < stop then
      return "1"
    elseif lnum == stop then
      return "<1"
    end
  end
  return "0"
end

---Folds by the reasoning blocks in window `win` (closed unless opened with `zo`).
function M.setup_window(win)
  vim.wo[win].foldmethod = "expr"
  vim.wo[win].foldexpr = "v:lua.require'codeflow.thinking'.foldexpr(v:lnum)"
  vim.wo[win].foldlevel = 0
  vim.wo[win].foldenable = true
end

---A reasoning piece for `run` (the chat request): opens its block on the first piece.
---`append(buf, text)` adds text at the end of the buffer.
function M.reasoning(run, buf, delta, append)
  if not run.thinking then
    local start = vim.api.nvim_buf_line_count(buf)
    append(buf, "### Thinking…\n")
    run.thinking = { start = start, t0 = vim.loop.hrtime() }
    M.blocks[buf] = M.blocks[buf] or {}
    table.insert(M.blocks[buf], run.thinking)
    delta = delta:gsub("^\n+", "")
  end
  run.reasoning = (run.reasoning or "") .. delta
  append(buf, delta)
end

---The reasoning of `run` is over (its answer started, or the request ended): close the block,
---say how long it took, and start the answer on a fresh line.
function M.done(run, buf, append)
  local b = run.thinking
  if not b or b.stop then
    return
  end
  local last = vim.api.nvim_buf_line_count(buf)
  local tail = vim.api.nvim_buf_get_lines(buf, last - 1, last, false)[1] or ""
  b.stop = tail == "" and last - 1 or last
  b.ms = (vim.loop.hrtime() - b.t0) / 1e6
  run.reasoning_ms = b.ms
  vim.api.nvim_buf_set_lines(buf, b.start - 1, b.start, false, { "### Thought for " .. M.elapsed_label(b.ms) })
  append(buf, tail == "" and "\n" or "\n\n")
end

---Forget the blocks of `buf` (the chat buffer was cleared).
function M.reset(buf)
  M.blocks[buf] = nil
end

return M
