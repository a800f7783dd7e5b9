(identifier) @ref
(type_identifier) @ref
