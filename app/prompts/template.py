"""A model file's own chat template (`tokenizer.chat_template`) as a prompt format.

The template is the most faithful format there is — it is what the model was tuned on — but it
comes from an untrusted file, so it is compiled and rendered in `TemplateSandbox` inside a
child process the operating system bounds in memory and CPU time (`template_worker`). It
renders once per conversation shape (`skeleton`), with placeholders for message text, so the
cost is paid at start and message text never passes through it. Every way it can fail (syntax,
`raise_exception`, a blocked attribute, a limit, a runtime error, treating message text in a
way a placeholder cannot stand for) becomes a one-line `LoreweaverError` naming the file and
suggesting a built-in format — or, when a `fallback` family is given, that family's renderer
takes over with a one-line `note` saying why.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from app.errors import LoreweaverError
from app.prompts.families import BUILTINS, BuiltinFormat
from app.prompts.messages import Message
from app.prompts.normalise import alternating
from app.prompts.segments import Prompt
from app.prompts.skeleton import Shape, ShapeError, Skeleton, fill, parse, placeholders, shape_of
from app.prompts.template_worker import WORKER, WorkerFailed

MAX_TEMPLATE_CHARS = 256_000
"""Real chat templates are a few kilobytes; tool-calling ones reach tens."""
TIME_LIMIT_S = 2.0
"""Real templates render in milliseconds."""

_DETAIL_CHARS = 200
_SHAPES = 512
_WHAT = {
    "raised": "refused the conversation",
    "security": "tried something the sandbox blocks",
    "limit": "was stopped",
    "failed": "failed",
    "shape": "cannot be used",
}


def _hint() -> str:
    return f"pass --template with one of: {', '.join(BUILTINS)}"


class TemplateFailed(LoreweaverError):
    """A model file's template failed; `reason` says how, without the hint."""

    def __init__(self, reason: str, *, path: Path | str | None) -> None:
        super().__init__(f"{reason}; {_hint()}", path=path)
        self.reason = reason


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
        fallback: bool = False,
    ) -> None:
        """Compiles the template now (syntax errors surface here). With `fallback`, a
        template that fails later hands over to the detected family's built-in renderer."""
        self.family = family if family in BUILTINS else None
        """The detected family: its turn markers join `stop`, and its role rules apply."""
        self.origin = origin
        self.bos_token = bos_token
        self.eos_token = eos_token
        self.time_limit = time_limit
        markers = BUILTINS[self.family].stop if self.family else ()
        self.stop: tuple[str, ...] = tuple(dict.fromkeys(s for s in (*markers, eos_token) if s))
        self.note = ""
        """Why the family's renderer stands in for the template, once it does."""
        self._fallback = BUILTINS[self.family] if fallback and self.family else None
        self._replaced = False
        self._skeletons: dict[Shape, Skeleton] = {}
        if len(source) > MAX_TEMPLATE_CHARS:
            raise TemplateFailed(
                f"chat template is {len(source):,} characters, more than the "
                f"{MAX_TEMPLATE_CHARS:,} allowed",
                path=self.origin,
            )
        self._source = source
        self._run([])

    def render(self, messages: Sequence[Message], *, add_generation_prompt: bool = True) -> Prompt:
        """The prompt as segments: the template's output around message text (see `skeleton`)."""
        if self.family and not BUILTINS[self.family].system_role:
            messages = alternating(messages)
        if not self._replaced:
            try:
                return fill(self._skeleton(shape_of(messages, add_generation_prompt)), messages)
            except TemplateFailed as exc:
                if self._fallback is None:
                    raise
                self._replaced = True
                self.note = f"{exc.reason}; using the built-in {self._fallback.id} format instead"
        assert self._fallback is not None
        return self._fallback.render(messages, add_generation_prompt=add_generation_prompt)

    def _skeleton(self, shape: Shape) -> Skeleton:
        skeleton = self._skeletons.get(shape)
        if skeleton is None:
            contexts = [self._context(shape, padded) for padded in (False, True)]
            try:
                skeleton = parse(*self._run(contexts))
            except ShapeError as exc:
                raise self._error("shape", str(exc)) from None
            if len(self._skeletons) >= _SHAPES:
                self._skeletons.clear()
            self._skeletons[shape] = skeleton
        return skeleton

    def _context(self, shape: Shape, padded: bool) -> dict[str, Any]:
        return {
            "messages": [
                {"role": m.role, "content": m.content} for m in placeholders(shape, padded=padded)
            ],
            "add_generation_prompt": shape[1],
            "bos_token": self.bos_token,
            "eos_token": self.eos_token,
            "tools": None,
            "documents": None,
        }

    def _run(self, contexts: list[dict[str, Any]]) -> list[str]:
        try:
            renders = WORKER.render(self._source, contexts, self.time_limit)
        except WorkerFailed as exc:
            if exc.kind == "syntax":
                raise self._error(f"has a syntax error on line {exc.line}", str(exc)) from None
            raise self._error(_WHAT.get(exc.kind, exc.kind), str(exc)) from None
        for text in renders:
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                raise self._error("failed", "it writes text that is not valid Unicode") from None
        return renders

    def _error(self, what: str, detail: str) -> TemplateFailed:
        what = _WHAT.get(what, what)
        detail = " ".join(detail.split())[:_DETAIL_CHARS]
        return TemplateFailed(f"chat template {what}: {detail}", path=self.origin)
