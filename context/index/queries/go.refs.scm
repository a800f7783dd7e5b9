(identifier) @ref
(type_identifier) @ref
(field_identifier) @ref
(package_identifier) @ref
