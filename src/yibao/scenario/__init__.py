"""Scenarios (docs/scenarios.md): parse a story, replay it through the real services."""
