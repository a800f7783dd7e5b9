-- Small helpers shared by the codeflow modules (Neovim 0.7+).
local M = {}

M.has = function(feature)
  return vim.fn.has(feature) == 1
end

---Position (0-based line, UTF-16 character) → byte column in `line`.
function M.byte_col(line, character, encoding)
  if encoding == "utf-8" then
    return math.min(character, #line)
  end
  local ok, col = pcall(vim.str_byteindex, line, character, encoding ~= "utf-32")
  if ok then
    return col
  end
  return #line
end

---Byte column → UTF-16 (or UTF-32) character index of `line`.
function M.char_col(line, col, encoding)
  if encoding == "utf-8" then
    return col
  end
  local utf32, utf16 = vim.str_utfindex(line, math.min(col, #line))
  return encoding == "utf-32" and utf32 or utf16
end

---Length of `s` in UTF-16 code units (LSP's default unit; what acceptedLength counts).
function M.utf16_len(s)
  local _, n = vim.str_utfindex(s)
  return n
end

function M.split_lines(s)
  return vim.split(s, "\n", { plain = true })
end

function M.notify(msg, level)
  vim.notify("codeflow: " .. msg, level or vim.log.levels.INFO)
end

---Finds `names` upward from `start`; returns the directory holding the first match.
function M.find_root(start, names)
  if vim.fs and vim.fs.find then
    local found = vim.fs.find(names, { upward = true, path = start })[1]
    return found and vim.fs.dirname(found) or nil
  end
  local dir = start
  while dir and dir ~= "" do
    for _, n in ipairs(names) do
      if vim.loop.fs_stat(dir .. "/" .. n) then
        return dir
      end
    end
    local parent = vim.fn.fnamemodify(dir, ":h")
    if parent == dir then
      break
    end
    dir = parent
  end
  return nil
end

-- Client calls: `client.request(...)` up to 0.10, `client:request(...)` from 0.11 (the dot form
-- is deprecated there).
local method_style = vim.fn.has("nvim-0.11") == 1

function M.request(c, method, params, handler, bufnr)
  if method_style then
    return c:request(method, params, handler, bufnr)
  end
  return c.request(method, params, handler, bufnr)
end

function M.rpc_notify(c, method, params)
  if method_style then
    return c:notify(method, params)
  end
  return c.notify(method, params)
end

function M.cancel_request(c, id)
  if method_style then
    return c:cancel_request(id)
  end
  return c.cancel_request(id)
end

function M.stop_client(c)
  if method_style then
    return c:stop()
  end
  return c.stop()
end

return M
