"""lsp_server/commands package."""
