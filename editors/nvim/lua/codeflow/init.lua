-- codeflow for Neovim: require("codeflow").setup{...}
--   server:  `codeflow serve` through Neovim's LSP client (0.7.2+); on 0.11+ its config is
--            vim.lsp.config.codeflow (lsp/codeflow.lua), vim.lsp.enable('codeflow') works too
--   ghost:   inline completions as extmarks (setup{native_inline=true}: vim.lsp.inline_completion on 0.12+)
--   chat:    :CodeflowChat, streamed into a scratch buffer
--   tests:   :CodeflowRunTests, :CodeflowFix ("Fix with codeflow" code action)
--   health:  :checkhealth codeflow
local client = require("codeflow.client")
local config = require("codeflow.config")
local util = require("codeflow.util")

local M = {}

---"native" (vim.lsp.inline_completion, 0.12+ with setup{native_inline=true}) or "plugin" (extmarks).
function M.completion_path()
  return (config.options.native_inline and require("codeflow.native").available()) and "native" or "plugin"
end

function M.run_tests(on_done)
  on_done = type(on_done) == "function" and on_done or function() end
  local c = client.get()
  if not c then
    on_done(nil, "not running")
    return util.notify("the server is not running", vim.log.levels.WARN)
  end
  local buf = vim.api.nvim_get_current_buf()
  local args = vim.bo[buf].buftype == "" and { vim.uri_from_bufnr(buf) } or {}
  util.request(c, "workspace/executeCommand", { command = "codeflow.runTests", arguments = args }, function(err, result)
    on_done(result, err)
    if err then
      return util.notify("running the tests failed: " .. tostring(err.message), vim.log.levels.ERROR)
    end
    local msg = type(result) == "table" and (result.summary or result.message) or "tests finished"
    util.notify(tostring(msg) .. " (failures are diagnostics; :CodeflowFix on one)")
  end, buf)
end

---Runs the "Fix with codeflow" code action at the cursor.
---`on_done({found, title, resolved, applied})` is called at the end (for callers and tests).
function M.fix(on_done)
  on_done = type(on_done) == "function" and on_done or function() end
  local c = client.get()
  if not c then
    on_done({ found = false })
    return util.notify("the server is not running", vim.log.levels.WARN)
  end
  local buf = vim.api.nvim_get_current_buf()
  local params = vim.lsp.util.make_range_params(0, c.offset_encoding)
  local row = params.range.start.line
  local diags
  if vim.lsp.diagnostic.get_line_diagnostics and not util.has("nvim-0.10") then -- 0.7 .. 0.9 (deprecated after)
    diags = vim.lsp.diagnostic.get_line_diagnostics(buf, row)
  else
    diags = {}
    for _, d in ipairs(vim.diagnostic.get(buf, { lnum = row })) do
      local lsp = d.user_data and d.user_data.lsp
      if lsp then
        table.insert(diags, lsp)
      end
    end
  end
  params.context = { diagnostics = diags, only = { "quickfix" } }
  util.request(c, "textDocument/codeAction", params, function(err, actions)
    if err then
      on_done({ found = false, error = err.message })
      return util.notify("code actions failed: " .. tostring(err.message), vim.log.levels.ERROR)
    end
    local pick
    for _, a in ipairs(actions or {}) do
      -- "Fix with codeflow: <message>" on any diagnostic, "Fix failing test with codeflow" on a test's
      if type(a.title) == "string" and a.title:find("^Fix .*with codeflow") then
        pick = a
        break
      end
    end
    if not pick then
      on_done({ found = false, titles = vim.tbl_map(function(a)
        return a.title
      end, actions or {}) })
      return util.notify("no 'Fix with codeflow' action here (run :CodeflowRunTests first)", vim.log.levels.WARN)
    end
    local function run(action, resolved)
      if action.edit then
        vim.lsp.util.apply_workspace_edit(action.edit, c.offset_encoding)
      end
      on_done({ found = true, title = action.title, resolved = resolved, applied = action.edit ~= nil })
      local cmd = type(action.command) == "table" and action.command or (type(action.command) == "string" and action or nil)
      if cmd then
        util.request(c, "workspace/executeCommand", { command = cmd.command, arguments = cmd.arguments }, function() end, buf)
      end
    end
    if not pick.edit and not pick.command and c.server_capabilities.codeActionProvider
      and type(c.server_capabilities.codeActionProvider) == "table" and c.server_capabilities.codeActionProvider.resolveProvider then
      util.request(c, "codeAction/resolve", pick, function(e2, resolved)
        if e2 then
          on_done({ found = true, title = pick.title, resolved = false, error = e2.message })
          return util.notify("resolving the fix failed: " .. tostring(e2.message), vim.log.levels.ERROR)
        end
        run(resolved or pick, true)
      end, buf)
    else
      run(pick, false)
    end
  end, buf)
