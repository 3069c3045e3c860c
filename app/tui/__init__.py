"""The Textual front-end: a thin view over the domain (sessions, sheets, engine)."""
