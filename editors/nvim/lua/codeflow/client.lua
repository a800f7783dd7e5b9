-- Starting the server with Neovim's LSP client and attaching buffers.
-- 0.11+: the config is vim.lsp.config.codeflow (the plugin's lsp/codeflow.lua, merged with the
--        user's vim.lsp.config('codeflow', {...})), started with vim.lsp.start or vim.lsp.enable.
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

local function alive(c)
  -- is_stopped() on 0.7..0.10, c:is_stopped() on 0.11+ (the extra argument is ignored before).
  return c and not (c.is_stopped and select(2, pcall(c.is_stopped, c)) == true)
end

function M.get()
  if M.client_id then
    local c = vim.lsp.get_client_by_id(M.client_id)
    if alive(c) then
      return c
    end
  end
  -- Started by vim.lsp.enable('codeflow') (0.11+): found by name.
  if vim.lsp.get_clients then
    for _, c in ipairs(vim.lsp.get_clients({ name = "codeflow" })) do
      if alive(c) then
        M.client_id = c.id
        M.ready = M.ready or c.initialized == true
        return c
      end
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

local function on_init(c)
  M.client_id = c.id
  M.ready = true
  for _, cb in ipairs(M.on_ready) do
    pcall(cb, c)
  end
end

local function on_exit(code, signal)
  M.ready = false
  if code ~= 0 and signal ~= 15 then
    M.error = string.format("the server exited (code %s, signal %s); see :lua vim.cmd('edit ' .. vim.lsp.get_log_path())", code, signal)
  end
end

---The config for vim.lsp.config (0.11+), returned by the plugin's lsp/codeflow.lua: every field
---can be overridden with vim.lsp.config('codeflow', {...}). Options of setup{} are read when
---Neovim resolves the config (setup{} invalidates it).
function M.lsp_config()
  local cmd = config.server_cmd()
  return {
    cmd = cmd or { config.options.server_path or "codeflow", "serve" },
    filetypes = config.options.filetypes,
    root_dir = function(buf, on_dir)
      if is_target(buf) then
        on_dir(root_for(buf))
      end
    end,
    init_options = config.server_settings(),
    settings = { codeflow = config.server_settings() },
    capabilities = capabilities(),
    handlers = handlers(),
    flags = { debounce_text_changes = 0, allow_incremental_sync = true },
    on_init = on_init,
    on_exit = on_exit,
  }
end

---0.11+: vim.lsp.config.codeflow for `buf` (the user's overrides included), or nil and why not.
local function resolved_config(buf)
  local ok, cfg = pcall(function()
    return vim.lsp.config.codeflow
  end)
  if not ok or type(cfg) ~= "table" then
    return nil, "vim.lsp.config.codeflow: " .. tostring(cfg)
  end
  cfg = vim.deepcopy(cfg)
  cfg.name = "codeflow"
  if type(cfg.cmd) == "table" and vim.fn.executable(cfg.cmd[1]) ~= 1 then
    local _, err = config.server_cmd()
    return nil, err or string.format("'%s' (vim.lsp.config codeflow cmd) is not executable", cfg.cmd[1])
  end
  if type(cfg.root_dir) == "function" then
    local root = nil
    cfg.root_dir(buf, function(dir)
      root = dir
    end)
    if not root then
      return nil -- the config's root_dir() declined this buffer
    end
    cfg.root_dir = root
  elseif type(cfg.root_dir) ~= "string" then
    cfg.root_dir = root_for(buf)
  end
  return cfg
end

local function client_config(buf)
  if M.lsp_config_style() then
    return resolved_config(buf)
  end
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
    on_init = on_init,
    on_exit = on_exit,
  }
end

---The command that starts the server (0.11+: vim.lsp.config.codeflow's), or nil and why not.
function M.server_cmd()
  if M.lsp_config_style() then
    local ok, cfg = pcall(function()
      return vim.lsp.config.codeflow
    end)
    local cmd = ok and type(cfg) == "table" and cfg.cmd or nil
    if type(cmd) == "function" then
      return { "<function>" }
    end
    if type(cmd) == "table" and vim.fn.executable(cmd[1]) == 1 then
      return cmd
    end
    local _, err = config.server_cmd()
    return nil, err or string.format("'%s' (vim.lsp.config codeflow cmd) is not executable", tostring(cmd and cmd[1]))
  end
  return config.server_cmd()
end

---True on 0.11+, where the server's config lives in vim.lsp.config (lsp/codeflow.lua).
function M.lsp_config_style()
  return vim.lsp.config ~= nil and util.has("nvim-0.11")
end

---Attaches `buf` (starting the server if needed). Returns the client id or nil.
function M.attach(buf)
  buf = (buf == nil or buf == 0) and vim.api.nvim_get_current_buf() or buf
  if not is_target(buf) then
    return nil
  end
  local cfg, err = client_config(buf)
  if not cfg then
    if err and M.error ~= err then
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
