"""Where summaries are written: the background summariser, the model call that writes a
summary (recap) and the stored summaries a prompt reads."""

from app.memory.summaries.recap import summarise
from app.memory.summaries.store import Summary, current_summary, pending_span, store_summary
from app.memory.summaries.summariser import SUMMARY_FAILED, Summariser, roll_up

__all__ = [
    "SUMMARY_FAILED",
    "Summariser",
    "Summary",
    "current_summary",
    "pending_span",
    "roll_up",
    "store_summary",
    "summarise",
]
