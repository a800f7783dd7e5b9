"""lsp_server/features package."""
