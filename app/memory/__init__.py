"""Conversation memory: what a chat keeps and what of it goes into each prompt.

Sub-packages by what they hold: `store` (where a chat is saved), `lore` (where lore entries
fire), `summaries` (where summaries are written), `recall` (older messages brought back),
`sillytavern` (SillyTavern's chat files). On top: `assembly` (the prompt's sections),
`budget`, `history` (the active path as the prompt reads it), `message_cap`, `turn_inputs`,
and the per-chat `authors_note` and `chat_state`.
"""
