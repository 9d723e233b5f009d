"""Acceptance scenarios (FORMAT.md): parse a story, replay it through the real services."""
