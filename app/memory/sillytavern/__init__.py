"""SillyTavern's chat files: JSONL parsing, import into the store, export, and its date texts."""

from app.memory.sillytavern.chat_file import OUR_KEY, open_chat_file, parse_chat
from app.memory.sillytavern.chats import NoCharacter, export_chat, import_chat, write_chat_file
from app.memory.sillytavern.dates import iso_date, parse_date

__all__ = [
    "NoCharacter",
    "OUR_KEY",
    "export_chat",
    "import_chat",
    "iso_date",
    "open_chat_file",
    "parse_chat",
    "parse_date",
    "write_chat_file",
]
