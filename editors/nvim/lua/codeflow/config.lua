-- Options of require("codeflow").setup{...} and the settings object sent to the server.
local M = {}

M.defaults = {
  -- Server command; nil = { server_path, "serve" } or python_path -m lsp_server.cli serve.
  cmd = nil,
  server_path = "codeflow",
  python_path = nil,
  -- Settings mirrored to the server (camelCase, same keys as the VS Code extension's codeflow.*).
  settings = {},
  filetypes = nil, -- nil = every normal file buffer
  root_markers = { ".git", "pyproject.toml", "setup.py", "package.json", "go.mod", "Cargo.toml" },
  ghost = {
    enabled = true,
    debounce_ms = 75,
    hl_group = "CodeflowGhostText",
  },
  keys = {
    accept = "<Tab>",
    accept_word = "<M-Right>",
    accept_line = "<M-Down>",
    dismiss = "<C-]>",
  },
  chat = { split = "vsplit", width = 70 },
  native_inline = false, -- true: vim.lsp.inline_completion on Neovim 0.12+ instead of the extmarks
}

-- settings:begin (generated from lsp_server/config.py: codeflow settings-schema --write)
M.settings_defaults = {
  serverPath = "codeflow",
  pythonPath = "",
  modelPath = "",
  provider = "auto",
  backend = "local",
  threads = 0,
  logLevel = "",
  completion = {
    enabled = true,
    -- debounceMs: null (the server's default)
    maxTokens = 64,
    maxLines = 12,
    timeoutMs = 4000,
    contextDeadlineMs = 10,
    cacheSize = 256,
  },
  context = {
    budgetTokens = 2048,
    maxFileBytes = 1000000,
    -- exclude: [] (the server's default)
    includeSecrets = false,
    history = true,
  },
  chat = {
    budgetTokens = 8192,
    maxTokens = 512,
    -- temperature: null (the server's default)
    reasoningTokens = 2048,
    showReasoning = true,
  },
  tests = {
    command = "",
    python = "",
    trusted = false,
    runOnSave = false,
    timeoutS = 120,
    fixCandidates = 3,
  },
  remote = {
    url = "",
    model = "",
    apiKeyEnv = "",
    timeoutS = 30.0,
    verifyTls = true,
    maxContext = 0,
  },
  trace = {
    server = "off",
  },
}
-- settings:end

M.options = vim.deepcopy(M.defaults)

function M.set(opts)
  M.options = vim.tbl_deep_extend("force", vim.deepcopy(M.defaults), opts or {})
  return M.options
end

---The server's settings object: defaults < user settings < server_path/python_path.
function M.server_settings()
  local o = M.options
  local s = vim.tbl_deep_extend("force", vim.deepcopy(M.settings_defaults), o.settings or {})
  if s.completion.debounceMs == nil then
    s.completion.debounceMs = vim.NIL -- JSON null: the server adapts the debounce
  end
  s.serverPath = o.server_path or s.serverPath
  s.pythonPath = o.python_path or s.pythonPath
  return s
end

---The command to start, or nil and an error message that says how to fix it.
function M.server_cmd()
  local o = M.options
  if o.cmd then
    if vim.fn.executable(o.cmd[1]) ~= 1 then
      return nil, string.format("'%s' (setup{cmd=...}) is not executable", o.cmd[1])
    end
    return o.cmd
  end
  if o.python_path and o.python_path ~= "" then
    if vim.fn.executable(o.python_path) ~= 1 then
      return nil, string.format("python_path '%s' is not executable; point it at a Python with codeflow installed", o.python_path)
    end
    return { o.python_path, "-m", "lsp_server.cli", "serve" }
  end
  local exe = o.server_path or "codeflow"
  if vim.fn.executable(exe) == 1 then
    return { exe, "serve" }
  end
  local venv = vim.fn.getcwd() .. "/.venv/bin/" .. exe
  if not exe:find("/") and vim.fn.executable(venv) == 1 then
    return { venv, "serve" }
  end
  return nil,
    string.format(
      "the server '%s' was not found (not on PATH, not in ./.venv). Install it from the codeflow checkout (pip install -e '.[cpu]' there) or pass setup{server_path=...} or setup{python_path=...}",
      exe
    )
end

return M
