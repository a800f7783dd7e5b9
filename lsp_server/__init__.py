"""codeflow language server: the protocol room (handlers, config, sync, progress, cancellation)."""
