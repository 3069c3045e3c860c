"""Where lore entries fire: keys (plain, whole-word, RE2 regex), rules, timers, the budget and
the scan of one turn, and the tryout the editor's test box and `characters lore-test` share."""

from app.memory.lore.activation import activate
from app.memory.lore.defaults import WorldInfoSettings, lore_budget
from app.memory.lore.keys import KeyRules, haystack, key_problem
from app.memory.lore.regex import BadKey, RegexBudget, compile_key, encode
from app.memory.lore.result import LoreResult, ScanInput
from app.memory.lore.rules import book_problems
from app.memory.lore.scan import scan_lore, timers_for, timers_meta
from app.memory.lore.timing import LoreTimers
from app.memory.lore.tryout import Probe, probe

__all__ = [
    "BadKey",
    "KeyRules",
    "LoreResult",
    "LoreTimers",
    "Probe",
    "RegexBudget",
    "ScanInput",
    "WorldInfoSettings",
    "activate",
    "book_problems",
    "compile_key",
    "encode",
    "haystack",
    "key_problem",
    "lore_budget",
    "probe",
    "scan_lore",
    "timers_for",
    "timers_meta",
]
