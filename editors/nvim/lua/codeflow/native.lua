-- Neovim 0.12+ with setup{ native_inline = true }: suggestions through the built-in
-- vim.lsp.inline_completion (as with Copilot's language server) instead of the plugin's extmarks.
--
-- Neovim's completor re-draws its last item on every CursorMovedI at the item's range as it was
-- when the answer came. After an edit that shortens that line (<CR> on an autoindented blank line
-- drops the indent) the range points past the end of the line, nvim_buf_set_extmark raises
-- "Invalid 'col': out of range" inside the autocmd, and the error's hit-enter/more prompt swallows
-- the next keys (<Space>, <CR>, u): "def sub(a, b):" became "defs(a,b):". So the answer reaches
-- Neovim without ranges (the text after what is already typed, drawn at the cursor), the range's
-- replaced suffix is kept here for the accept, and a suggestion is hidden as soon as the text
-- changes (the next answer brings the new one).
local client = require("codeflow.client")
local config = require("codeflow.config")
local util = require("codeflow.util")

local M = {}
M.last = nil -- { text, raw, latency_ms, replace } of the last answer (tests, health)
M.shown = nil -- { buf, text, full, uri } the item Neovim shows

local METHOD = "textDocument/inlineCompletion"

function M.available()
  return vim.lsp.inline_completion ~= nil and vim.lsp.inline_completion.get ~= nil and util.has("nvim-0.12")
end

---Bytes of `line` (UTF-16 or UTF-8 LSP columns) between two characters of the same line.
local function span(line, from, to, enc)
  return line:sub(util.byte_col(line, from, enc) + 1, util.byte_col(line, to, enc))
end

---The answer as Neovim gets it: items without ranges, the text after the cursor only.
function M.adapt(result, params, buf, enc)
  local items = result and (result.items or result) or {}
  local row, char = params.position.line, params.position.character
  local line = vim.api.nvim_buf_get_lines(buf, row, row + 1, false)[1] or ""
  local out, replace = {}, {}
  for _, item in ipairs(items) do
    local text = item.insertText
    text = type(text) == "table" and text.value or text
    local suffix = ""
    if type(text) == "string" and item.range then
      local s, e = item.range.start, item.range["end"]
      if s.line == row and s.character <= char then
        local typed = span(line, s.character, char, enc)
        text = text:sub(1, #typed) == typed and text:sub(#typed + 1) or nil
        if e.line == row and e.character > char then
          suffix = span(line, char, e.character, enc)
        end
      else
        text = nil
      end
    end
    if type(text) == "string" and text ~= "" then
      text = require("codeflow.ghost").sanitize(text)
      table.insert(out, { insertText = text, command = item.command })
      replace[text] = suffix
    end
  end
  return { items = out }, replace, out[1] and out[1].insertText or nil
end

---Wraps the client's request so that inline completions go through `adapt`.
function M.wrap(c)
  if c._codeflow_native then
    return
  end
  c._codeflow_native = true
  local orig = c.request
  c.request = function(self, method, params, handler, bufnr)
    if method ~= METHOD or type(handler) ~= "function" then
      return orig(self, method, params, handler, bufnr)
    end
    local buf = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
    local t0 = vim.loop.hrtime()
    return orig(self, method, params, function(err, result, ctx, cfg)
      if err or not result or not vim.api.nvim_buf_is_valid(buf) then
        return handler(err, result, ctx, cfg)
      end
      local latency = (vim.loop.hrtime() - t0) / 1e6
      local adapted, replace, text = M.adapt(result, params, buf, self.offset_encoding or "utf-16")
      local first = (result.items or result)[1]
      local raw = first and first.insertText
      M.last = { text = text, raw = type(raw) == "table" and raw.value or raw, latency_ms = latency, replace = replace }
      handler(err, adapted, ctx, cfg)
      if text then
        local uri = vim.uri_from_bufnr(buf)
        M.shown = { buf = buf, text = text, full = text, uri = uri, accepted = 0 }
        util.rpc_notify(self, "codeflow/didShowCompletion", { uri = uri, text = text, latencyMs = math.floor(latency + 0.5) })
        vim.api.nvim_exec_autocmds("User", { pattern = "CodeflowSuggestion", modeline = false })
      else
        M.shown = nil
      end
    end, bufnr)
  end
end

---The text Neovim's inline completion shows in `buf` (its extmarks), or nil.
function M.shown_text(buf)
  buf = buf or vim.api.nvim_get_current_buf()
  local ns = vim.api.nvim_get_namespaces()["nvim.lsp.inline_completion"]
  if not ns then
    return nil
  end
  local marks = vim.api.nvim_buf_get_extmarks(buf, ns, 0, -1, { details = true })
  if #marks == 0 then
    return nil
  end
  local out = {}
  for _, m in ipairs(marks) do
    local first = ""
    for _, chunk in ipairs(m[4].virt_text or {}) do
      first = first .. chunk[1]
    end
    table.insert(out, first)
    for _, vl in ipairs(m[4].virt_lines or {}) do
      local s = ""
      for _, chunk in ipairs(vl) do
        s = s .. chunk[1]
      end
      table.insert(out, s)
    end
  end
  return table.concat(out, "\n")
end

---Inserts `take` bytes of the item's text at the cursor (all when nil), replacing the suffix
---the server's range covered when the whole text goes in. Sends didAcceptCompletion.
local function apply(item, take)
  local text = type(item.insert_text) == "table" and item.insert_text.value or item.insert_text
  local part = text:sub(1, take or #text)
  local buf = vim.api.nvim_get_current_buf()
  local pos = vim.api.nvim_win_get_cursor(0)
  local row, col = pos[1] - 1, pos[2]
  local line = vim.api.nvim_buf_get_lines(buf, row, row + 1, false)[1] or ""
  local suffix = (#part == #text and M.last and M.last.replace and M.last.replace[text]) or ""
  local stop = col
  if suffix ~= "" and line:sub(col + 1, col + #suffix) == suffix then
    stop = col + #suffix
  end
  local lines = util.split_lines(part)
  vim.api.nvim_buf_set_text(buf, row, col, row, stop, lines)
  vim.api.nvim_win_set_cursor(0, { row + #lines, (#lines == 1 and col or 0) + #lines[#lines] })
  local c = client.get()
  if c then
    util.rpc_notify(c, "codeflow/didAcceptCompletion", {
      uri = vim.uri_from_bufnr(buf),
      text = text,
      acceptedLength = util.utf16_len(part),
    })
    if item.command then
      pcall(c.exec_cmd, c, item.command, { bufnr = buf })
    end
  end
  M.shown = nil
end

---Accepts the shown item (`take`: a function text -> bytes, nil = all). False when none is shown.
function M.accept(take)
  return vim.lsp.inline_completion.get({
    on_accept = function(item)
      local text = type(item.insert_text) == "table" and item.insert_text.value or item.insert_text
      apply(item, take and take(text) or nil)
    end,
  })
end

---Hides the shown item (Neovim's abort through get() with an accept that does nothing).
function M.dismiss()
  M.shown = nil
  return vim.lsp.inline_completion.get({ on_accept = function() end })
end

function M.setup(group)
  client.on_ready = {
    function(c)
      M.wrap(c)
      pcall(vim.lsp.inline_completion.enable, config.options.ghost.enabled)
    end,
  }
  local c = client.get()
  if c then
    M.wrap(c)
    pcall(vim.lsp.inline_completion.enable, config.options.ghost.enabled)
  end
  -- Typing hides the old suggestion at once (Neovim would keep drawing it until the next answer).
  vim.api.nvim_create_autocmd({ "TextChangedI" }, {
    group = group,
    callback = function()
      if M.shown and M.shown_text(0) then
        M.dismiss()
      end
    end,
  })
  local k = config.options.keys
  local ghost = require("codeflow.ghost")
  local function map(lhs, fn, desc)
    if lhs and lhs ~= "" then
      vim.keymap.set("i", lhs, function()
        if not fn() then
          return lhs -- nothing shown: the key does what it did before
        end
        return ""
      end, { expr = true, replace_keycodes = true, desc = desc })
    end
  end
  map(k.accept, function()
    return M.accept()
  end, "codeflow: accept suggestion")
  map(k.accept_word, function()
    return M.accept(ghost.next_word_len)
  end, "codeflow: accept next word")
  map(k.accept_line, function()
    return M.accept(ghost.next_line_len)
  end, "codeflow: accept next line")
  map(k.dismiss, function()
    return M.shown_text(0) ~= nil and M.dismiss()
  end, "codeflow: dismiss suggestion")
end

return M
