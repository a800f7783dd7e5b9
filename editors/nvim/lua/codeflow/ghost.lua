-- Ghost text: textDocument/inlineCompletion on TextChangedI/CursorMovedI (debounced), shown with
-- extmarks (virtual text on the cursor line, virtual lines below), accepted whole, by word or by
-- line, dismissed on move/InsertLeave. Sends codeflow/didShowCompletion and
-- codeflow/didAcceptCompletion (one per shown suggestion; acceptedLength in UTF-16 units).
local client = require("codeflow.client")
local config = require("codeflow.config")
local util = require("codeflow.util")

local M = {}
M.ns = vim.api.nvim_create_namespace("codeflow_ghost")
M.enabled = true

-- The suggestion on screen: { buf, row, col (byte), text (remaining), full, accepted, uri, tick }
M.current = nil
-- For tests and :checkhealth: the last response { text, items, latency_ms }.
M.last = nil

local timer = nil
local inflight = nil -- { client, id }
local seq = 0

local function clear_marks(buf)
  if buf and vim.api.nvim_buf_is_valid(buf) then
    vim.api.nvim_buf_clear_namespace(buf, M.ns, 0, -1)
  end
end

local function cancel_inflight()
  if inflight then
    pcall(util.cancel_request, inflight.client, inflight.id)
    inflight = nil
  end
end

local function send_accept(cur)
  local c = client.get()
  if c and cur.accepted > 0 then
    util.rpc_notify(c, "codeflow/didAcceptCompletion", {
      uri = cur.uri,
      text = cur.full,
      acceptedLength = util.utf16_len(cur.full:sub(1, cur.accepted)),
    })
  end
end

---Hides the suggestion; reports a partial accept if there was one.
function M.dismiss()
  local cur = M.current
  M.current = nil
  cancel_inflight()
  if cur then
    clear_marks(cur.buf)
    if cur.accepted > 0 and cur.accepted < #cur.full then
      send_accept(cur)
    end
  end
end

function M.visible()
  return M.current ~= nil
end

