(identifier) @ref
