"""LoRA adapters on the real bundled model, from adapter files the tests write themselves: an
all-zero adapter changes nothing, a non-zero one changes the reply reproducibly, switching
back restores the base model, and the KV cache is reused only under the same adapter set."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest
from tinygguf import write_lora

from app.engine.adapters import Adapter, resolve
from app.engine.base import Sampling
from app.engine.llamacpp import LlamaEngine
from app.errors import LoreweaverError
from app.home import Home
from app.models import ModelInfo, RemoteModel
from app.npc.barks import BarkJob, generate_barks
from app.prompts.formats import choose_format
from app.prompts.segments import Prompt
from app.settings import Settings
from app.sheets.sheet import AdapterRef, Sheet
from app.speaker_adapters import speaker_adapters

SEEDED = Sampling(temperature=0.9, top_k=50, top_p=0.95, min_p=0.0, max_tokens=8, seed=11)
ONE = Sampling(temperature=0.0, max_tokens=1, seed=1)
PROMPT = Prompt.markup(
    "<|im_start|>system\nYou are Brenna, a blacksmith.<|im_end|>\n"
    "<|im_start|>user\nWhat are you forging today?<|im_end|>\n<|im_start|>assistant\n"
)


@pytest.fixture(scope="module")
def loras(tmp_path_factory: pytest.TempPathFactory, bundled_info: ModelInfo) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("loras")
    base = bundled_info.path
    return {
        "zero": write_lora(folder / "zero.gguf", base),
        "voice": write_lora(folder / "voice.gguf", base, std=0.1, seed=1),
        "other": write_lora(folder / "other.gguf", base, std=0.1, seed=2),
        "qwen": write_lora(folder / "qwen.gguf", base, std=0.1, arch="qwen2"),
        "narrow": write_lora(folder / "narrow.gguf", base, std=0.1, width=512),
        "model": write_lora(folder / "model.gguf", base, general_type="model"),
    }


def fresh(engine: LlamaEngine, adapters: list[Adapter], sampling: Sampling = SEEDED) -> str:
    """The reply to PROMPT under `adapters`, evaluated from scratch."""
    engine.use_adapters(adapters)
    engine.reset_cache()
    return "".join(engine.generate(PROMPT, sampling))


def test_zero_adapter_is_the_base_model_and_a_trained_one_a_reproducible_voice(
    engine: LlamaEngine, loras: dict[str, Path]
) -> None:
    base = fresh(engine, [])
    assert base.strip()
    assert fresh(engine, [Adapter(loras["zero"])]) == base
    voice = fresh(engine, [Adapter(loras["voice"])])
    assert voice != base
    assert fresh(engine, [Adapter(loras["voice"])]) == voice  # back to it: the same voice
    assert fresh(engine, []) == base  # switching back restores the base model
    assert engine.adapters == ()


def test_the_kv_cache_is_reused_only_under_the_same_adapter_set(
    engine: LlamaEngine, loras: dict[str, Path]
) -> None:
    def reused() -> int:
        generation = engine.generate(PROMPT, ONE)
        "".join(generation)
        return generation.stats.reused_tokens

    engine.use_adapters([])
    reused()
    assert reused() > 0
    engine.use_adapters([Adapter(loras["voice"])])
    assert reused() == 0  # computed under the base model: not valid under the adapter
    assert reused() > 0
    engine.use_adapters([Adapter(loras["voice"])])  # the same set again: nothing changes
    assert reused() > 0
    engine.use_adapters([])


def test_a_saved_state_belongs_to_its_adapter_set(
    engine: LlamaEngine, loras: dict[str, Path], tmp_path: Path
) -> None:
    voice = [Adapter(loras["voice"])]
    fresh(engine, voice, ONE)
    state = tmp_path / "chat.lwkv"
    assert engine.save_state_file(state) > 0
    engine.use_adapters([])
    assert engine.load_state_file(state) is None  # another set: ignored, never misused
    engine.use_adapters(voice)
    engine.reset_cache()
    assert engine.load_state_file(state)
    engine.use_adapters([])


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("qwen", "an adapter for 'qwen2' models; the model is 'llama'"),
        ("narrow", "incorrect shape"),
        ("model", "not an adapter"),
    ],
)
def test_a_mismatched_adapter_is_one_clear_error_and_changes_nothing(
    engine: LlamaEngine, loras: dict[str, Path], name: str, expected: str
) -> None:
    engine.use_adapters([Adapter(loras["voice"])])
    with pytest.raises(LoreweaverError) as caught:
        engine.use_adapters([Adapter(loras[name])])
    message = str(caught.value)
    assert expected in message and str(loras[name]) in message
    assert "\n" not in message
    assert engine.adapters == (Adapter(loras["voice"]),)
    engine.use_adapters([])


def test_adapter_files_are_found_by_name_in_the_models_folders(tmp_path: Path) -> None:
    first, second = tmp_path / "home-models", tmp_path / "checkout-models"
    first.mkdir()
    second.mkdir()
    (second / "voice.gguf").write_bytes(b"x")
    (first / "own.gguf").write_bytes(b"x")
    found = resolve([("voice.gguf", 0.5), ("own.gguf", 1.0)], [first, None, second])
    assert found == [Adapter(second / "voice.gguf", 0.5), Adapter(first / "own.gguf", 1.0)]
    assert resolve([(str(first / "own.gguf"), 2.0)], []) == [Adapter(first / "own.gguf", 2.0)]
    with pytest.raises(LoreweaverError) as caught:
        resolve([("gone.gguf", 1.0)], [first, second])
    assert str(caught.value) == (
        f"adapter file 'gone.gguf' not found (looked in {first}, {second})"
    )
    with pytest.raises(LoreweaverError, match="at most 8"):
        resolve([("voice.gguf", 1.0)] * 9, [second])


def test_an_adapter_file_edited_while_applied_is_read_again(
    engine: LlamaEngine, loras: dict[str, Path], tmp_path: Path
) -> None:
    edited = tmp_path / "edited.gguf"
    edited.write_bytes(loras["voice"].read_bytes())
    before = fresh(engine, [Adapter(edited)])
    edited.write_bytes(loras["other"].read_bytes())  # the designer exports a new version
    os.utime(edited, ns=(edited.stat().st_atime_ns, edited.stat().st_mtime_ns + 10**9))
    assert fresh(engine, [Adapter(edited)]) != before
    engine.use_adapters([])


def test_a_model_entrys_adapters_speak_under_every_character_the_sheets_scale_winning(
    engine: LlamaEngine,
    loras: dict[str, Path],
    bundled_info: ModelInfo,
    lw_home: Home,
) -> None:
    def voice(entry: list[tuple[str, float]], own: list[tuple[str, float]] = []) -> str:  # noqa: B006
        settings = Settings(model_adapters={bundled_info.id: [ref(n, s) for n, s in entry]})
        sheet = Sheet(name="Brenna", adapters=[ref(n, s) for n, s in own])
        return fresh(engine, speaker_adapters(bundled_info, sheet, settings, lw_home))

    def ref(name: str, scale: float) -> AdapterRef:
        return AdapterRef(file=str(loras[name]), scale=scale)

    base = fresh(engine, [])
    assert voice([("zero", 1.0)]) == base
    voiced = voice([("voice", 1.0)])
    assert voiced != base
    assert voice([("voice", 1.0)], [("other", 0.0)]) == voiced  # reproducible, the sheet's after
    assert voice([("voice", 1.0)], [("voice", 0.0)]) == base  # the same file: the sheet's scale
    settings = Settings(model_adapters={bundled_info.id: [ref("zero", 1.0), ref("voice", 1.0)]})
    both = speaker_adapters(
        bundled_info, Sheet(name="Brenna", adapters=[ref("voice", 0.5)]), settings, lw_home
    )
    assert [(a.path.name, a.scale, a.source) for a in both] == [
        ("zero.gguf", 1.0, "model entry"),
        ("voice.gguf", 0.5, "sheet"),
    ]
    engine.use_adapters([])


def test_too_many_adapters_or_a_remote_models_entry_is_one_clear_error(
    tmp_path: Path,
    bundled_info: ModelInfo,
) -> None:
    names = [f"a{n}.gguf" for n in range(9)]
    for name in names:
        (tmp_path / name).write_bytes(b"x")
    refs = [AdapterRef(file=str(tmp_path / name)) for name in names]
    settings = Settings(model_adapters={bundled_info.id: refs[:5], "gpu": refs[:1]})
    with pytest.raises(LoreweaverError) as caught:
        speaker_adapters(bundled_info, Sheet(name="Vox", adapters=refs[5:]), settings, None)
    assert str(caught.value) == (
        f"9 adapters for Vox on {bundled_info.id} (5 from the model entry, 4 from the sheet); "
        "at most 8 can be applied"
    )
    remote = dataclasses.replace(
        bundled_info, path=Path("gpu"), remote=RemoteModel(name="gpu", base_url="http://x:1")
    )
    with pytest.raises(LoreweaverError, match="'gpu' is a remote model, whose server applies"):
        speaker_adapters(remote, Sheet(name="Vox"), settings, None)


def test_barks_speak_with_the_characters_adapters(
    engine: LlamaEngine,
    loras: dict[str, Path],
    bundled_info: ModelInfo,
) -> None:
    sampling = dataclasses.replace(SEEDED, temperature=1.0)
    brenna = Sheet(name="Brenna", description="A blacksmith.")
    job = BarkJob(brenna, choose_format(None, bundled_info), "greet", 40, sampling, "model")
    voiced = dataclasses.replace(job, adapters=(Adapter(loras["voice"]),))
    base = [b.text for b in generate_barks(engine, job, 2, 3)]
    said = [b.text for b in generate_barks(engine, voiced, 2, 3)]
    assert said != base
    assert [b.text for b in generate_barks(engine, voiced, 2, 3)] == said  # the same seed
    assert [b.text for b in generate_barks(engine, job, 2, 3)] == base
    engine.use_adapters([])
