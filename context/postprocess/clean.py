"""``clean``: turn raw model output into the text an editor shows at the cursor."""

from __future__ import annotations

from collections.abc import Sequence

from .grammar import window
from .multi import block_indent, cut_syntax, drop_suffix_repeat, stop_at_dedent
from .policy import ends_with_opener, is_multiline
from .single import fit_line
from .text import cursor_line, cut_special_tokens, indent_of, unix
from .values import Cleaned, CompletionContext

__all__ = ["clean"]


def _after_line(suffix: str) -> str:
    """The windowed document after the cursor line, starting with its newline ('' if none)."""
    _, tail = window("", suffix)
    at = tail.find("\n")
    return "" if at < 0 else tail[at:]


def _single(text: str, ctx: CompletionContext) -> tuple[str, int]:
    line = text.split("\n", 1)[0].rstrip()
    if not line.strip():
        return "", 0
    pre, _ = window(ctx.prefix, "")
    left, rest = cursor_line(ctx.prefix, ctx.suffix)
    fitted = fit_line(line, pre, rest, _after_line(ctx.suffix), ctx.language)
    if fitted is None:
        return "", 0
    return fitted[0].rstrip(), fitted[1]


def _multi(text: str, ctx: CompletionContext, max_lines: int) -> str:
    left, rest = cursor_line(ctx.prefix, ctx.suffix)
    before = ctx.prefix[: len(ctx.prefix) - len(left)]
    lines = [line.rstrip() for line in text.split("\n")[: max(max_lines, 1)]]
    opener = bool(left.strip()) and ends_with_opener(before, left, ctx.suffix, ctx.language)
    indent = block_indent(left, lines, opener)
    lines = stop_at_dedent(lines, indent, ctx.language, opener)
    pre, suf = window(ctx.prefix, ctx.suffix)
    lines = cut_syntax(lines, pre, suf, ctx.language)
    lines = drop_suffix_repeat(lines, pre, suf, ctx.language)
    result = "\n".join(lines).rstrip()
    if rest.strip() and "\n" in result:
        result += "\n" + indent_of(left)
    return result


def _is_echo(text: str, ctx: CompletionContext) -> bool:
    """The suggestion only repeats the text right after the cursor."""
    _, rest = cursor_line(ctx.prefix, ctx.suffix)
    head = text.strip()
    if ctx.suffix.startswith(text) or rest.lstrip().startswith(head):
        return True
    return "\n" in head and ctx.suffix.lstrip().startswith(head)


def _drop_repeated_indent(text: str, prefix: str) -> str:
    """The cursor sits after an indent and the model wrote that indent again, or a stray part
    of one (a prompt that ends in spaces splits the usual whitespace-plus-word tokens, and
    small models then open with a space): drop it, so the line keeps the editor's indent."""
    line_prefix = prefix[prefix.rfind("\n") + 1 :]
    if not line_prefix or line_prefix.strip():
        return text
    if text.startswith(line_prefix):
        return text[len(line_prefix) :]
    first = text.split("\n", 1)[0]
    return text.lstrip(" \t") if first.strip() else text


def clean(
    raw: str,
    ctx: CompletionContext,
    *,
    multiline: bool | None = None,
    max_lines: int = 12,
    special_tokens: Sequence[str] = (),
) -> Cleaned:
    """Post-process raw model output for inline completion at the cursor of ``ctx``.

    Cuts at the first special token; one line (fitted to the brackets and text right of the
    cursor) or, in multi-line mode, at most ``max_lines`` lines that stop at a dedent out of the
    cursor's block, end where the code still parses, and do not repeat the lines after the cursor.
    ``multiline=None`` asks :func:`is_multiline`. A block written into ``{█}`` ends with a newline
    and the cursor line's indent so the closer lands on its own line. CRLF documents get CRLF.
    """
    crlf = "\r\n" in ctx.prefix or "\r\n" in ctx.suffix
    ctx = CompletionContext(ctx.language, unix(ctx.prefix), unix(ctx.suffix))
    mode = is_multiline(ctx) if multiline is None else multiline
    text = _drop_repeated_indent(unix(cut_special_tokens(raw, special_tokens)), ctx.prefix)
    replace = 0
    if mode:
        text = _multi(text, ctx, max_lines) if text.strip() else ""
    else:
        text, replace = _single(text, ctx)
    if not text.strip() or _is_echo(text, ctx):
        return Cleaned("", 0, mode)
    if crlf:
        text = text.replace("\n", "\r\n")
    return Cleaned(text, replace, mode)
