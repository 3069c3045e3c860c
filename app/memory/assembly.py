"""Prompt assembly: sheet, lore, summary, history and per-turn notes become role-tagged messages.

The layout is built for the KV cache. What is fixed for a chat comes first (persona, constant
lore, example dialogues), then the summary of evicted turns (changes rarely), then the history
(append-only), and everything that changes every turn (triggered lore, recalled memories,
state variables, author's note, post-history instructions) rides in the last user turn, so each
turn's prompt extends the previous one; only an author's note given a depth sits earlier. When
the window is full, example dialogues go first, then the oldest turns in large chunks (see
`budget`). Every section reports its token count and why it holds what it holds, for `--explain`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from app.memory.budget import window_start
from app.prompts.messages import Message, Role
from app.sheets.macros import substitute
from app.sheets.sheet import Sheet

MESSAGE_OVERHEAD = 8
"""Tokens a turn's markers cost on top of its text (estimate; the caller checks the total)."""


@dataclass(frozen=True)
class Turn:
    role: Role
    content: str
    id: int | None = None


@dataclass
class TurnNotes:
    """What changes every turn; it goes at the end of the prompt."""

    lore: list[tuple[str, str]] = field(default_factory=list)
    """Triggered lore entries as (title, text)."""
    memories: list[str] = field(default_factory=list)
    state: dict[str, object] = field(default_factory=dict)
    authors_note: str = ""
    post_history: str = ""


@dataclass(frozen=True)
class InChat:
    """A message put `depth` messages from the end of the history (an author's note at depth)."""

    depth: int
    message: Message
    why: str = ""


@dataclass(frozen=True)
class Window:
    n_ctx: int
    reserve: int
    """Tokens kept free for the reply (the sampling's max_tokens)."""
    chunk_fraction: float = 0.25
    margin: int = 16


@dataclass
class Section:
    name: str
    tokens: int
    lines: list[str] = field(default_factory=list)


@dataclass
class Assembly:
    messages: list[Message]
    sections: list[Section]
    first_kept: int
    """Index of the first history turn still in the window (0: nothing evicted)."""
    evicted: Sequence[Turn]
    """The turns before the window (a view: a stored path's texts are not read for it)."""
    examples_cut: bool

    @property
    def estimated_tokens(self) -> int:
        return sum(s.tokens for s in self.sections)


def persona_text(sheet: Sheet, *, user: str, user_description: str = "") -> str:
    """The persona block: the system prompt, then every descriptive and NPC field that is set.

    `{{original}}` in the sheet's system prompt stands for Loreweaver's default instruction.
    """
    default = (
        f"You are {sheet.name}. Stay in character and write {sheet.name}'s next reply in a "
        f"role-play with {user}. Never write {user}'s lines."
    )
    own = sheet.system_prompt.strip()
    parts = [own.replace("{{original}}", default) if own else default]
    sections: list[tuple[str, str]] = [
        ("Description", sheet.description),
        ("Role", sheet.role),
        ("Personality", sheet.personality),
        ("Goals", _bullets(sheet.goals)),
        ("Knows", _bullets(sheet.knowledge)),
        (
            f"Does not know (if asked, {sheet.name} says so and never invents an answer)",
            _bullets(sheet.unknowns),
        ),
        (
            "Relationships",
            _bullets([_relation(r.name, r.kind, r.trust, r.notes) for r in sheet.relationships]),
        ),
        ("Speech", sheet.speech_style),
        ("Catchphrases", _bullets(sheet.catchphrases)),
        (
            "Refuses to discuss (stays in character, never mentions being an AI or a game)",
            _bullets([f"{r.topic}: {r.reply}" if r.reply else r.topic for r in sheet.refusals]),
        ),
        ("Scenario", sheet.scenario),
        (f"About {user}", user_description),
    ]
    parts += [
        f"{title}:\n{body.strip()}" if "\n" in body.strip() else f"{title}: {body.strip()}"
        for title, body in sections
        if body.strip()
    ]
    return substitute("\n\n".join(parts), char=sheet.name, user=user)


def post_history_text(sheet: Sheet, *, user: str) -> str:
    text = sheet.post_history_instructions.replace("{{original}}", "").strip()
    return substitute(text, char=sheet.name, user=user)


def _bullets(items: Sequence[str]) -> str:
    return "\n".join(f"- {item.strip()}" for item in items if item.strip())


def _relation(name: str, kind: str, trust: int, notes: str) -> str:
    label = f"{name} ({kind}, trust {trust:+d})" if kind else f"{name} (trust {trust:+d})"
    return f"{label}: {notes.strip()}" if notes.strip() else label


def examples_text(sheet: Sheet, *, user: str) -> str:
    """`<START>`-separated example exchanges as one block, blank lines between them."""
    blocks = [b.strip() for b in sheet.example_dialogues.replace("\r\n", "\n").split("<START>")]
    body = "\n\n".join(b for b in blocks if b)
    return substitute(f"Example dialogue:\n{body}", char=sheet.name, user=user) if body else ""


