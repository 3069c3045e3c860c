"""Big is not slow: resuming a 100,000-message chat against a 100-message one, and a chat whose
last message is 60 MB.

The chats are written straight into a temporary home's store (one bulk transaction, not through
the model). Each measurement runs in a child process of its own, so its peak memory
(`ru_maxrss`) is its own: the child opens the store, resumes the chat (`start_session`), lays
out the first prompt and waits for the first token of a short reply from the bundled model.
Each chat is resumed twice: the first open counts the tokens of every message on its path once
(and stores the counts), later opens read them. Reported: each phase's seconds, the child's
peak memory, and the big chats' figures as ratios (time) and differences (memory) against the
small chat's.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from app.bench import BenchOptions
from app.bench.chat_script import WORDS
from app.home import Home
from app.memory.store import ChatStore
from app.models import ModelInfo

BIG = 100_000
SMALL = 100
HUGE_CHARS = 60_000_000
N_CTX = 4096
MAX_TOKENS = 4
CHARACTER = "orla"


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def build_chat(
    store: ChatStore,
    messages: int,
    *,
    last_chars: int = 0,
    seed: int = 0,
    character: str = CHARACTER,
) -> int:
    """A chat of `messages` alternating messages (greeting first) in one transaction; with
    `last_chars`, one more user message that long ends it. Returns the chat id."""
    rng = random.Random(seed)
    chat = store.create_chat(character, title=f"{messages} messages", user_name="Tam")
    now = time.time()
    with store.transaction() as conn:
        (top,) = conn.execute("SELECT COALESCE(MAX(id), 0) FROM messages").fetchone()
        rows = []
        for depth in range(messages):
            role = "assistant" if depth % 2 == 0 else "user"
            rows.append((
                top + depth + 1, chat.id, top + depth if depth else None, depth, role,
                "Orla" if role == "assistant" else "Tam",
                _text(rng, 40 if role == "assistant" else 14), now + depth, now + depth,
            ))  # fmt: skip
        if last_chars:
            line = _text(rng, 12) + " "
            rows.append((
                top + messages + 1, chat.id, top + messages if messages else None, messages,
                "user", "Tam", (line * (last_chars // len(line) + 1))[:last_chars], now, now,
            ))  # fmt: skip
        conn.executemany(
            "INSERT INTO messages (id, chat_id, parent_id, depth, role, name, content, "
            "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        conn.execute("UPDATE chats SET active_leaf_id = ? WHERE id = ?", (rows[-1][0], chat.id))
    return chat.id


@dataclass(frozen=True)
class Resume:
    """One child's figures for resuming one chat."""

    label: str
    messages: int
    open_s: float
    """Store opened, chat resumed (`start_session`): the path's index, token counts filled."""
    prompt_s: float
    """The first prompt laid out and rendered."""
    first_token_s: float
    model_s: float
    """Loading the model (the same for every chat; not part of the resume figure)."""
    peak_rss_mb: float
    prompt_chars: int
    window_messages: int
    """History messages in the prompt."""

    @property
    def resume_s(self) -> float:
        return self.open_s + self.prompt_s + self.first_token_s


def _child(
    home: str, chat_id: int, model: str, label: str, n_threads: int | None, n_ctx: int
) -> None:
    """Runs in the child: resume `chat_id` and print its figures as one JSON line."""
    import resource

    from app.engine.base import Sampling
    from app.engine.llamacpp import load_engine
    from app.engine.loading import resolve_model
    from app.prompts.formats import choose_format
    from app.session_start import start_session
    from app.settings import Settings
    from app.sheets.sheet import Sheet

    where = Home(Path(home))
    started = time.perf_counter()
    info = resolve_model(where, model)
    engine = load_engine(info, n_threads=n_threads, n_ctx_cap=n_ctx)
    model_s = time.perf_counter() - started
    sheet = Sheet(
        name="Orla",
        description="Orla keeps the lighthouse archive.",
        first_message="The archive door creaks.",
    )
    started = time.perf_counter()
    store = ChatStore.open(where)
    session = start_session(
        engine,
        info,
        choose_format(None, info),
        sheet,
        CHARACTER,
        Settings(),
        store=store,
        resume=chat_id,
        summaries=False,
    )
    opened = time.perf_counter()
    assembly = session.assembly()
    prompt = session.fmt.render(assembly.messages)
    laid_out = time.perf_counter()
    generation = engine.generate(prompt, Sampling(temperature=0.0, max_tokens=MAX_TOKENS, seed=1))
    for _ in generation:
        break
    first = time.perf_counter()
    for _ in generation:
        pass
    figures = Resume(
        label=label, messages=len(session.history), open_s=opened - started,
        prompt_s=laid_out - opened, first_token_s=first - laid_out, model_s=model_s,
        peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        prompt_chars=len(prompt), window_messages=len(assembly.messages) - 1,
    )  # fmt: skip
    store.close()
    engine.close()
    print(json.dumps(asdict(figures)))


