"""A structured reply in the app's chat log: the line reads as speech, its emotion, action and
state changes as a note under it; the state panel shows the changed state (scripted engine)."""

from __future__ import annotations

import yaml
from npc.npc_sheet import npc_data
from tui.chat_support import blocks, open_chat, say, screen_text, scripted_app

from app.home import Home

REPLY = (
    '{"line": "Fine. Through you go.", "emotion": "happiness", '
    '"action": {"name": "open_gate"}, "trust": {"Ann": 4}}'
)


async def test_the_log_shows_the_line_with_its_annotation(lw_home: Home) -> None:
    (lw_home.characters / "gerd.yaml").write_text(yaml.safe_dump(npc_data()), encoding="utf-8")
    app = scripted_app(lw_home, REPLY)
    app.settings.user_name = "Ann"
    async with app.run_test(size=(100, 30)) as pilot:
        await open_chat(app, pilot, "gerd")
        await say(app, pilot, "Open up!")
        await pilot.pause()
        last = blocks(app)[-1]
        assert last.shown.text == "Fine. Through you go."
        note = "happiness · open_gate() · gate_open: False → True · trust:Ann: 0 → 4"
        assert last.shown.note == note
        assert note in screen_text(app).replace("\n", " ") or "open_gate()" in screen_text(app)
        assert app.session is not None
        state = {e.key: e.value for e in app.session.state()}
        assert state["gate_open"] is True and state["trust:Ann"] == 4
