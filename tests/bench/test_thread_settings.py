"""The thread settings reach llama.cpp: decode and prompt thread counts on the live context,
adaptive or fixed, and the wait policy in the environment OpenMP reads when the library loads."""

from __future__ import annotations

import os
import subprocess
import sys

from app.engine.llamacpp import LlamaEngine
from app.engine.threads import THREAD_ADAPT
from app.home import Home
from app.session_start import open_session
from app.settings import Settings, load_settings, save_settings


def test_thread_counts_from_the_settings_file_reach_the_context(lw_home: Home) -> None:
    import llama_cpp

    save_settings(lw_home, Settings(n_threads=1, n_threads_batch=2, thread_adapt=True))
    session = open_session(lw_home, load_settings(lw_home), character="brenna")
    engine = session.engine
    try:
        assert isinstance(engine, LlamaEngine)
        counts = engine.call(
            lambda: (
                llama_cpp.llama_n_threads(engine._llm._ctx.ctx),
                llama_cpp.llama_n_threads_batch(engine._llm._ctx.ctx),
            )
        )
        assert counts == (1, 2)
        assert engine.threads.tuner is not None and engine.threads.tuner.most == 1
    finally:
        engine.close()


def test_thread_adapt_off_in_the_settings_file_keeps_the_count_fixed(lw_home: Home) -> None:
    assert Settings().thread_adapt is THREAD_ADAPT
    save_settings(lw_home, Settings(n_threads=2, thread_adapt=False))
    session = open_session(lw_home, load_settings(lw_home), character="brenna")
    try:
        assert isinstance(session.engine, LlamaEngine) and session.engine.threads.tuner is None
    finally:
        session.engine.close()


LOAD = (
    "import os; from app.models.registry import bundled_model_path; "
    "from app.engine.llamacpp import load_path; import sys; "
    "engine = load_path(bundled_model_path(), n_threads=1, thread_wait=sys.argv[1]); "
    "engine.close(); print(os.environ.get('OMP_WAIT_POLICY', '-'))"
)


def _policy_after_load(wait: str, env_policy: str | None = None) -> str:
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if env_policy is not None:
        env["OMP_WAIT_POLICY"] = env_policy
    done = subprocess.run(
        [sys.executable, "-c", LOAD, wait], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip().splitlines()[-1]


def test_the_wait_setting_sets_openmps_policy_unless_the_environment_has_one() -> None:
    assert Settings().thread_wait == "library"
    assert _policy_after_load("sleep") == "PASSIVE"
    assert _policy_after_load("spin") == "ACTIVE"
    assert _policy_after_load("library") == "-"
    assert _policy_after_load("sleep", env_policy="ACTIVE") == "ACTIVE"