end

---Short status for the statusline: "codeflow: model · CPU · 120 ms".
function M.statusline()
  local s = client.status
  if not client.get() then
    return client.error and "codeflow: error" or ""
  end
  if not s then
    return "codeflow: starting"
  end
  local parts = { s.model ~= "" and vim.fn.fnamemodify(s.model, ":t") or "codeflow", s.device == "cuda" and "GPU" or "CPU" }
  if s.state == "indexing" and type(s.indexing) == "table" and (s.indexing.total or 0) > 0 then
    table.insert(parts, string.format("indexing %d%%", math.floor(100 * s.indexing.done / s.indexing.total)))
  elseif s.state == "error" then
    table.insert(parts, "error")
  elseif type(s.lastLatencyMs) == "number" then
    table.insert(parts, string.format("%d ms", s.lastLatencyMs))
  end
  return "codeflow: " .. table.concat(parts, " · ")
end

function M.setup(opts)
  config.set(opts)
  if client.lsp_config_style() then
    vim.lsp.config("codeflow", {}) -- lsp/codeflow.lua is read again, with these options
  end
  local group = vim.api.nvim_create_augroup("codeflow", { clear = true })
  local chat = require("codeflow.chat")
  chat.install_progress_handler()

  vim.api.nvim_create_autocmd({ "FileType", "BufEnter" }, {
    group = group,
    callback = function(ev)
      client.attach(ev.buf)
    end,
  })

  if M.completion_path() == "native" then
    require("codeflow.native").setup(group)
  else
    local ghost = require("codeflow.ghost")
    ghost.setup_autocmds(group)
    ghost.setup_keymaps()
  end

  vim.api.nvim_create_user_command("CodeflowChat", chat.command, { nargs = "*", range = true, desc = "Ask codeflow" })
  vim.api.nvim_create_user_command("CodeflowChatCancel", chat.cancel, { desc = "Cancel the streaming answer" })
  vim.api.nvim_create_user_command("CodeflowChatReset", chat.reset, { desc = "Forget the chat history" })
  vim.api.nvim_create_user_command("CodeflowRunTests", function()
    M.run_tests()
  end, { desc = "Run the tests; failures become diagnostics" })
  vim.api.nvim_create_user_command("CodeflowFix", function()
    M.fix()
  end, { desc = "Fix with codeflow (code action at the cursor)" })
  vim.api.nvim_create_user_command("CodeflowToggle", function()
    local g = require("codeflow.ghost")
    g.enabled = not g.enabled
    g.dismiss()
    if M.completion_path() == "native" then
      pcall(vim.lsp.inline_completion.enable, g.enabled)
    end
    local c = client.get()
    if c then
      util.request(c, "workspace/executeCommand", { command = "codeflow.toggleCompletions", arguments = {} }, function() end)
    end
    util.notify("inline completions " .. (g.enabled and "on" or "off"))
  end, { desc = "Toggle inline completions" })
  vim.api.nvim_create_user_command("CodeflowRestart", function()
    client.stop()
    vim.defer_fn(function()
      client.attach(vim.api.nvim_get_current_buf())
    end, 500)
  end, { desc = "Restart the codeflow server" })

  -- Buffers already open when setup runs.
  for _, buf in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(buf) then
      client.attach(buf)
    end
  end
  return M
end

---Changes settings at runtime and mirrors them to the server (didChangeConfiguration).
function M.update_settings(settings)
  config.options.settings = vim.tbl_deep_extend("force", config.options.settings or {}, settings or {})
  client.push_settings()
end

return M
