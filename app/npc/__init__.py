"""NPCs a game can act on: structured replies (line, emotion, action, state changes) and barks.

Domain code only: the CLI and the TUI call it; it never imports them.
"""
