"""Scene scripts: YAML a writer keeps in git, run headless into a stored chat tree (every branch,
alternative and fixed line) and exported to the dialogue formats (`app.export`)."""

from app.scenes.prepare import Prepared, check_scene, prepare
from app.scenes.run import RunResult, parse_formats, run_scene
from app.scenes.script import SceneScript, read_script

__all__ = [
    "Prepared",
    "RunResult",
    "SceneScript",
    "check_scene",
    "parse_formats",
    "prepare",
    "read_script",
    "run_scene",
]