def measure(
    home: Path, chat_id: int, model: Path, label: str, n_threads: int | None, n_ctx: int
) -> Resume:
    """Resume `chat_id` in a child process of its own and read its figures."""
    code = (
        "import sys; from app.bench.big_chat import _child; "
        "_child(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], "
        "None if sys.argv[5] == '-' else int(sys.argv[5]), int(sys.argv[6]))"
    )
    threads = "-" if n_threads is None else str(n_threads)
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            str(home),
            str(chat_id),
            str(model),
            label,
            threads,
            str(n_ctx),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"resuming {label} failed in the child: {tail}")
    return Resume(**json.loads(done.stdout.strip().splitlines()[-1]))


@dataclass(frozen=True)
class BigChatReport:
    small: list[Resume]
    big: list[Resume]
    huge: list[Resume]
    """First open, then a later open, of each chat."""

    def load_ratio(self, side: list[Resume]) -> float:
        """Open + prompt (the part a chat's length can change) against the small chat's."""
        small = self.small[-1].open_s + self.small[-1].prompt_s
        return (side[-1].open_s + side[-1].prompt_s) / max(small, 1e-9)

    def ratio(self, side: list[Resume]) -> float:
        return side[-1].resume_s / max(self.small[-1].resume_s, 1e-9)

    def extra_mb(self, side: list[Resume]) -> float:
        return max(r.peak_rss_mb for r in side) - max(r.peak_rss_mb for r in self.small)

    def as_dict(self) -> dict[str, Any]:
        return {
            "resume_ratio_big_vs_small": round(self.ratio(self.big), 2),
            "first_open_ratio_big_vs_small": round(
                self.big[0].resume_s / max(self.small[0].resume_s, 1e-9), 2
            ),
            "open_and_prompt_ratio_big_vs_small": round(self.load_ratio(self.big), 2),
            "extra_peak_mb_big": round(self.extra_mb(self.big), 1),
            "resume_ratio_huge_message_vs_small": round(self.ratio(self.huge), 2),
            "extra_peak_mb_huge_message": round(self.extra_mb(self.huge), 1),
            "runs": [
                asdict(r) | {"resume_s": r.resume_s} for r in self.small + self.big + self.huge
            ],
        }

    def render(self) -> Any:
        from rich.table import Table

        table = Table(title="Resuming a big chat (child process per run; ratios vs the small chat)")
        for column in (
            "chat",
            "open",
            "messages",
            "open s",
            "prompt s",
            "first token s",
            "resume s",
            "peak MB",
            "in prompt",
        ):
            table.add_column(column, justify="left" if column == "chat" else "right")
        for side in (self.small, self.big, self.huge):
            for n, r in enumerate(side):
                table.add_row(
                    r.label,
                    "first" if n == 0 else "again",
                    f"{r.messages:,}",
                    f"{r.open_s:.2f}",
                    f"{r.prompt_s:.2f}",
                    f"{r.first_token_s:.2f}",
                    f"{r.resume_s:.2f}",
                    f"{r.peak_rss_mb:.0f}",
                    f"{r.window_messages} msgs",
                )
        figures = self.as_dict()
        table.caption = (
            f"big/small resume ×{figures['resume_ratio_big_vs_small']} "
            f"(first open ×{figures['first_open_ratio_big_vs_small']}; open + prompt "
            f"×{figures['open_and_prompt_ratio_big_vs_small']}), "
            f"+{figures['extra_peak_mb_big']} MB; 60 MB message ×"
            f"{figures['resume_ratio_huge_message_vs_small']}, "
            f"+{figures['extra_peak_mb_huge_message']} MB"
        )
        return table


def run_big_chat(
    info: ModelInfo,
    *,
    big: int = BIG,
    small: int = SMALL,
    huge_chars: int = HUGE_CHARS,
    n_threads: int | None = None,
    opens: int = 2,
    n_ctx: int = N_CTX,
) -> BigChatReport:
    with tempfile.TemporaryDirectory(prefix="lw-big-chat-") as tmp:
        where = Home(Path(tmp)).ensure()
        with ChatStore.open(where) as store:
            chats = {
                "small": build_chat(store, small, seed=1),
                "big": build_chat(store, big, seed=2),
                "huge": build_chat(store, small - 1, last_chars=huge_chars, seed=3),
            }
        sides = {
            label: [
                measure(where.root, chat_id, info.path, label, n_threads, n_ctx)
                for _ in range(opens)
            ]
            for label, chat_id in chats.items()
        }
    return BigChatReport(sides["small"], sides["big"], sides["huge"])


def run(info: ModelInfo, options: BenchOptions) -> BigChatReport:
    return run_big_chat(
        info, big=options.turns or BIG, n_threads=options.n_threads, n_ctx=options.ctx or N_CTX
    )
