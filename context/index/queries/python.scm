; Python definitions, imports and references.
(class_definition name: (identifier) @name) @definition.class
(function_definition name: (identifier) @name) @definition.function
(assignment left: (identifier) @name right: (lambda)) @definition.function
(module (expression_statement (assignment left: (identifier) @name)) @definition.variable)
(module (if_statement consequence: (block (expression_statement (assignment left: (identifier) @name)) @definition.variable)))
(class_definition body: (block (expression_statement (assignment left: (identifier) @name)) @definition.field))
(import_statement) @import.stmt
(import_from_statement) @import.stmt
