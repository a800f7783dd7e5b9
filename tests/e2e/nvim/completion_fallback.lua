-- Headless Neovim (0.7.2 and 0.12), no plugin: the built-in LSP client starts `codeflow serve`, attaches,
-- checks the server's capabilities and requests textDocument/completion (the fallback for
-- clients without inline completion). Writes what came back as JSON to $CODEFLOW_OUT.
local out_path = os.getenv("CODEFLOW_OUT")
local file = os.getenv("CODEFLOW_FILE")
local root = os.getenv("CODEFLOW_ROOT")
local line, col = tonumber(os.getenv("CODEFLOW_LINE")), tonumber(os.getenv("CODEFLOW_COL"))
local result = { ok = false }

local function finish()
  local f = io.open(out_path, "w")
  f:write(vim.fn.json_encode(result))
  f:close()
  vim.cmd("qa!")
end

vim.cmd("edit " .. vim.fn.fnameescape(file))
local cfg = {
  name = "codeflow",
  cmd = { os.getenv("CODEFLOW_SERVER"), "serve" },
  root_dir = root,
  -- No keystroke deadline or time limit: the prompt holds every context source and the whole
  -- suggestion is generated, as in `codeflow complete` (what the test compares with).
  init_options = { completion = { debounceMs = 0, contextDeadlineMs = 60000, timeoutMs = 120000 } },
}
-- vim.lsp.start on 0.8+ (start_client is deprecated from 0.11); start_client + attach on 0.7.
local id
if vim.fn.has("nvim-0.8") == 1 then
  id = vim.lsp.start(cfg, { bufnr = 0 })
else
  id = vim.lsp.start_client(cfg)
  vim.lsp.buf_attach_client(0, id)
end
-- client:request_sync on 0.11+, client.request_sync before.
local method_style = vim.fn.has("nvim-0.11") == 1
local client
vim.wait(60000, function()
  client = vim.lsp.get_client_by_id(id)
  return client ~= nil and client.initialized
end, 50)
if not client or not client.initialized then
  result.error = "server did not initialize"
  return finish()
end
local caps = client.resolved_capabilities or {}
result.completion_provider = client.server_capabilities ~= nil
  and client.server_capabilities.completionProvider ~= nil
result.text_document_sync = caps.text_document_did_change
-- wait until the model is loaded (codeflow/status idle with a model name)
vim.wait(120000, function()
  local resp
  if method_style then
    resp = client:request_sync("codeflow/_stats", {}, 2000, 0)
  else
    resp = client.request_sync("codeflow/_stats", {}, 2000, 0)
  end
  return resp and resp.result and resp.result.model_loaded and resp.result.index_ready
end, 200)
local params = {
  textDocument = { uri = vim.uri_from_fname(file) },
  position = { line = line, character = col },
  context = { triggerKind = 1 },
}
local resp = vim.lsp.buf_request_sync(0, "textDocument/completion", params, 60000)
for _, r in pairs(resp or {}) do
  if r.result then
    result.items = r.result.items or r.result
    result.ok = true
  elseif r.err then
    result.error = r.err.message
  end
end
finish()
