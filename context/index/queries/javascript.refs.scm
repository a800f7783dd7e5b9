(identifier) @ref
(property_identifier) @ref
