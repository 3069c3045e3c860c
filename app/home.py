"""Where Loreweaver keeps its state.

One home directory holds the user's characters, chats, models and settings. It is platformdirs'
user data directory unless `LOREWEAVER_HOME` names another (tests always use a temporary one).
The repository's `characters/` and `models/` folders are read-only extras, found next to the
package in a source checkout or inside the wheel.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from app.errors import LoreweaverError

ENV_VAR = "LOREWEAVER_HOME"
_PACKAGE_DIR = Path(__file__).resolve().parent
_CHECKOUT_DIR = _PACKAGE_DIR.parent


@dataclass(frozen=True)
class Home:
    root: Path

    @property
    def characters(self) -> Path:
        return self.root / "characters"

    @property
    def lorebooks(self) -> Path:
        return self.root / "lorebooks"

    @property
    def models(self) -> Path:
        return self.root / "models"

    @property
    def database(self) -> Path:
        return self.root / "loreweaver.sqlite3"

    @property
    def settings_file(self) -> Path:
        return self.root / "settings.yaml"

    def ensure(self) -> Home:
        """Create the folders on first use; harmless when they exist."""
        for folder in (self.root, self.characters, self.lorebooks, self.models):
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise LoreweaverError(
                    f"cannot create the Loreweaver home folder: {exc.strerror or exc} "
                    f"(set {ENV_VAR} to a writable folder)",
                    path=folder,
                ) from None
        return self


def home() -> Home:
    override = os.environ.get(ENV_VAR)
    if override:
        return Home(Path(override).expanduser().resolve())
    from platformdirs import user_data_dir

    return Home(Path(user_data_dir("loreweaver", appauthor=False)))


def sample_characters_dir() -> Path | None:
    """The bundled sample sheets: the checkout's `characters/`, else the copy in the wheel."""
    for candidate in (_CHECKOUT_DIR / "characters", _PACKAGE_DIR / "samples" / "characters"):
        if candidate.is_dir():
            return candidate
    return None


def checkout_models_dir() -> Path | None:
    """The repository's `models/` drop folder, when running from a source checkout."""
    candidate = _CHECKOUT_DIR / "models"
    return candidate if candidate.is_dir() and (_CHECKOUT_DIR / "pyproject.toml").is_file() else None
