"""How much a message is worth remembering: a cheap heuristic, no model call.

Generative Agents asks the model to rate each memory's poignancy; on a 135M model that rating is
noise and costs a generation per message, so Loreweaver scores text instead. The score, in
[0, 1], adds up what tends to mark a turn the story will come back to:

- length (up to 0.2): a long turn usually carries more than "ok" or "*nods*";
- names (up to 0.25): capitalised words that don't open a sentence — people, places, items;
- story keywords (up to 0.3): promises, quests, secrets, debts, threats, treasure, …;
- numbers and prices (0.15): "300 gold", "the 3rd bell", "$20";
- a question (0.1): an open question is often the hook of the next scene.

A stored `messages.importance` above 0 (set by some future rater) wins over the heuristic, which
is computed lazily at recall time, so changing these rules never needs a migration.
"""

from __future__ import annotations

import re

_KEYWORDS_TEXT = """
    promise promised promises swear swore vow vowed oath quest mission task job secret secrets
    hidden hide hid treasure gold silver coin coins price pay paid owe owes debt reward bounty
    key map letter ring sword kill killed murder dead die death betray betrayed traitor enemy
    love loved hate married marry remember never always forever danger warning warn curse
    cursed stolen steal stole lost find found meet tomorrow tonight deal bargain contract
    """
KEYWORDS: frozenset[str] = frozenset(_KEYWORDS_TEXT.split())

_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
_SENTENCE_START = re.compile(r"(?:^|[.!?…:\"“*\n]\s*)$")
_NUMBER = re.compile(r"\d|[$€£¥]")


def _names(text: str) -> int:
    """Capitalised words that are not the first word of a sentence (and not 'I')."""
    count = 0
    for match in _WORD.finditer(text):
        word = match.group()
        if not word[0].isupper() or word in ("I", "I'm", "I'll", "I've", "I'd"):
            continue
        if _SENTENCE_START.search(text[max(0, match.start() - 3) : match.start()]):
            continue
        count += 1
    return count


def importance_of(text: str) -> float:
    """The heuristic importance of a message's text, in [0, 1] (see the module docstring)."""
    words = [w.casefold() for w in _WORD.findall(text)]
    if not words:
        return 0.0
    score = 0.2 * min(len(words) / 60.0, 1.0)
    score += 0.25 * min(_names(text) / 3.0, 1.0)
    score += 0.3 * min(sum(1 for w in words if w in KEYWORDS) / 2.0, 1.0)
    score += 0.15 if _NUMBER.search(text) else 0.0
    score += 0.1 if "?" in text else 0.0
    return round(min(score, 1.0), 3)
