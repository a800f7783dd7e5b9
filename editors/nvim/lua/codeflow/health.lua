-- :checkhealth codeflow (0.7: require("health").report_*; 0.8/0.9: vim.health.report_*; 0.10+: vim.health.*)
local M = {}

local function reporter()
  local h = vim.health or require("health")
  return {
    start = h.start or h.report_start,
    ok = h.ok or h.report_ok,
    warn = h.warn or h.report_warn,
    error = h.error or h.report_error,
    info = h.info or h.report_info,
  }
end

function M.check()
  local r = reporter()
  local config = require("codeflow.config")
  local client = require("codeflow.client")
  r.start("codeflow")
  local v = vim.version()
  local version = string.format("%d.%d.%d%s", v.major, v.minor, v.patch, v.prerelease and "-dev" or "")
  if vim.fn.has("nvim-0.7.2") == 1 then
    r.ok("Neovim " .. version .. " (tested: 0.7.2 and 0.12)")
  else
    r.error("Neovim " .. version .. ": 0.7.2 or newer is needed")
  end
  local path = require("codeflow").completion_path()
  if path == "native" then
    r.ok("completion path: native (vim.lsp.inline_completion; setup{native_inline=true})")
  else
    local why = config.options.native_inline and " (native_inline=true needs Neovim 0.12+ with vim.lsp.inline_completion)" or ""
    r.ok("completion path: plugin (codeflow's ghost text extmarks)" .. why)
  end
  if client.lsp_config_style() then
    local enabled = vim.lsp.is_enabled and vim.lsp.is_enabled("codeflow")
    r.info("server config: vim.lsp.config.codeflow (lsp/codeflow.lua" .. (enabled and ", vim.lsp.enable('codeflow')" or "") .. ")")
  else
    r.info("server config: require('codeflow').setup{} (vim.lsp.config needs Neovim 0.11+)")
  end
  local cmd, err = client.server_cmd()
  if cmd then
    r.ok("server command: " .. table.concat(cmd, " "))
  else
    r.error(err)
  end
  local c = client.get()
  if not c then
    r.warn("the server is not running (open a file, or see :LspLog)" .. (client.error and (": " .. client.error) or ""))
    return
  end
  r.ok(string.format("server running (client id %d, root %s)", c.id, tostring(c.config.root_dir)))
  local caps = c.server_capabilities or {}
  if caps.inlineCompletionProvider then
    r.ok("inline completion: server offers textDocument/inlineCompletion")
  else
    r.warn("inline completion: the server does not offer textDocument/inlineCompletion")
  end
  local cmds = (caps.executeCommandProvider or {}).commands or {}
  r.info("server commands: " .. (#cmds > 0 and table.concat(cmds, ", ") or "none"))
  local s = client.status
  if s then
    local msg = string.format("status: %s, model %s on %s", s.state, s.model ~= "" and s.model or "?", s.device)
    if s.state == "error" then
      r.error(msg .. (s.message and (": " .. s.message) or ""))
    else
      r.ok(msg)
    end
  else
    r.info("no codeflow/status received yet")
  end
end

return M
