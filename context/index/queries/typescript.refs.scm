(identifier) @ref
(property_identifier) @ref
(type_identifier) @ref
