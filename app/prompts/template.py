"""A model file's own chat template (`tokenizer.chat_template`) as a prompt format.

The template is the most faithful format there is — it is what the model was tuned on — but it
comes from an untrusted file, so it is compiled and rendered in `TemplateSandbox`, and every way
it can fail (syntax, `raise_exception`, a blocked attribute, a limit, a runtime error) becomes a
one-line `LoreweaverError` naming the file and suggesting a built-in format instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from jinja2 import Template, TemplateSyntaxError
from jinja2.exceptions import SecurityError

from app.errors import LoreweaverError
from app.prompts.families import BUILTINS
from app.prompts.messages import Message
from app.prompts.normalise import alternating
from app.prompts.sandbox import TemplateLimit, TemplateRaised, TemplateSandbox

MAX_TEMPLATE_CHARS = 256_000
"""Real chat templates are a few kilobytes; tool-calling ones reach tens."""
TIME_LIMIT_S = 2.0
"""Real templates render in milliseconds."""

_SANDBOX = TemplateSandbox()
_DETAIL_CHARS = 200


def _hint() -> str:
    return f"pass --template with one of: {', '.join(BUILTINS)}"


class GgufTemplateFormat:
    """Renders conversations with a model's own Jinja chat template."""

    id = "gguf"

    def __init__(
        self,
        source: str,
        *,
        bos_token: str = "",
        eos_token: str = "",
        family: str | None = None,
        origin: Path | str | None = None,
        time_limit: float = TIME_LIMIT_S,
    ) -> None:
        self.family = family if family in BUILTINS else None
        """The detected family: its turn markers join `stop`, and its role rules apply."""
        self.origin = origin
        self.bos_token = bos_token
        self.eos_token = eos_token
        self.time_limit = time_limit
        markers = BUILTINS[self.family].stop if self.family else ()
        self.stop: tuple[str, ...] = tuple(dict.fromkeys(s for s in (*markers, eos_token) if s))
        self._template = self._compile(source)

    def render(self, messages: Sequence[Message], *, add_generation_prompt: bool = True) -> str:
        if self.family and not BUILTINS[self.family].system_role:
            messages = alternating(messages)
        context = {
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "add_generation_prompt": add_generation_prompt,
            "bos_token": self.bos_token,
            "eos_token": self.eos_token,
            "tools": None,
            "documents": None,
        }
        try:
            return _SANDBOX.render(self._template, context, time_limit=self.time_limit)
        except TemplateRaised as exc:
            raise self._error("refused the conversation", exc) from None
        except SecurityError as exc:
            raise self._error("tried something the sandbox blocks", exc) from None
        except TemplateLimit as exc:
            raise self._error("was stopped", exc) from None
        except Exception as exc:  # any failure of an untrusted template is bad input, not a bug
            raise self._error("failed", exc, kind=True) from None

    def _compile(self, source: str) -> Template:
        if len(source) > MAX_TEMPLATE_CHARS:
            raise LoreweaverError(
                f"chat template is {len(source):,} characters, more than the "
                f"{MAX_TEMPLATE_CHARS:,} allowed; {_hint()}",
                path=self.origin,
            )
        try:
            return _SANDBOX.compile_template(source)
        except TemplateSyntaxError as exc:
            raise self._error(f"has a syntax error on line {exc.lineno}", exc) from None
        except Exception as exc:
            raise self._error("cannot be compiled", exc, kind=True) from None

    def _error(self, what: str, exc: BaseException, *, kind: bool = False) -> LoreweaverError:
        detail = " ".join(str(getattr(exc, "message", None) or exc).split())[:_DETAIL_CHARS]
        if kind:
            detail = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
        return LoreweaverError(f"chat template {what}: {detail}; {_hint()}", path=self.origin)
