"""Opening a group scene: every input checked (cast, model, persona) before the engine loads
or anything is stored; a saved scene with the same cast can be resumed."""

from __future__ import annotations

from app.engine.loading import load_engine, resolve_model
from app.errors import LoreweaverError
from app.group.cast import give_adapters, load_cast
from app.group.order import Order
from app.group.scene import GROUP_META, GroupScene, scene_id
from app.home import Home
from app.memory.store import ChatStore
from app.personas import choose_persona
from app.prompts.formats import choose_format
from app.settings import Settings, engine_threads


def open_scene(
    home: Home,
    settings: Settings,
    ids: list[str],
    *,
    model: str | None = None,
    template: str | None = None,
    user: str | None = None,
    persona: str | None = None,
    description: str | None = None,
    order: Order = "mention",
    store: ChatStore | None = None,
    resume: int | bool | None = None,
) -> GroupScene:
    cast = load_cast(home, ids)
    if user is not None and persona is not None:
        raise LoreweaverError("give either a user name or a saved persona, not both")
    name, about = (user, settings.user_description) if user else (None, "")
    if name is None:
        name, about = choose_persona(home, settings, cast[0].id, name=persona)
    info = resolve_model(home, model if model is not None else settings.model)
    fmt = choose_format(template if template is not None else settings.template, info)
    give_adapters(cast, info, settings, home)
    chat = None
    if store is not None and resume not in (None, False):
        chat = store.get_chat(resume) if isinstance(resume, int) and resume is not True else None
        chat = chat or store.latest_chat(scene_id(cast))
        if chat is None or chat.character_id != scene_id(cast):
            raise LoreweaverError(f"no saved scene with {' '.join(ids)} to resume")
    engine = load_engine(info, **engine_threads(settings), n_ctx_cap=settings.n_ctx)
    scene = GroupScene(
        cast,
        fmt,
        engine,
        user=name,
        user_description=about,
        order=order,
        cache_dir=home.root / "kv-cache",
    )
    scene.store, scene.chat = store, chat
    scene.description = description or ""
    if chat is not None:
        saved = chat.meta.get(GROUP_META, {})
        scene.description = description or str(saved.get("scene", ""))
        if user is None and persona is None:
            scene.user = chat.user_name
        scene.reload()
    else:
        scene.greet()
    return scene
