"""Multi-line policy: whether the cursor asks for a block of code or the rest of one line."""

from __future__ import annotations

import re

import tree_sitter

from .brackets import CLOSERS, balance, code_part
from .grammar import BRACE_LANGUAGES, parse, window
from .text import cursor_line, unix
from .values import CompletionContext

__all__ = ["ends_with_opener", "is_multiline"]

_PY_HEADER = re.compile(
    r"^\s*(?:async\s+)?(?:def|class|if|elif|else|for|while|try|except|finally|with|match|case)\b"
)
_PY_HEADER_NODES = frozenset(
    {
        "function_definition", "class_definition", "if_statement", "elif_clause", "else_clause",
        "for_statement", "while_statement", "try_statement", "except_clause", "finally_clause",
        "with_statement", "match_statement", "case_clause", "except_group_clause",
    }
)
_CONTAINER_MARKERS = (
    "argument", "parameter", "list", "array", "dictionary", "object", "tuple", "set",
    "parenthesized", "subscript", "index_expression", "string", "comment", "initializer",
    "template_string", "literal_value", "char_literal", "token_tree",
)
_CONTAINER_EXCEPTIONS = frozenset(
    {"declaration_list", "field_declaration_list", "enumerator_list", "expression_list",
     "statement_list", "block", "statement_block", "compound_statement"}
)


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _python_header(text: str, colon: int) -> bool | None:
    """Whether the ':' at ``colon`` ends a compound statement header (None: parse unsure)."""
    tree = parse("python", text)
    if tree is None:
        return None
    start = _byte_offset(text, colon)
    node = tree.root_node.descendant_for_byte_range(start, start + 1)
    if node is None or node.type != ":" or node.parent is None or node.parent.type == "ERROR":
        return None
    return node.parent.type in _PY_HEADER_NODES


def ends_with_opener(before: str, line: str, after: str, language: str | None) -> bool:
    """Whether ``line`` (the text right of ``before``) ends with a block opener.

    Python: a ':' that ends a compound statement header (asked of tree-sitter on
    ``before + line + after``, with a keyword rule when the parse is unsure); brace languages
    (and unknown languages): '{'.
    """
    code = code_part(line, language).rstrip()
    if language != "python":
        return code.endswith("{")
    if not code.endswith(":") or balance(code, language).open:
        return False
    pre, suf = window(before, after)
    verdict = _python_header(pre + line + suf, len(pre) + len(code) - 1)
    return bool(_PY_HEADER.match(line)) if verdict is None else verdict


def _previous_line(prefix: str) -> tuple[str, str]:
    """(text before it, the last non-blank line before the cursor line)."""
    head = prefix[: prefix.rfind("\n") + 1]
    body = head.rstrip(" \t\n\r")
    start = body.rfind("\n") + 1
    return body[:start], body[start:]


def _is_container(node: tree_sitter.Node) -> bool:
    kind = node.type
    if kind in _CONTAINER_EXCEPTIONS:
        return False
    return any(marker in kind for marker in _CONTAINER_MARKERS)


def _in_container(ctx: CompletionContext) -> bool:
    """Whether the cursor sits inside an expression (arguments, literal, string, comment)."""
    pre, suf = window(ctx.prefix, ctx.suffix)
    text = pre + suf
    tree = parse(ctx.language, text)
    if tree is None:
        return _open_parens(pre, ctx.language)
    at = _byte_offset(text, len(pre))
    node = tree.root_node.descendant_for_byte_range(at, at)
    while node is not None:
        if node.start_byte < at < node.end_byte and not node.is_error and _is_container(node):
            return True
        node = node.parent
    return tree.root_node.has_error and _open_parens(pre, ctx.language)


def _open_parens(text: str, language: str | None) -> bool:
    return any(text[index] in "([" for index in balance(text, language).open)


def _starts_empty_block(ctx: CompletionContext, left: str, right: str) -> bool:
    """``{|}``: the cursor right after a block opener with only closers to its right."""
    if ctx.language not in BRACE_LANGUAGES and ctx.language is not None:
        return False
    closers_only = all(ch in CLOSERS or ch in " \t;)," for ch in right)
    return closers_only and right.lstrip().startswith("}") and left.rstrip().endswith("{")


def is_multiline(ctx: CompletionContext) -> bool:
    """True when the cursor asks for a block: it starts an empty block, or sits on an empty line
    after a block opener or inside a block body. False in the middle of a line, with text right
    of the cursor, or inside an expression (call arguments, literals, strings, comments)."""
    ctx = CompletionContext(ctx.language, unix(ctx.prefix), unix(ctx.suffix))
    left, right = cursor_line(ctx.prefix, ctx.suffix)
    before = ctx.prefix[: len(ctx.prefix) - len(left)]
    if right.strip():
        return _starts_empty_block(ctx, left, right)
    if left.strip():
        return ends_with_opener(before, left, ctx.suffix, ctx.language)
    above, previous = _previous_line(ctx.prefix)
    if previous and ends_with_opener(above, previous, ctx.prefix[len(above) + len(previous):]
                                     + ctx.suffix, ctx.language):
        return True
    return not _in_container(ctx)
