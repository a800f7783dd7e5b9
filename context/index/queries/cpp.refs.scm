(identifier) @ref
(type_identifier) @ref
(field_identifier) @ref
(namespace_identifier) @ref
