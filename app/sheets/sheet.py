"""The character sheet: what a character is, as a designer writes it in YAML.

Field names are the friendly ones a designer types; card import/export maps them to the
Character Card V2/V3 names. Unknown keys are kept (`extra="allow"`) so that nothing a user or
another tool wrote is lost on save.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Sheet(BaseModel):
    model_config = ConfigDict(extra="allow", str_strip_whitespace=False)

    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    personality: str = ""
    scenario: str = ""
    first_message: str = ""
    example_dialogues: str = ""
    """Example exchanges, separated by `<START>` lines as in `mes_example`."""
    system_prompt: str = ""
