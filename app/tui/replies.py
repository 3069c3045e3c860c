"""Replies and drafts: sending a line, streaming the reply in, stopping it, impersonation."""

from __future__ import annotations

from collections.abc import Callable

from textual import on, work
from textual.widgets import Input

from app.errors import LoreweaverError
from app.reply import Reply
from app.session import ChatSession
from app.session_start import sampling_from
from app.tui.app_state import AppState
from app.tui.messages import (
    DraftChunk,
    ReplyChunk,
    ReplyDone,
    ReplyFailed,
    ReplyProgress,
    ReplyStarted,
)
from app.tui.streaming import FRAME_S, settle_memory
from app.tui.widgets.chat_log import ChatLog, Shown
from app.tui.widgets.line_input import LineInput


class ReplyActions(AppState):
    """While a reply streams, the session belongs to its worker: other chat actions wait for it
    (or for Esc)."""

    @on(Input.Submitted, "#say")
    def _send(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        session = self._idle_session() if text else None
        if session is None:
            return
        event.input.value = ""
        log = self.query_one(ChatLog)
        log.add(Shown(None, session.user, text, True))
        self._reply(lambda sampling: session.send(text, sampling))

    def action_regenerate(self) -> None:
        session = self._idle_session()
        if session is not None:
            self._reply(session.regenerate)

    def action_continue_reply(self) -> None:
        session = self._idle_session()
        if session is not None:
            self._reply(session.continue_reply)

    def _reply(self, start: Callable[..., Reply]) -> None:
        self.busy = True
        self.query_one("#say", LineInput).hold_cursor(True)
        self._stop_asked = False
        self.stream_reply(start)

    @work(thread=True, group="reply")
    def stream_reply(self, start: Callable[..., Reply]) -> None:
        """Start the reply here (assembling the prompt may wait for the engine), then forward
        it in frame-sized batches, read once per frame: one wake-up and one UI update per
        frame, not per token."""
        try:
            reply = start(sampling_from(self.settings, seed=None, max_tokens=None))
        except LoreweaverError as exc:
            self.post_message(ReplyFailed(str(exc)))
            return
        self.reply = reply
        if self._stop_asked:
            reply.cancel()
        self.post_message(ReplyStarted(reply.prefix))
        for evaluated, total in reply.prompt_progress(FRAME_S):
            self.post_message(ReplyProgress(evaluated, total))
        error = None
        try:
            for text in reply.frames(FRAME_S):
                self.post_message(ReplyChunk(text))
        except LoreweaverError as exc:
            error = str(exc)
        try:
            reply.finish()
        except LoreweaverError as exc:
            error = error or str(exc)
        if error is not None:
            self.post_message(ReplyFailed(error))
            return
        self.post_message(ReplyDone(reply.stats))

    def on_reply_started(self, message: ReplyStarted) -> None:
        assert self.session is not None
        self._refresh_log()
        self.streaming = self.query_one(ChatLog).add_live(self.session.sheet.name, message.prefix)

    def on_reply_progress(self, message: ReplyProgress) -> None:
        if self.streaming is not None:
            self.streaming.show_progress(message.evaluated, message.total)

    def on_reply_chunk(self, message: ReplyChunk) -> None:
        if self.streaming is not None:
            self.streaming.append(message.text)

    def on_reply_done(self, message: ReplyDone) -> None:
        self._end_reply()
        stats = message.stats
        first = f"{stats.first_token_s:.2f}s" if stats.first_token_s is not None else "-"
        used = stats.prompt_tokens + stats.completion_tokens
        self.last_stats = (
            f"ctx {used}/{self.engine.n_ctx if self.engine else '?'} · first {first} · "
            f"{stats.tokens_per_s:.1f} tok/s · {stats.finish_reason}"
        )
        self._show_status()

    def on_reply_failed(self, message: ReplyFailed) -> None:
        self._end_reply()
        self.notify(message.error, severity="error", timeout=8)

    def _end_reply(self) -> None:
        self.reply = None
        self.streaming = None
        self.busy = False
        self.query_one("#say", LineInput).hold_cursor(False)
        if self.session is not None:
            self._refresh_log()
        self.call_after_refresh(settle_memory)

    def action_stop(self) -> None:
        self._stop_asked = True
        if self.reply is not None:
            self.reply.cancel()
        if self.draft is not None:
            self.draft.cancel()

    def action_impersonate(self) -> None:
        session = self._idle_session()
        if session is None:
            return
        self.busy = True
        self._stop_asked = False
        box = self.query_one("#say", Input)
        box.value = ""
        box.focus()
        self.stream_draft(session)

    @work(thread=True, group="reply")
    def stream_draft(self, session: ChatSession) -> None:
        """The model's draft of the user's line, streamed into the input box for editing."""
        try:
            self.draft = session.impersonate(
                sampling_from(self.settings, seed=None, max_tokens=None)
            )
            if self._stop_asked:
                self.draft.cancel()
            for text in self.draft.batches(FRAME_S):
                self.post_message(DraftChunk(text))
            self.post_message(DraftChunk("", done=True))
        except LoreweaverError as exc:
            self.post_message(ReplyFailed(str(exc)))
        finally:
            self.draft = None

    def on_draft_chunk(self, message: DraftChunk) -> None:
        box = self.query_one("#say", Input)
        box.value = (box.value + message.text).lstrip()
        if message.done:
            self.busy = False
            box.value = box.value.strip()
            box.cursor_position = len(box.value)
