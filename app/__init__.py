"""Loreweaver: offline role-play and NPC dialogue on local GGUF models."""

__version__ = "0.1.0"
