"""Where a chat is saved: the SQLite chat store (schema, migrations, the message tree and its
active path, replies written as they stream, bookmarks, the undo of a delete, repair)."""

from app.memory.store.bookmarks import (
    add_bookmark,
    branch_from,
    find_bookmark,
    jump_to,
    list_bookmarks,
    remove_bookmark,
)
from app.memory.store.chat_store import ChatStore
from app.memory.store.checkpoint import ReplyWriter
from app.memory.store.db import ChatDatabaseError, dump_json, heals_search_index, load_json
from app.memory.store.integrity import check, repair
from app.memory.store.liveness import process_token, writer_alive
from app.memory.store.migrations import SCHEMA_VERSION, migrate, schema_version
from app.memory.store.path_index import PathIndex, on_path, up_cte
from app.memory.store.records import ROLES, STATUSES, Chat, ChatSummary, Status, StoredMessage
from app.memory.store.tree import MESSAGE_COLUMNS, message_from_row

__all__ = [
    "Chat",
    "ChatDatabaseError",
    "ChatStore",
    "ChatSummary",
    "MESSAGE_COLUMNS",
    "PathIndex",
    "ROLES",
    "ReplyWriter",
    "SCHEMA_VERSION",
    "STATUSES",
    "Status",
    "StoredMessage",
    "add_bookmark",
    "branch_from",
    "check",
    "dump_json",
    "find_bookmark",
    "heals_search_index",
    "jump_to",
    "list_bookmarks",
    "load_json",
    "message_from_row",
    "migrate",
    "on_path",
    "process_token",
    "remove_bookmark",
    "repair",
    "schema_version",
    "up_cte",
    "writer_alive",
]
