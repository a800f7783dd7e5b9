-- Starting the server with Neovim's LSP client and attaching buffers.
-- 0.8+: vim.lsp.start (reuses the client per root); 0.7: vim.lsp.start_client + buf_attach_client.
local config = require("codeflow.config")
local util = require("codeflow.util")

local M = {
  client_id = nil,
  status = nil, -- last codeflow/status params
  ready = false,
  error = nil,
  on_ready = {}, -- callbacks(client) run once initialized
}

local function capabilities()
  local caps = vim.lsp.protocol.make_client_capabilities()
  caps.textDocument = caps.textDocument or {}
  caps.textDocument.inlineCompletion = { dynamicRegistration = false }
  caps.window = caps.window or {}
  caps.window.workDoneProgress = true
  return caps
end

function M.get()
  if M.client_id then
    local c = vim.lsp.get_client_by_id(M.client_id)
    -- is_stopped() on 0.7..0.10, c:is_stopped() on 0.11+ (the extra argument is ignored before).
    if c and not (c.is_stopped and select(2, pcall(c.is_stopped, c)) == true) then
      return c
    end
  end
  return nil
end

local function handlers()
  return {
    ["codeflow/status"] = function(_, params)
      M.status = params
      vim.api.nvim_exec_autocmds("User", { pattern = "CodeflowStatus", modeline = false })
    end,
  }
end

local function is_target(buf)
  if not vim.api.nvim_buf_is_valid(buf) or vim.bo[buf].buftype ~= "" then
    return false
  end
  if vim.api.nvim_buf_get_name(buf) == "" then
    return false
  end
  local fts = config.options.filetypes
  return fts == nil or vim.tbl_contains(fts, vim.bo[buf].filetype)
end

local function root_for(buf)
  local name = vim.api.nvim_buf_get_name(buf)
  local dir = name ~= "" and vim.fn.fnamemodify(name, ":p:h") or vim.fn.getcwd()
  -- No project marker: the file's own directory (never a big cwd by accident).
  return util.find_root(dir, config.options.root_markers) or dir
end

local function client_config(buf)
  local cmd, err = config.server_cmd()
  if not cmd then
    return nil, err
  end
  local root = root_for(buf)
  return {
    name = "codeflow",
    cmd = cmd,
    cmd_cwd = root,
    root_dir = root,
    workspace_folders = { { uri = vim.uri_from_fname(root), name = vim.fn.fnamemodify(root, ":t") } },
    init_options = config.server_settings(),
    settings = { codeflow = config.server_settings() },
    capabilities = capabilities(),
    handlers = handlers(),
    flags = { debounce_text_changes = 0, allow_incremental_sync = true },
    on_init = function(client)
      M.ready = true
      for _, cb in ipairs(M.on_ready) do
        pcall(cb, client)
      end
    end,
    on_exit = function(code, signal)
      M.ready = false
      if code ~= 0 and signal ~= 15 then
        M.error = string.format("the server exited (code %s, signal %s); see :lua vim.cmd('edit ' .. vim.lsp.get_log_path())", code, signal)
      end
    end,
  }
end

---Attaches `buf` (starting the server if needed). Returns the client id or nil.
function M.attach(buf)
  buf = (buf == nil or buf == 0) and vim.api.nvim_get_current_buf() or buf
  if not is_target(buf) then
    return nil
  end
  local cfg, err = client_config(buf)
  if not cfg then
    if M.error ~= err then
      M.error = err
      util.notify(err, vim.log.levels.ERROR)
    end
    return nil
  end
  if vim.lsp.start and util.has("nvim-0.8") then
    M.client_id = vim.lsp.start(cfg, { bufnr = buf })
    return M.client_id
  end
  if not M.get() then
    M.client_id = vim.lsp.start_client(cfg)
    if not M.client_id then
      M.error = "vim.lsp.start_client failed"
      util.notify(M.error, vim.log.levels.ERROR)
      return nil
    end
  end
  vim.lsp.buf_attach_client(buf, M.client_id)
  return M.client_id
end

---Sends the settings again (workspace/didChangeConfiguration), e.g. after setup{settings=...} changes.
function M.push_settings()
  local c = M.get()
  if c then
    c.config.settings = { codeflow = config.server_settings() }
    util.rpc_notify(c, "workspace/didChangeConfiguration", { settings = { codeflow = config.server_settings() } })
  end
end

function M.stop()
  local c = M.get()
  if c then
    util.stop_client(c)
  end
  M.client_id = nil
  M.ready = false
end

return M
