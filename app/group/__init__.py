"""Group scenes: several NPCs and the player in one history, each NPC prompted only with what it
knows, turns chosen by mention, rotation, talkativeness or the player."""

from app.group.cast import Member, give_adapters, load_cast
from app.group.order import ORDERS, next_speaker
from app.group.scene import GroupScene, Line

__all__ = ["ORDERS", "GroupScene", "Line", "Member", "give_adapters", "load_cast", "next_speaker"]
