"""A model's own Jinja chat template, rendered as `transformers`' `apply_chat_template` does.

Same environment: sandboxed (`ImmutableSandboxedEnvironment`), `trim_blocks` and
`lstrip_blocks`, the `loopcontrols` extension, a `{% generation %}` block that renders its body,
`raise_exception`, `tojson` (no HTML escaping), `strftime_now`; the template sees `messages`,
`tools` (None), `documents` (None), `add_generation_prompt` and the special tokens that are set
(`bos_token`, `eos_token`, ...). jinja2 is imported only when a template is compiled.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

__all__ = ["ChatTemplate", "ChatTemplateError"]


class ChatTemplateError(ValueError):
    """The template failed to compile or to render (its `raise_exception`, a bad construct)."""


def _raise(message: str) -> None:
    from jinja2.exceptions import TemplateError

    raise TemplateError(message)


def _tojson(x: Any, ensure_ascii: bool = False, indent: int | None = None,
            separators: Any = None, sort_keys: bool = False) -> str:
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators,
                      sort_keys=sort_keys)


def _strftime_now(fmt: str) -> str:
    return datetime.now().strftime(fmt)


def _environment() -> Any:
    import jinja2
    from jinja2.ext import Extension
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class Generation(Extension):
        """`{% generation %}…{% endgeneration %}` renders its body (transformers tracks it)."""

        tags = {"generation"}

        def parse(self, parser: Any) -> Any:
            lineno = next(parser.stream).lineno
            body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
            call = self.call_method("_body")
            return jinja2.nodes.CallBlock(call, [], [], body).set_lineno(lineno)

        def _body(self, caller: Any) -> str:
            return str(caller())

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[Generation, jinja2.ext.loopcontrols])
    env.filters["tojson"] = _tojson
    env.globals["raise_exception"] = _raise
    env.globals["strftime_now"] = _strftime_now
    return env


class ChatTemplate:
    """A compiled chat template and the special-token spellings it is rendered with."""

    def __init__(self, source: str, special_tokens: Mapping[str, str | None] | None = None
                 ) -> None:
        from jinja2.exceptions import TemplateError

        self.source = source
        self.tokens = {f"{k}_token": v for k, v in (special_tokens or {}).items() if v}
        try:
            self._template = _environment().from_string(source)
        except TemplateError as exc:
            raise ChatTemplateError(f"the model's chat template does not compile: {exc}") from exc

    def render(self, messages: Sequence[Mapping[str, Any]],
               add_generation_prompt: bool = True) -> str:
        """The prompt text for `messages` (dicts with role and content)."""
        from jinja2.exceptions import TemplateError

        try:
            return str(self._template.render(
                messages=[dict(m) for m in messages], tools=None, documents=None,
                add_generation_prompt=add_generation_prompt, **self.tokens))
        except TemplateError as exc:
            raise ChatTemplateError(f"the model's chat template failed: {exc}") from exc
