"""Conversation memory: what goes into the prompt, and (later) the durable chat store."""
