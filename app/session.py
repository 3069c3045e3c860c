"""A chat with one character, in memory: the domain object behind `loreweaver chat` and the TUI.

It wires the pieces together — sheet → messages → the model's prompt format → engine — and keeps
the history. It knows nothing of terminals: callers iterate the `Generation` it returns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from app.engine.base import Engine, Generation, Sampling
from app.engine.modelinfo import ModelInfo
from app.home import Home
from app.memory.assembly import Assembly, Turn, TurnNotes, Window, assemble, history_turns
from app.prompts.formats import PromptFormat, choose_format, role_play_stops
from app.prompts.messages import Message
from app.settings import Settings
from app.sheets import library
from app.sheets.macros import substitute
from app.sheets.sheet import Sheet


@dataclass
class ChatSession:
    sheet: Sheet
    fmt: PromptFormat
    engine: Engine
    user: str = "User"
    user_description: str = ""
    history: list[Message] = field(default_factory=list)
    reserve: int = 300
    """Tokens kept free for the reply; `send` sets it from the sampling's max_tokens."""

    def __post_init__(self) -> None:
        self._count = lru_cache(maxsize=4096)(self.engine.count_tokens)

    def assembly(self, pending: str | None = None, notes: TurnNotes | None = None) -> Assembly:
        turns = [Turn(m.role, m.content) for m in self.history]
        if pending is not None:
            turns.append(Turn("user", pending))
        return assemble(
            self.sheet,
            history_turns(self.sheet, turns, user=self.user),
            user=self.user,
            user_description=self.user_description,
            count=self._count,
            window=Window(n_ctx=self.engine.n_ctx, reserve=self.reserve),
            notes=notes,
        )

    def messages(self, pending: str | None = None) -> list[Message]:
        return self.assembly(pending).messages

    def prompt(self, pending: str | None = None) -> str:
        return self.fmt.render(self.messages(pending))

    @property
    def stops(self) -> list[str]:
        return role_play_stops(self.fmt, self.user)

    def send(self, text: str, sampling: Sampling) -> Generation:
        """Start the character's reply to `text`; call `record` with the finished generation."""
        self.reserve = sampling.max_tokens
        prompt = self.prompt(text)
        self.history.append(Message("user", text))
        return self.engine.generate(prompt, sampling, stop=self.stops)

    def record(self, generation: Generation) -> str:
        """Keep the reply (a stopped reply keeps what was produced) in the history."""
        reply = generation.text.strip()
        if reply:
            self.history.append(Message("assistant", reply))
        return reply


def greeting(sheet: Sheet, user: str) -> str:
    return substitute(sheet.first_message.strip(), char=sheet.name, user=user)


def sampling_from(settings: Settings, *, seed: int | None, max_tokens: int | None) -> Sampling:
    base = settings.sampling
    return Sampling(
        temperature=base.temperature,
        top_p=base.top_p,
        top_k=base.top_k,
        min_p=base.min_p,
        repeat_penalty=base.repeat_penalty,
        seed=base.seed if seed is None else seed,
        max_tokens=base.max_tokens if max_tokens is None else max_tokens,
    )


def resolve_setup(
    home: Home, settings: Settings, *, character: str, model: str | None, template: str | None
) -> tuple[Sheet, ModelInfo, PromptFormat]:
    """Everything a chat needs except the loaded engine, with every input checked first."""
    from app.engine.registry import resolve_model

    _, sheet = library.load(home, character)
    info = resolve_model(home, model if model is not None else settings.model)
    fmt = choose_format(template if template is not None else settings.template, info)
    return sheet, info, fmt


def open_session(
    home: Home,
    settings: Settings,
    *,
    character: str,
    model: str | None = None,
    template: str | None = None,
    user: str | None = None,
) -> ChatSession:
    from app.engine.llamacpp import load_engine

    sheet, info, fmt = resolve_setup(
        home, settings, character=character, model=model, template=template
    )
    engine = load_engine(info, n_threads=settings.n_threads, n_ctx_cap=settings.n_ctx)
    return ChatSession(
        sheet=sheet,
        fmt=fmt,
        engine=engine,
        user=user or settings.user_name,
        user_description=settings.user_description,
    )
