"""The long-chat benchmarks' script: a sheet, user lines and canned replies of set token
lengths (deterministic prose), putting a canned reply in the chat, and how many tokens of a
prompt are new since the last one."""

from __future__ import annotations

import difflib
import random

from app.engine.base import Engine
from app.session import ChatSession
from app.sheets.sheet import Sheet

SHEET_TOKENS = 800
USER_TOKENS = 40
REPLY_TOKENS = 120
MIN_RUN = 64
"""A shared run shorter than this is re-read rather than moved (as in the engine)."""

WORDS = (  # noqa: SIM905 (one word list, easier to read as prose)
    "lantern harbour ember frost willow anvil banner cellar orchard ledger compass thistle "
    "mirror saddle tavern quarry furnace ribbon meadow beacon goblet lattice hearth raven "
    "cinder marble garrison bramble falcon parchment granary crescent tinder harvest sentry "
    "ferry tapestry copper midnight river summit glacier kettle wagon tower forge market"
).split()


def _grow(engine: Engine, target: int, seed: int, opening: str) -> str:
    """Deterministic prose of about `target` tokens."""
    rng = random.Random(seed)
    words = opening.split()
    while True:
        text = " ".join(words)
        if engine.count_tokens(text) >= target:
            return text
        sentence = [rng.choice(WORDS) for _ in range(rng.randrange(6, 12))]
        words += [sentence[0].capitalize(), *sentence[1:-1], sentence[-1] + "."]


def bench_sheet(engine: Engine) -> Sheet:
    description = _grow(engine, SHEET_TOKENS - 60, 1, "Orla keeps the lighthouse archive.")
    return Sheet(
        name="Orla",
        description=description,
        personality="patient, precise, fond of old maps",
        first_message="The archive door creaks. Orla looks up from a ledger.",
    )


def user_line(engine: Engine, turn: int) -> str:
    return _grow(engine, USER_TOKENS, 1000 + turn, f"(turn {turn})")


def canned_reply(engine: Engine, turn: int) -> str:
    return _grow(engine, REPLY_TOKENS, 5000 + turn, f"Orla answers ({turn}):")


def new_tokens(previous: list[int], current: list[int]) -> int:
    """Tokens of `current` not in `previous`: after the common prefix, minus the longest shared
    run (if long enough to be worth keeping rather than re-reading)."""
    p = 0
    limit = min(len(previous), len(current))
    while p < limit and previous[p] == current[p]:
        p += 1
    a, b = previous[p:], current[p:]
    if not a or not b:
        return len(b)
    match = difflib.SequenceMatcher(None, a, b, autojunk=False).find_longest_match(
        0, len(a), 0, len(b)
    )
    return len(b) - (match.size if match.size >= MIN_RUN else 0)


def append_canned(session: ChatSession, reply: str) -> None:
    """Make the turn's reply the canned text, whatever the model said."""
    if (
        session.history
        and session.history[-1].role == "assistant"
        and len(session.history) > 1
        and session.history[-2].role == "user"
    ):
        session.edit(-1, reply)
        return
    store, chat = session.store, session.chat
    assert store is not None and chat is not None
    store.add_message(chat.id, "assistant", reply, name=session.sheet.name)
    session.reload()
