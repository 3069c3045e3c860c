"""A stored chat's active path as a sequence that reads its texts only when asked.

Resuming a chat needs its ids, roles and token counts (to find the window) and the texts of
the window alone; the screen shows a page at a time. `PathHistory` holds the first (a few bytes
per message) and reads texts a page at a time, keeping only a few pages; `PromptTurns` is the
prompt's view of it, each text cut to what a prompt may hold (see `message_cap`).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from typing import Any, overload

from app.memory.assembly import MESSAGE_OVERHEAD, Turn
from app.memory.message_cap import cap_text, head_chars, marker
from app.memory.store import ChatStore, PathIndex, StoredMessage, message_from_row, path_index
from app.prompts.messages import Message, Role

PAGE = 64
"""Messages read together (a screen's worth or a slice of the window)."""
PAGES_KEPT = 8
COUNT_BATCH = 512
"""Messages counted per transaction when a path's token counts are first filled in."""


def tokenizer_key(engine: Any, n_ctx: int) -> str:
    """Which cached token counts fit this engine: its model file, and the cap the window sets."""
    info = getattr(engine, "info", None)
    model = f"{info.path.name}:{info.file_size}" if info is not None else type(engine).__name__
    return f"{model}|cap {n_ctx}"


class _Pages:
    """A small cache of pages of rows, shared by a history and its slices."""

    def __init__(self) -> None:
        self.pages: OrderedDict[tuple[object, ...], dict[int, Any]] = OrderedDict()

    def get(self, key: tuple[object, ...], load: Callable[[], dict[int, Any]]) -> dict[int, Any]:
        page = self.pages.get(key)
        if page is None:
            page = self.pages[key] = load()
            while len(self.pages) > PAGES_KEPT:
                self.pages.popitem(last=False)
        self.pages.move_to_end(key)
        return page


class PathHistory(Sequence[Message]):
    """The visible active path of a stored chat, root first; texts are read on demand.

    Slicing gives a view over the same index without reading anything.
    """

    def __init__(
        self,
        store: ChatStore,
        spine: PathIndex,
        *,
        tokenizer: str = "",
        start: int = 0,
        stop: int | None = None,
        pages: _Pages | None = None,
    ) -> None:
        self.store = store
        self.spine = spine
        self.tokenizer = tokenizer
        self.start = start
        self.stop = len(spine.ids) if stop is None else stop
        self._pages = pages or _Pages()

    @classmethod
    def load(cls, store: ChatStore, chat_id: int, tokenizer: str = "") -> PathHistory:
        with store.reading() as conn:
            leaf = store.get_chat(chat_id).active_leaf_id
            return cls(store, path_index.read_index(conn, leaf, tokenizer), tokenizer=tokenizer)

    def __len__(self) -> int:
        return self.stop - self.start

    def appended(self, message_id: int, role: str) -> PathHistory:
        """This view with a message just stored after its end (the index is extended in place
        when the view reaches its end, so no other view sees a change)."""
        spine = self.spine
        if self.start != 0 or self.stop != len(spine.ids):
            spine = PathIndex(self.ids, self.roles, spine.tokens[self.start : self.stop])
        spine.ids.append(message_id)
        spine.roles.append(role)
        spine.tokens.append(None)
        return PathHistory(self.store, spine, tokenizer=self.tokenizer, pages=self._pages)

    @property
    def ids(self) -> list[int]:
        return self.spine.ids[self.start : self.stop]

    @property
    def roles(self) -> list[str]:
        return self.spine.roles[self.start : self.stop]

    @overload
    def __getitem__(self, item: int) -> Message: ...
    @overload
    def __getitem__(self, item: slice) -> PathHistory: ...
    def __getitem__(self, item: int | slice) -> Message | PathHistory:
        if isinstance(item, slice):
            lo, hi, step = item.indices(len(self))
            if step != 1:
                raise ValueError("a chat history slices only with step 1")
            return PathHistory(
                self.store,
                self.spine,
                tokenizer=self.tokenizer,
                start=self.start + lo,
                stop=self.start + max(lo, hi),
                pages=self._pages,
            )
        return self.stored(item).as_message()

    def __iter__(self) -> Iterator[Message]:
        for i in range(len(self)):
            yield self[i]

    def _absolute(self, item: int) -> int:
        if item < 0:
            item += len(self)
        if not 0 <= item < len(self):
            raise IndexError("history index out of range")
        return self.start + item

    def stored(self, item: int) -> StoredMessage:
        """The whole stored message at `item` (its full text)."""
        at = self._absolute(item)
        first = at - at % PAGE
        ids = self.spine.ids[first : first + PAGE]

        def load() -> dict[int, Any]:
            with self.store.reading() as conn:
                rows = path_index.read_rows(conn, ids)
            return {i: message_from_row(row) for i, row in rows.items()}

        key = ("rows", ids[0], ids[-1])  # by ids: a page read before an append is not reused
        message: StoredMessage | None = self._pages.get(key, load).get(self.spine.ids[at])
        if message is None:
            raise IndexError(f"message {self.spine.ids[at]} was deleted meanwhile")
        return message

    def heads(self, lo: int, hi: int, n_ctx: int) -> dict[int, tuple[str, int]]:
        """(head, full length) of the messages at [lo, hi) of this view, for prompts."""
        ids = self.spine.ids[self.start + lo : self.start + hi]
        with self.store.reading() as conn:
            return path_index.read_heads(conn, ids, head_chars(n_ctx))

    def page(self, lo: int, hi: int, chars: int) -> list[Message]:
        """The messages at [lo, hi) for showing: each text at most `chars` long, a longer one
        cut with a marker (the stored text stays whole; `self[i]` reads it)."""
        ids = self.spine.ids[self.start + lo : self.start + hi]
        with self.store.reading() as conn:
            heads = path_index.read_heads(conn, ids, chars)
        out = []
        for message_id, role in zip(ids, self.spine.roles[self.start + lo :], strict=False):
            head, length = heads.get(message_id, ("", 0))
            text = head if length <= len(head) else head + marker(length - len(head))
            out.append(Message(role, text))  # type: ignore[arg-type]
        return out

    def counts(self, n_ctx: int, count: Callable[[str], int]) -> list[int]:
        """Token counts of each message's prompt copy, filling in (and storing) missing ones."""
        tokens = self.spine.tokens
        missing = [i for i in range(self.start, self.stop) if tokens[i] is None]
        for at in range(0, len(missing), COUNT_BATCH):
            batch = missing[at : at + COUNT_BATCH]
            with self.store.reading() as conn:
                heads = path_index.read_heads(
                    conn, [self.spine.ids[i] for i in batch], head_chars(n_ctx)
                )
            found = []
            for i in batch:
                message_id = self.spine.ids[i]
                if message_id in heads:
                    tokens[i] = count(cap_text(*heads[message_id], n_ctx, count))
                    found.append((message_id, tokens[i] or 0))
                else:
                    tokens[i] = 0  # deleted meanwhile: the next reload drops it
            if self.tokenizer:
                with self.store.transaction() as conn:
                    path_index.save_tokens(conn, self.tokenizer, found)
        return [t or 0 for t in tokens[self.start : self.stop]]


class PromptTurns(Sequence[Turn]):
    """The turns of a prompt: a stored path's (texts read and capped only when indexed), then
    `tail` (the line being sent). Slices are views; `sizes` are the turns' token costs."""

    def __init__(
        self,
        history: PathHistory,
        tail: Sequence[Turn],
        *,
        n_ctx: int,
        count: Callable[[str], int],
        lo: int = 0,
        hi: int | None = None,
        pages: _Pages | None = None,
    ) -> None:
        self.history, self.tail, self.n_ctx, self.counter = history, tuple(tail), n_ctx, count
        self.lo = lo
        self.hi = len(history) + len(self.tail) if hi is None else hi
        self._pages = pages or _Pages()

    def __len__(self) -> int:
        return self.hi - self.lo

    @property
    def ids(self) -> list[int | None]:
        stored = len(self.history)
        out: list[int | None] = list(self.history.ids[self.lo : min(self.hi, stored)])
        return out + [t.id for t in self.tail[max(self.lo - stored, 0) : max(self.hi - stored, 0)]]

    @property
    def roles(self) -> list[str]:
        stored = len(self.history)
        out = list(self.history.roles[self.lo : min(self.hi, stored)])
        tail = self.tail[max(self.lo - stored, 0) : max(self.hi - stored, 0)]
        return out + [t.role for t in tail]

    def sizes(self) -> list[int]:
        """Each turn's cost in the prompt (text tokens plus the turn markers' estimate)."""
        stored = self.history.counts(self.n_ctx, self.counter)
        tail = [self.counter(t.content) for t in self.tail]
        every = [n + MESSAGE_OVERHEAD if n else 0 for n in stored + tail]
        return every[self.lo : self.hi]

    @overload
    def __getitem__(self, item: int) -> Turn: ...
    @overload
    def __getitem__(self, item: slice) -> PromptTurns: ...
    def __getitem__(self, item: int | slice) -> Turn | PromptTurns:
        if isinstance(item, slice):
            lo, hi, step = item.indices(len(self))
            if step != 1:
                raise ValueError("prompt turns slice only with step 1")
            return PromptTurns(
                self.history,
                self.tail,
                n_ctx=self.n_ctx,
                count=self.counter,
                lo=self.lo + lo,
                hi=self.lo + max(lo, hi),
                pages=self._pages,
            )
        if item < 0:
            item += len(self)
        if not 0 <= item < len(self):
            raise IndexError("turn index out of range")
        at = self.lo + item
        stored = len(self.history)
        if at >= stored:
            return self.tail[at - stored]
        first = at - at % PAGE
        page = self._pages.get(
            ("heads", first),
            lambda: self.history.heads(first, min(first + PAGE, stored), self.n_ctx),
        )
        message_id = self.history.ids[at]
        head, length = page.get(message_id, ("", 0))
        role: Role = self.history.roles[at]  # type: ignore[assignment]
        return Turn(role, cap_text(head, length, self.n_ctx, self.counter), message_id)

    def __iter__(self) -> Iterator[Turn]:
        for i in range(len(self)):
            yield self[i]


class Texts(Sequence[str]):
    """The texts of a sequence of turns; slicing reads only the slice (lore scans the end)."""

    def __init__(self, turns: Sequence[Turn]) -> None:
        self.turns = turns

    def __len__(self) -> int:
        return len(self.turns)

    @overload
    def __getitem__(self, item: int) -> str: ...
    @overload
    def __getitem__(self, item: slice) -> list[str]: ...
    def __getitem__(self, item: int | slice) -> str | list[str]:
        if isinstance(item, slice):
            return [t.content for t in self.turns[item]]
        return self.turns[item].content


def roles_of(turns: Sequence[Turn] | Sequence[Message]) -> list[str]:
    """The roles in order, without reading any text of a stored path."""
    if isinstance(turns, PromptTurns | PathHistory):
        return turns.roles
    return [t.role for t in turns]


def ids_of(turns: Sequence[Turn]) -> list[int]:
    if isinstance(turns, PromptTurns):
        return [i for i in turns.ids if i is not None]
    return [t.id for t in turns if t.id is not None]
