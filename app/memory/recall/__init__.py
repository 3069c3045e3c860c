"""Recalling older messages that left the window: full-text search ranked by importance and
recency."""

from app.memory.recall.importance import importance_of
from app.memory.recall.retrieval import Recalled, match_expression, query_terms, recall, search

__all__ = ["Recalled", "importance_of", "match_expression", "query_terms", "recall", "search"]