def notes_text(notes: TurnNotes, *, char: str) -> str:
    parts: list[str] = []
    if notes.lore:
        parts.append("Lore:\n" + "\n".join(f"- {text.strip()}" for _, text in notes.lore))
    if notes.memories:
        memories = "\n".join(f"- {m.strip()}" for m in notes.memories)
        parts.append("Earlier in this chat:\n" + memories)
    if notes.state:
        parts.append("State: " + ", ".join(f"{k} = {v}" for k, v in notes.state.items()))
    if notes.authors_note.strip():
        parts.append(notes.authors_note.strip())
    if notes.post_history.strip():
        parts.append(notes.post_history.strip())
    if not parts:
        return ""
    return f"[Notes for {char}'s reply, not spoken aloud:\n" + "\n\n".join(parts) + "]"


def assemble(
    sheet: Sheet,
    turns: Sequence[Turn],
    *,
    user: str,
    count: Callable[[str], int],
    window: Window,
    user_description: str = "",
    constant_lore: Sequence[tuple[str, str]] = (),
    summary: str = "",
    notes: TurnNotes | None = None,
    in_chat: InChat | None = None,
    sizes: Sequence[int] | None = None,
) -> Assembly:
    """Lay the prompt out; `turns` is the whole active history, greeting first.

    `sizes` are the turns' costs when the caller knows them (a long stored path's are cached):
    then only the kept turns' texts are read.
    """
    notes = notes or TurnNotes()

    def cost(text: str) -> int:
        return count(text) + MESSAGE_OVERHEAD if text else 0

    persona = persona_text(sheet, user=user, user_description=user_description)
    lore_fixed = "\n\n".join(text.strip() for _, text in constant_lore if text.strip())
    examples = examples_text(sheet, user=user)
    summary_text = f"Story so far: {summary.strip()}" if summary.strip() else ""
    tail = notes_text(notes, char=sheet.name)

    fixed_tokens = cost(persona) + (count(lore_fixed) if lore_fixed else 0)
    example_tokens = count(examples) if examples else 0
    summary_tokens = cost(summary_text)
    tail_tokens = count(tail) if tail else 0
    in_chat_tokens = cost(in_chat.message.content) if in_chat is not None else 0
    if sizes is None:
        sizes = [cost(t.content) for t in turns]

    room = window.n_ctx - window.reserve - window.margin
    history_room = room - fixed_tokens - summary_tokens - tail_tokens - in_chat_tokens
    examples_cut = bool(examples) and sum(sizes) + example_tokens > history_room
    if not examples_cut:
        history_room -= example_tokens
    chunk = int(max(history_room, 0) * window.chunk_fraction)
    first = window_start(sizes, max(history_room, 0), chunk)
    kept = list(turns[first:])

    system = "\n\n".join(p for p in (persona, lore_fixed, "" if examples_cut else examples) if p)
    messages = [Message("system", system)]
    if summary_text:
        messages.append(Message("system", summary_text))
    for index, turn in enumerate(kept):
        content = turn.content
        if tail and index == len(kept) - 1 and turn.role == "user":
            content = f"{content}\n\n{tail}"
        messages.append(Message(turn.role, content))
    history_start = len(messages) - len(kept)
    if tail and not (kept and kept[-1].role == "user"):
        messages.append(Message("user", tail))
    if in_chat is not None:
        messages.insert(history_start + max(len(kept) - in_chat.depth, 0), in_chat.message)

    sections = [
        Section("persona", cost(persona), [f"{sheet.name}'s sheet"]),
        Section(
            "constant lore",
            count(lore_fixed) if lore_fixed else 0,
            [title for title, _ in constant_lore],
        ),
        Section(
            "example dialogues",
            0 if examples_cut else example_tokens,
            ["cut: the window is full (examples go first)"] if examples_cut else [],
        ),
        Section("summary", summary_tokens, [summary_text[:80]] if summary_text else []),
        Section(
            "history",
            sum(sizes[first:]),
            [f"{len(kept)} turns kept"]
            + ([f"{first} oldest turns evicted ({sum(sizes[:first])} tokens)"] if first else []),
        ),
        Section("per-turn notes", tail_tokens, _note_lines(notes)),
    ]
    if in_chat is not None:
        sections.append(Section("author's note", in_chat_tokens, [in_chat.why]))
    return Assembly(messages, sections, first, turns[:first], examples_cut)


def _note_lines(notes: TurnNotes) -> list[str]:
    lines = [f"lore: {title}" for title, _ in notes.lore]
    lines += [f"memory: {m[:60]}" for m in notes.memories]
    lines += [f"state: {k} = {v}" for k, v in notes.state.items()]
    if notes.authors_note.strip():
        lines.append("author's note")
    if notes.post_history.strip():
        lines.append("post-history instructions")
    return lines
