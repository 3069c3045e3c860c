"""Starting a chat session: settings to sampling, the setup checked, the chat opened or resumed."""

from __future__ import annotations

from app.engine.base import Engine, Sampling
from app.errors import LoreweaverError
from app.home import Home
from app.memory.authors_note import load_note
from app.memory.history import PathHistory
from app.memory.store import Chat, ChatStore
from app.memory.summaries import Summariser
from app.memory.turn_inputs import summary_failure
from app.models import ModelInfo
from app.npc import structured
from app.personas import choose_persona
from app.prompts.formats import PromptFormat, choose_format, format_warning, warm_up
from app.prompts.messages import Message
from app.session import ChatSession
from app.session_chat import find_chat, greetings, store_new_chat, visible_path
from app.settings import Settings, engine_threads
from app.sheets import library
from app.sheets.sheet import Sheet
from app.speaker_adapters import speaker_adapters


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
    from app.engine.loading import resolve_model

    requested = template if template is not None else settings.template
    warm_up(requested)
    entry, sheet = library.load(home, character)
    structured.check_sheet(sheet)  # a bad structured-reply declaration, before the model loads
    info = resolve_model(home, model if model is not None else settings.model)
    fmt = choose_format(requested, info)
    return entry.id, sheet, info, fmt


def open_chat(
    store: ChatStore, character_id: str, sheet: Sheet, *, user: str, resume: int | bool | None
) -> tuple[Chat, PathHistory]:
    """A chat stored now (a new one with its greetings), or an existing one to resume, with its
    active path (texts are read only when looked at).

    `resume=True` takes the character's latest chat; an int names a chat id. Sessions store a
    new chat only at its first line; this is for callers that want one at once.
    """
    chat = find_chat(store, character_id, resume) or store_new_chat(
        store, character_id, sheet, user=user
    )
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
    persona: str | None = None,
) -> ChatSession:
    """Load everything for a chat. Without a store the chat lives in memory only."""
    from app.engine.loading import load_engine

    character_id, sheet, info, fmt = resolve_setup(
        home, settings, character=character, model=model, template=template
    )
    engine = load_engine(info, **engine_threads(settings), n_ctx_cap=settings.n_ctx)
    try:
        session = start_session(
            engine,
            info,
            fmt,
            sheet,
            character_id,
            settings,
            user=user,
            store=store,
            resume=resume,
            home=home,
            persona=persona,
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
    persona: str | None = None,
) -> ChatSession:
    """A session on an already loaded engine: a new chat, or a saved one to resume.

    A new chat is stored at its first line. The user is `user`, else the saved `persona`, else
    the persona locked to the character or the default one (`app.personas`); a resumed chat
    keeps the persona it was played with unless `user` or `persona` names another. With a
    `home`, the sheet's world lorebooks are found there and the KV cache is saved there on
    close (`restore_cache` loads it); with a store and `summaries`, evicted turns get summarised.
    """
    if user is not None and persona is not None:
        raise LoreweaverError("give either a user name or a saved persona, not both")
    name, description = user or settings.user_name, settings.user_description
    if user is None and home is not None:
        name, description = choose_persona(home, settings, character_id, name=persona)
    elif persona is not None:
        raise LoreweaverError("saved personas need a Loreweaver home")
    # the character's voice on this model (an empty set takes the last one off)
    adapters = tuple(speaker_adapters(info, sheet, settings, home))
    engine.use_adapters(adapters)
    if home is not None:
        books = [book for _, book in library.world_books(home, sheet)]
    else:
        books = [sheet.character_book] if sheet.character_book is not None else []
    session = ChatSession(
        sheet=sheet,
        fmt=fmt,
        engine=engine,
        user=name,
        user_description=description,
        history=[Message("assistant", text) for text in greetings(sheet, name)[:1]],
        store=store,
        model_name=info.path.name,
        books=books,
        world_info=settings.world_info,
        extra_stops=list(settings.stop),
        adapters=adapters,
    )
    warning = format_warning(fmt.id, info)
    session.notices = [warning] if warning is not None else []
    session.notices += engine.notes  # a remote engine's limits
    if store is not None:
        session.character_id = character_id
        session.cache_dir = home.root / "kv-cache" if home is not None else None
        session.chat = find_chat(store, character_id, resume)
        if session.chat is not None:
            session.reload()
            session.authors_note = load_note(store, session.chat.id)
            if user is None and persona is None:
                session.user = session.chat.user_name
                session.user_description = str(
                    session.chat.meta.get("user_description", settings.user_description)
                )
            if session.cache_dir is not None:
                session.state_path = session.cache_dir / f"chat-{session.chat.id}.lwkv"
            failed = summary_failure(session.chat.meta)
            if failed is not None:  # a background failure of an earlier run, still unmended
                session.notices.append(failed)
        if summaries:
            session.summariser = Summariser(store, engine, fmt, char=sheet.name, user=session.user)
    session.reserve = settings.sampling.max_tokens
    structured.session_shape(session)  # a bad structured-reply declaration fails here, first
    return session
