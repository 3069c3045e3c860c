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

A template must also keep the conversation whole. The first Phi-3-mini template, among others,
skips `system` messages (the whole character sheet) and writes an assistant turn's header only
after a user turn (an opening greeting gets none). So each shape's skeleton is checked: every
message with text has its place, and an opening greeting is preceded by what the template
writes before a reply, more than by what it writes before a user's line. A shape that fails —
or that a template of a family without a system role refuses — is rendered folded instead
(`normalise.alternating`: the persona in a user turn, a user turn first), the way the built-in
formats fold it, with a one-line `note` the first time a check failed. The file's template
otherwise sees the conversation as it is (Mistral v0.3's puts the system text before the last
user turn, and so does the prompt).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from app.errors import LoreweaverError
from app.prompts.families import BUILTINS
from app.prompts.messages import Message
from app.prompts.normalise import alternating
from app.prompts.segments import Prompt
from app.prompts.skeleton import (
    Hole,
    Shape,
    ShapeError,
    Skeleton,
    fill,
    parse,
    placeholders,
    shape_of,
)
from app.prompts.template_worker import WORKER, WorkerFailed

MAX_TEMPLATE_CHARS = 256_000
"""Real chat templates are a few kilobytes; tool-calling ones reach tens."""
TIME_LIMIT_S = 2.0
"""Real templates render in milliseconds."""

_DETAIL_CHARS = 200
_SHAPES = 512
_EXCHANGE: Shape = ((("user", True), ("assistant", True), ("user", True)), True)
"""A plain exchange: what the template writes before a reply and before a user's line."""
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
    """A model file's template failed; `reason` says how, without the hint; `kind` is one of
    `_WHAT`'s keys (or "syntax")."""

    def __init__(self, reason: str, *, path: Path | str | None, kind: str = "failed") -> None:
        super().__init__(f"{reason}; {_hint()}", path=path)
        self.reason = reason
        self.kind = kind


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
        """Why the conversation is folded, or the family's renderer stands in for the template."""
        self._fallback = BUILTINS[self.family] if fallback and self.family else None
        self._replaced = False
        self._folds_refused = self.family is not None and not BUILTINS[self.family].system_role
        """A family without a system role folds what its template refuses, without a note."""
        self._skeletons: dict[Shape, tuple[Skeleton, bool]] = {}
        if len(source) > MAX_TEMPLATE_CHARS:
            raise TemplateFailed(
                f"chat template is {len(source):,} characters, more than the "
                f"{MAX_TEMPLATE_CHARS:,} allowed",
                path=self.origin,
            )
        self._source = source
        self._run([])

    @property
    def replaced(self) -> bool:
        """True once the family's built-in renderer has taken over for good."""
        return self._replaced

    def render(self, messages: Sequence[Message], *, add_generation_prompt: bool = True) -> Prompt:
        """The prompt as segments: the template's output around message text (see `skeleton`)."""
        if not self._replaced:
            try:
                skeleton, folded = self._skeleton(shape_of(messages, add_generation_prompt))
                return fill(skeleton, alternating(messages) if folded else messages)
            except TemplateFailed as exc:
                if self._fallback is None:
                    raise
                self._replaced = True
                self._tell(f"{exc.reason}; using the built-in {self._fallback.id} format instead")
        assert self._fallback is not None
        return self._fallback.render(messages, add_generation_prompt=add_generation_prompt)

    def _skeleton(self, shape: Shape) -> tuple[Skeleton, bool]:
        """The skeleton for `shape` and whether it is the folded shape's (see the docstring)."""
        found = self._skeletons.get(shape)
        if found is None:
            found = self._fit(shape)
            if len(self._skeletons) >= _SHAPES:
                self._skeletons.clear()
            self._skeletons[shape] = found
        return found

    def _fit(self, shape: Shape) -> tuple[Skeleton, bool]:
        problem = None
        try:
            skeleton = self._parse(shape)
            problem = self._problem(shape, skeleton)
        except TemplateFailed as exc:
            if exc.kind != "raised" or not self._folds_refused:
                raise
        else:
            if problem is None:
                return skeleton, False
        folded = _folded(shape)
        skeleton = self._parse(folded)
        still = self._problem(folded, skeleton)
        if still is not None:
            raise self._error("shape", f"it {still}, even with the persona in a user turn")
        if problem is not None and not self.note:
            self._tell(f"chat template {problem}; the persona goes into a user turn instead")
        return skeleton, True

    def _parse(self, shape: Shape) -> Skeleton:
        contexts = [self._context(shape, padded) for padded in (False, True)]
        try:
            return parse(*self._run(contexts))
        except ShapeError as exc:
            raise self._error("shape", str(exc)) from None

    def _problem(self, shape: Shape, skeleton: Skeleton) -> str | None:
        """How the skeleton fails the conversation, or None: a message with text that has no
        place in it, or an opening greeting without the assistant's role header."""
        roles = [role for role, _ in shape[0]]
        placed = {part.index for part in skeleton if isinstance(part, Hole)}
        lost = {roles[i] for i, (_, text) in enumerate(shape[0]) if text and i not in placed}
        if lost:
            return "drops the system text" if lost == {"system"} else "drops message text"
        if "assistant" not in roles or "user" in roles[: roles.index("assistant")]:
            return None
        exchange = _markup_before(self._skeleton(_EXCHANGE)[0])
        reply, line = exchange.get(1), exchange.get(2)
        greeting = _markup_before(skeleton).get(roles.index("assistant"))
        if reply is None or line is None or greeting is None or reply == line:
            return None  # a template that marks no roles has no header to miss
        if _common_suffix(greeting, reply) > _common_suffix(line, reply):
            return None
        return "gives an opening greeting no role header"

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
                what = f"has a syntax error on line {exc.line}"
                raise self._error(what, str(exc), kind="syntax") from None
            raise self._error(exc.kind, str(exc)) from None
        for text in renders:
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                raise self._error("failed", "it writes text that is not valid Unicode") from None
        return renders

    def _error(self, what: str, detail: str, *, kind: str | None = None) -> TemplateFailed:
        detail = " ".join(detail.split())[:_DETAIL_CHARS]
        reason = f"chat template {_WHAT.get(what, what)}: {detail}"
        return TemplateFailed(reason, path=self.origin, kind=kind or what)

    def _tell(self, note: str) -> None:
        self.note = f"{Path(self.origin).name}: {note}" if self.origin else note


def _folded(shape: Shape) -> Shape:
    """`shape` after `alternating` (which keeps which turns have text)."""
    stand_ins = [Message(role, "x" if text else "") for role, text in shape[0]]
    return shape_of(alternating(stand_ins), shape[1])


def _markup_before(skeleton: Skeleton) -> dict[int, str]:
    """The markup the template writes right before each message's text (its first place)."""
    before: dict[int, str] = {}
    markup: list[str] = []
    for part in skeleton:
        if isinstance(part, str):
            markup.append(part)
        else:
            before.setdefault(part.index, "".join(markup))
            markup = []
    return before


def _common_suffix(a: str, b: str) -> int:
    n = 0
    while n < min(len(a), len(b)) and a[-1 - n] == b[-1 - n]:
        n += 1
    return n
