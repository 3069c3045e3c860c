"""Starting a chat session: settings to sampling, the setup checked, the chat opened or resumed."""

from __future__ import annotations

from app.engine.base import Engine, Sampling
from app.engine.modelinfo import ModelInfo
from app.errors import LoreweaverError
from app.home import Home
from app.memory.history import PathHistory
from app.memory.records import Chat
from app.memory.store import ChatStore
from app.memory.summaries import Summariser
from app.prompts.formats import PromptFormat, choose_format
from app.prompts.messages import Message
from app.session import ChatSession, greetings, visible_path
from app.settings import Settings
from app.sheets import library
from app.sheets.sheet import Sheet


def sampling_from(settings: Settings, *, seed: int | None, max_tokens: int | None) -> Sampling:
    base = settings.sampling
    return Sampling(
        temperature=base.temperature,
        top_p=base.top_p,
        top_k=base.top_k,
        min_p=base.min_p,
        repeat_penalty=base.repeat_penalty,
        seed=base.seed if seed is None else seed,
        max_tokens=base.max_tokens if max_tokens is None else max_tokens,
    )


def resolve_setup(
    home: Home, settings: Settings, *, character: str, model: str | None, template: str | None
) -> tuple[str, Sheet, ModelInfo, PromptFormat]:
    """Everything a chat needs except the loaded engine, with every input checked first."""
    from app.engine.registry import resolve_model

    entry, sheet = library.load(home, character)
    info = resolve_model(home, model if model is not None else settings.model)
    fmt = choose_format(template if template is not None else settings.template, info)
    return entry.id, sheet, info, fmt


def open_chat(
    store: ChatStore, character_id: str, sheet: Sheet, *, user: str, resume: int | bool | None
) -> tuple[Chat, PathHistory]:
    """A new chat (its greeting stored as the first message), or an existing one to resume,
    with its active path (texts are read only when looked at).

    `resume=True` takes the character's latest chat; an int names a chat id.
    """
    chat: Chat | None = None
    if isinstance(resume, bool):
        chat = store.latest_chat(character_id) if resume else None
        if resume and chat is None:
            raise LoreweaverError(f"no saved chat with {character_id!r} to resume")
    elif resume is not None:
        chat = store.get_chat(resume)
        if chat.character_id != character_id:
            raise LoreweaverError(
                f"chat {resume} belongs to {chat.character_id!r}, not {character_id!r}"
            )
    if chat is None:
        chat = store.create_chat(character_id, user_name=user)
        with store.transaction():
            first = None
            for text in greetings(sheet, user):
                stored = store.add_message(
                    chat.id, "assistant", text, parent_id=None, name=sheet.name
                )
                first = first or stored
            if first is not None:
                store.select(first.id)
    return chat, visible_path(store, chat.id)


def open_session(
    home: Home,
    settings: Settings,
    *,
    character: str,
    model: str | None = None,
    template: str | None = None,
    user: str | None = None,
    store: ChatStore | None = None,
    resume: int | bool | None = None,
) -> ChatSession:
    """Load everything for a chat. Without a store the chat lives in memory only."""
    from app.engine.llamacpp import load_engine

    character_id, sheet, info, fmt = resolve_setup(
        home, settings, character=character, model=model, template=template
    )
    engine = load_engine(info, n_threads=settings.n_threads, n_ctx_cap=settings.n_ctx)
    try:
        session = start_session(
            engine, info, fmt, sheet, character_id, settings,
            user=user, store=store, resume=resume, home=home,
        )
        if resume is not None and resume is not False:
            session.restore_cache()
        return session
    except BaseException:
        engine.close()
        raise


def start_session(
    engine: Engine,
    info: ModelInfo,
    fmt: PromptFormat,
    sheet: Sheet,
    character_id: str,
    settings: Settings,
    *,
    user: str | None = None,
    store: ChatStore | None = None,
    resume: int | bool | None = None,
    home: Home | None = None,
    summaries: bool = True,
) -> ChatSession:
    """A session on an already loaded engine: a new chat, or a saved one to resume.

    A resumed chat keeps the persona it was played with unless `user` names another. With a
    `home`, the sheet's world lorebooks are found there and the KV cache is saved there on
    close (`restore_cache` loads it); with a store and `summaries`, evicted turns get summarised.
    """
    name = user or settings.user_name
    if home is not None:
        books = [book for _, book in library.world_books(home, sheet)]
    else:
        books = [sheet.character_book] if sheet.character_book is not None else []
    session = ChatSession(
        sheet=sheet,
        fmt=fmt,
        engine=engine,
        user=name,
        user_description=settings.user_description,
        history=[Message("assistant", text) for text in greetings(sheet, name)[:1]],
        store=store,
        model_name=info.path.name,
        books=books,
    )
    if store is not None:
        session.chat, _ = open_chat(store, character_id, sheet, user=name, resume=resume)
        session.reload()
        if user is None:
            session.user = session.chat.user_name
            session.user_description = str(
                session.chat.meta.get("user_description", settings.user_description)
            )
        if summaries:
            session.summariser = Summariser(
                store, engine, fmt, char=sheet.name, user=session.user
            )
        if home is not None:
            session.state_path = home.root / "kv-cache" / f"chat-{session.chat.id}.lwkv"
    session.reserve = settings.sampling.max_tokens
    return session
