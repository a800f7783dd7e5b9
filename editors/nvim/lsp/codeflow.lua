-- Neovim 0.11+: the codeflow server's config, found by vim.lsp.config on the runtimepath.
--   vim.lsp.config('codeflow', { cmd = { "/path/to/codeflow", "serve" }, init_options = {...} })
--   vim.lsp.enable('codeflow')
--   require("codeflow").setup({})   -- ghost text, :CodeflowChat, :CodeflowRunTests, :CodeflowFix
-- Fields set with vim.lsp.config('codeflow', {...}) override these; setup{} options (cmd,
-- server_path, python_path, settings, filetypes) fill them in.
return require("codeflow.client").lsp_config()