local function render(cur)
  clear_marks(cur.buf)
  local lines = util.split_lines(cur.text)
  local hl = config.options.ghost.hl_group
  local line = vim.api.nvim_buf_get_lines(cur.buf, cur.row, cur.row + 1, false)[1] or ""
  local opts = { hl_mode = "combine", priority = 1000 }
  if lines[1] ~= "" then
    opts.virt_text = { { lines[1], hl } }
    if util.has("nvim-0.10") then
      opts.virt_text_pos = "inline"
    elseif cur.col >= #line then
      opts.virt_text_pos = "overlay"
    else
      opts.virt_text_pos = "eol"
    end
  end
  if #lines > 1 then
    local vl = {}
    for i = 2, #lines do
      table.insert(vl, { { lines[i], hl } })
    end
    opts.virt_lines = vl
  end
  cur.mark = vim.api.nvim_buf_set_extmark(cur.buf, M.ns, cur.row, math.min(cur.col, #line), opts)
  vim.api.nvim_exec_autocmds("User", { pattern = "CodeflowSuggestion", modeline = false })
end

---The text the extmarks show (virt_text + virt_lines), for tests and health.
function M.shown_text(buf)
  buf = buf or vim.api.nvim_get_current_buf()
  local marks = vim.api.nvim_buf_get_extmarks(buf, M.ns, 0, -1, { details = true })
  local out = {}
  for _, m in ipairs(marks) do
    local d = m[4]
    local first = ""
    for _, chunk in ipairs(d.virt_text or {}) do
      first = first .. chunk[1]
    end
    table.insert(out, first)
    for _, vl in ipairs(d.virt_lines or {}) do
      local s = ""
      for _, chunk in ipairs(vl) do
        s = s .. chunk[1]
      end
      table.insert(out, s)
    end
  end
  if #marks == 0 then
    return nil
  end
  return table.concat(out, "\n")
end

---Text as the buffer can hold it: CRLF/CR → LF, other control characters (NUL, ...) dropped.
function M.sanitize(text)
  text = text:gsub("\r\n", "\n"):gsub("\r", "\n")
  return (text:gsub("[%z\1-\8\11\12\14-\31\127]", ""))
end

local function item_text(item)
  local t = item.insertText
  if type(t) == "table" then
    t = t.value
  end
  return type(t) == "string" and M.sanitize(t) or nil
end

---The part of `item` to show after the cursor at (row, col), or nil if it does not fit.
function M.visible_part(item, row, col, line, encoding)
  local text = item_text(item)
  if not text or text == "" then
    return nil
  end
  if item.range then
    local s = item.range.start
    if s.line ~= row then
      return nil
    end
    local start_col = util.byte_col(line, s.character, encoding)
    local typed = line:sub(start_col + 1, col)
    if text:sub(1, #typed) ~= typed then
      return nil
    end
    text = text:sub(#typed + 1)
  end
  return text ~= "" and text or nil
end

local function request(buf)
  local c = client.get()
  if not (c and client.ready and M.enabled and config.options.ghost.enabled) then
    return
  end
  if vim.api.nvim_get_current_buf() ~= buf or vim.fn.mode() ~= "i" then
    return
  end
  cancel_inflight()
  local win = vim.api.nvim_get_current_win()
  local cursor = vim.api.nvim_win_get_cursor(win)
  local row, col = cursor[1] - 1, cursor[2]
  local line = vim.api.nvim_buf_get_lines(buf, row, row + 1, false)[1] or ""
  local enc = c.offset_encoding or "utf-16"
  local uri = vim.uri_from_bufnr(buf)
  local tick = vim.api.nvim_buf_get_changedtick(buf)
  local params = {
    textDocument = { uri = uri },
    position = { line = row, character = util.char_col(line, col, enc) },
    context = { triggerKind = 2 }, -- Automatic
  }
  seq = seq + 1
  local my = seq
  local t0 = vim.loop.hrtime()
  local ok, id = util.request(c, "textDocument/inlineCompletion", params, function(err, result)
    if my ~= seq then
      return
    end
    inflight = nil
    local latency = (vim.loop.hrtime() - t0) / 1e6
    if err then
      M.last = { error = err, latency_ms = latency }
      return
    end
    local items = result and (result.items or result) or {}
    local raw = items[1] and items[1].insertText
    M.last = {
      items = items,
      latency_ms = latency,
      raw = type(raw) == "table" and raw.value or raw,
      text = items[1] and item_text(items[1]) or nil,
    }
    -- Still where we asked?
    if not vim.api.nvim_buf_is_valid(buf) or vim.api.nvim_get_current_buf() ~= buf or vim.fn.mode() ~= "i" then
      return
    end
    if vim.api.nvim_buf_get_changedtick(buf) ~= tick then
      return
    end
    local now = vim.api.nvim_win_get_cursor(0)
    if now[1] - 1 ~= row or now[2] ~= col then
      return
    end
    local item = items[1]
    local text = item and M.visible_part(item, row, col, line, enc)
    if not text then
      return
    end
    M.dismiss()
    M.current = { buf = buf, row = row, col = col, text = text, full = text, accepted = 0, uri = uri, tick = tick }
    M.last.shown = text
    render(M.current)
    util.rpc_notify(c, "codeflow/didShowCompletion", { uri = uri, text = text, latencyMs = math.floor(latency + 0.5) })
  end, buf)
  if ok then
    inflight = { client = c, id = id }
  end
end

---Debounced trigger (TextChangedI / CursorMovedI).
function M.schedule(buf)
  buf = buf or vim.api.nvim_get_current_buf()
  local cur = M.current
  if cur then
    local pos = vim.api.nvim_win_get_cursor(0)
    if cur.buf == buf and pos[1] - 1 == cur.row and pos[2] == cur.col and vim.api.nvim_buf_get_changedtick(buf) == cur.tick then
      return -- our own accept moved the cursor here
    end
    M.dismiss()
  end
  if timer then
    timer:stop()
  else
    timer = vim.loop.new_timer()
  end
  timer:start(config.options.ghost.debounce_ms, 0, vim.schedule_wrap(function()
    request(buf)
  end))
end

---Inserts `n` bytes of the suggestion (all when nil). Returns true if something was inserted.
function M.accept(n)
  local cur = M.current
  if not cur or not vim.api.nvim_buf_is_valid(cur.buf) or vim.api.nvim_get_current_buf() ~= cur.buf then
    return false
  end
  local take = cur.text:sub(1, n or #cur.text)
  if take == "" then
    return false
  end
  clear_marks(cur.buf)
  local lines = util.split_lines(take)
  vim.api.nvim_buf_set_text(cur.buf, cur.row, cur.col, cur.row, cur.col, lines)
  local end_row = cur.row + #lines - 1
  local end_col = (#lines == 1) and (cur.col + #lines[1]) or #lines[#lines]
  vim.api.nvim_win_set_cursor(0, { end_row + 1, end_col })
  cur.accepted = cur.accepted + #take
  cur.text = cur.text:sub(#take + 1)
  cur.row, cur.col = end_row, end_col
  cur.tick = vim.api.nvim_buf_get_changedtick(cur.buf)
  if cur.text == "" then
    M.current = nil
    send_accept(cur)
  else
    render(cur)
  end
  return true
end

---Bytes of the next word of the suggestion (leading spaces included).
function M.next_word_len(text)
  local s, e = text:find("^%s*[%w_]+")
  if not s then
    s, e = text:find("^%s*[^%w_%s]+")
  end
  if not s then
    s, e = text:find("^%s+")
  end
  return e or #text
end

---Bytes up to the end of the current line of the suggestion (a leading newline takes the next line).
function M.next_line_len(text)
  local nl = text:find("\n", 1, true)
  if nl == 1 then
    local nl2 = text:find("\n", 2, true)
    return nl2 and nl2 - 1 or #text
  end
  return nl and nl - 1 or #text
end

function M.accept_word()
  return M.current ~= nil and M.accept(M.next_word_len(M.current.text))
end

function M.accept_line()
  return M.current ~= nil and M.accept(M.next_line_len(M.current.text))
end

local function feed(key)
  vim.api.nvim_feedkeys(vim.api.nvim_replace_termcodes(key, true, false, true), "ni", false)
end

function M.setup_keymaps()
  local k = config.options.keys
  local function map(lhs, fn, desc)
    if lhs and lhs ~= "" then
      vim.keymap.set("i", lhs, function()
        if not fn() then
          feed(lhs) -- nothing shown: the key does what it did before
        end
      end, { desc = desc, silent = true })
    end
  end
  map(k.accept, function()
    return M.accept()
  end, "codeflow: accept suggestion")
  map(k.accept_word, M.accept_word, "codeflow: accept next word")
  map(k.accept_line, M.accept_line, "codeflow: accept next line")
  map(k.dismiss, function()
    if M.current then
      M.dismiss()
      return true
    end
    return false
  end, "codeflow: dismiss suggestion")
end

function M.setup_autocmds(group)
  vim.api.nvim_create_autocmd({ "TextChangedI", "CursorMovedI" }, {
    group = group,
    callback = function(ev)
      if client.get() and vim.lsp.buf_is_attached(ev.buf, client.client_id) then
        M.schedule(ev.buf)
      end
    end,
  })
  vim.api.nvim_create_autocmd({ "InsertLeave", "BufLeave" }, {
    group = group,
    callback = function()
      if timer then
        timer:stop()
      end
      M.dismiss()
    end,
  })
  vim.api.nvim_set_hl(0, config.options.ghost.hl_group, { link = "Comment", default = true })
end

return M
